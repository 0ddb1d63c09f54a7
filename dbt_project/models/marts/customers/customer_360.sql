-- One row per unified customer: dim_customer plus what the customer holds and does, as of
-- the latest business date of the core balances (never now(), so a rebuild of the same data
-- gives the same answer). Assembled from the other marts so that its numbers are the ones
-- the facts show. Balances are shared among holders by allocation weights (PRIMARY and
-- JOINT equally); deposit_balance and loan_balance are positive amounts.
with customers as (

    select * from {{ ref('dim_customer') }}

),

accounts as (

    select * from {{ ref('dim_account') }}

),

balances as (

    select * from {{ ref('fct_account_balance_daily') }}

),

allocation_weights as (

    select * from {{ ref('int_account_allocation_weights') }}

),

customer_profitability as (

    select * from {{ ref('fct_customer_profitability_monthly') }}

),

web_sessions as (

    select * from {{ ref('fct_web_sessions') }}

),

calls as (

    select * from {{ ref('fct_calls') }}

),

as_of as (

    select
        max(balances.business_date) as as_of_date,
        -- the last complete month, and the first month of the contribution window
        cast(date_trunc('month', max(balances.business_date)) - interval 1 month as date) as last_month_start,
        cast(
            date_trunc('month', max(balances.business_date))
            - to_months({{ var('contribution_window_months') }}) as date
        ) as contribution_window_start
    from balances

),

customer_account_weights as (

    select
        allocation_weights.account_id,
        allocation_weights.customer_key,
        sum(allocation_weights.allocation_weight) as allocation_weight
    from allocation_weights
    where allocation_weights.customer_key is not null
    group by allocation_weights.account_id, allocation_weights.customer_key

),

holdings as (

    select
        customer_account_weights.customer_key,
        count(distinct accounts.account_id) filter (
            where customer_account_weights.allocation_weight > 0 and accounts.status = 'ACTIVE'
        ) as n_active_accounts,
        sum(
            case
                when accounts.balance_side = 'LIABILITY'
                    then
                        cast(balances.ledger_balance as decimal(38, 4))
                        * customer_account_weights.allocation_weight
                else 0
            end
        ) as deposit_balance,
        sum(
            case
                when accounts.balance_side = 'ASSET'
                    then
                        -cast(balances.ledger_balance as decimal(38, 4))
                        * customer_account_weights.allocation_weight
                else 0
            end
        ) as loan_balance
    from customer_account_weights
    inner join accounts
        on customer_account_weights.account_id = accounts.account_id
    cross join as_of
    left join balances
        on
            customer_account_weights.account_id = balances.account_id
            and as_of.as_of_date = balances.business_date
    group by customer_account_weights.customer_key

),

months_in_window as (

    select
        customer_profitability.customer_key,
        customer_profitability.contribution,
        customer_profitability.month_start = as_of.last_month_start as is_last_month
    from customer_profitability
    cross join as_of
    where
        customer_profitability.is_complete_month
        and customer_profitability.month_start >= as_of.contribution_window_start
        and customer_profitability.month_start <= as_of.last_month_start

),

contributions as (

    select
        months_in_window.customer_key,
        sum(months_in_window.contribution) filter (where months_in_window.is_last_month)
            as contribution_last_month,
        sum(months_in_window.contribution) as contribution_12m
    from months_in_window
    group by months_in_window.customer_key

),

web_activity as (

    select
        web_sessions.customer_key,
        count(*) as web_sessions_30d
    from web_sessions
    cross join as_of
    where
        web_sessions.customer_key is not null
        and web_sessions.session_date > as_of.as_of_date - {{ var('web_sessions_window_days') }}
        and web_sessions.session_date <= as_of.as_of_date
    group by web_sessions.customer_key

),

call_activity as (

    select
        calls.customer_key,
        count(*) as calls_90d,
        count(*) filter (where calls.complaint_flag) as complaints_90d
    from calls
    cross join as_of
    where
        calls.customer_key is not null
        and calls.call_date > as_of.as_of_date - {{ var('calls_window_days') }}
        and calls.call_date <= as_of.as_of_date
    group by calls.customer_key

),

final as (

    select
        customers.customer_key,
        customers.customer_type,
        customers.full_name,
        customers.birth_date,
        customers.gender,
        customers.city,
        customers.region,
        customers.home_branch_id,
        customers.rm_id,
        customers.kyc_risk_rating,
        customers.onboarding_date,
        customers.status,
        customers.n_source_records,
        as_of.as_of_date,
        coalesce(holdings.n_active_accounts, 0) as n_active_accounts,
        cast(coalesce(holdings.deposit_balance, 0) as decimal(18, 2)) as deposit_balance,
        cast(coalesce(holdings.loan_balance, 0) as decimal(18, 2)) as loan_balance,
        cast(coalesce(contributions.contribution_last_month, 0) as decimal(18, 2)) as contribution_last_month,
        cast(coalesce(contributions.contribution_12m, 0) as decimal(18, 2)) as contribution_12m,
        coalesce(web_activity.web_sessions_30d, 0) as web_sessions_30d,
        coalesce(call_activity.calls_90d, 0) as calls_90d,
        coalesce(call_activity.complaints_90d, 0) as complaints_90d
    from customers
    cross join as_of
    left join holdings
        on customers.customer_key = holdings.customer_key
    left join contributions
        on customers.customer_key = contributions.customer_key
    left join web_activity
        on customers.customer_key = web_activity.customer_key
    left join call_activity
        on customers.customer_key = call_activity.customer_key

)

select * from final
