-- Contact-centre and online-banking costs are incurred by customers, not accounts. First
-- cut: a customer's month of call minutes and web sessions, at the unit costs of the
-- assumptions, is shared equally among the accounts the customer is primary holder of and
-- that were on book that month. Costs of customers with no such account that month, and of
-- unresolved calls and sessions, are not allocated to any account.
with calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

sessions as (

    select * from {{ ref('int_web_events_sessionised') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

account_months as (

    select * from {{ ref('int_account_interest_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

call_costs as (

    select
        customer_xref.customer_key,
        cast(date_trunc('month', cast(calls.started_at as date)) as date) as month_start,
        cast(sum(calls.talk_seconds) as decimal(38, 4))
        * max(assumptions.cost_per_call_minute) / 60 as call_cost
    from calls
    inner join customer_xref
        on
            customer_xref.source_table = 'calls'
            and calls.call_id = customer_xref.source_key
    cross join assumptions
    where customer_xref.customer_key is not null
    group by customer_xref.customer_key, cast(date_trunc('month', cast(calls.started_at as date)) as date)

),

session_costs as (

    select
        customer_xref.customer_key,
        cast(date_trunc('month', sessions.session_date) as date) as month_start,
        cast(count(*) as decimal(38, 0)) * max(assumptions.cost_per_web_session) as session_cost
    from sessions
    inner join customer_xref
        on
            customer_xref.source_table = 'users'
            and sessions.user_id = customer_xref.source_key
    cross join assumptions
    where customer_xref.customer_key is not null
    group by customer_xref.customer_key, cast(date_trunc('month', sessions.session_date) as date)

),

customer_costs as (

    select
        coalesce(call_costs.customer_key, session_costs.customer_key) as customer_key,
        coalesce(call_costs.month_start, session_costs.month_start) as month_start,
        coalesce(call_costs.call_cost, 0) as call_cost,
        coalesce(session_costs.session_cost, 0) as session_cost
    from call_costs
    full outer join session_costs
        on
            call_costs.customer_key = session_costs.customer_key
            and call_costs.month_start = session_costs.month_start

),

primary_accounts_on_book as (

    select
        account_months.account_id,
        account_months.month_start,
        accounts.customer_key,
        count(*) over (
            partition by accounts.customer_key, account_months.month_start
        ) as n_customer_accounts
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    where accounts.customer_key is not null

),

allocated as (

    select
        primary_accounts_on_book.account_id,
        primary_accounts_on_book.month_start,
        primary_accounts_on_book.customer_key,
        cast(
            customer_costs.call_cost / primary_accounts_on_book.n_customer_accounts as decimal(38, 6)
        ) as call_cost,
        cast(
            customer_costs.session_cost / primary_accounts_on_book.n_customer_accounts as decimal(38, 6)
        ) as session_cost
    from primary_accounts_on_book
    inner join customer_costs
        on
            primary_accounts_on_book.customer_key = customer_costs.customer_key
            and primary_accounts_on_book.month_start = customer_costs.month_start

)

select * from allocated
