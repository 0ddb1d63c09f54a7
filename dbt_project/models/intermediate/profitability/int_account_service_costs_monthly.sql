-- Contact-centre and online-banking costs are incurred by customers, and the feeds do not
-- say which account a call or a session was about (int_service_contacts_costed). A
-- customer's month of call and session costs is therefore split over the accounts the
-- customer is primary holder of and that were on book that month, in proportion to each
-- account's average daily balance of the month (the balance-share driver: the accounts that
-- hold the relationship's money draw its service); equally when those balances are all
-- zero. The account with the largest share takes the rounding remainder, so the accounts
-- carry exactly the customer's cost. Costs of unattributed contacts and of customers with
-- no such account that month go to the unallocated pool (int_service_costs_unallocated_monthly).
with contacts as (

    select * from {{ ref('int_service_contacts_costed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

account_months as (

    select * from {{ ref('int_account_interest_monthly') }}

),

customer_costs as (

    select
        contacts.customer_key,
        contacts.month_start,
        coalesce(sum(contacts.cost) filter (where contacts.channel = 'CALL'), 0) as call_cost,
        coalesce(sum(contacts.cost) filter (where contacts.channel = 'WEB_SESSION'), 0) as session_cost
    from contacts
    where contacts.customer_key is not null
    group by contacts.customer_key, contacts.month_start

),

primary_accounts_on_book as (

    select
        account_months.account_id,
        account_months.month_start,
        accounts.customer_key,
        cast(coalesce(account_months.avg_balance, 0) as decimal(38, 6)) as avg_balance,
        sum(coalesce(account_months.avg_balance, 0)) over customer_month as customer_balance,
        count(*) over customer_month as n_customer_accounts,
        row_number() over (
            partition by accounts.customer_key, account_months.month_start
            order by coalesce(account_months.avg_balance, 0) desc, account_months.account_id
        ) as share_rank
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    where accounts.customer_key is not null
    window customer_month as (partition by accounts.customer_key, account_months.month_start)

),

shared as (

    select
        primary_accounts_on_book.account_id,
        primary_accounts_on_book.month_start,
        primary_accounts_on_book.customer_key,
        primary_accounts_on_book.share_rank,
        customer_costs.call_cost as customer_call_cost,
        customer_costs.session_cost as customer_session_cost,
        -- cost x balance / the customer's balance (equal shares when the balances are all 0)
        cast(
            case
                when primary_accounts_on_book.customer_balance > 0
                    then
                        customer_costs.call_cost * primary_accounts_on_book.avg_balance
                        / primary_accounts_on_book.customer_balance
                else customer_costs.call_cost / primary_accounts_on_book.n_customer_accounts
            end as decimal(38, 6)
        ) as call_share,
        cast(
            case
                when primary_accounts_on_book.customer_balance > 0
                    then
                        customer_costs.session_cost * primary_accounts_on_book.avg_balance
                        / primary_accounts_on_book.customer_balance
                else customer_costs.session_cost / primary_accounts_on_book.n_customer_accounts
            end as decimal(38, 6)
        ) as session_share
    from primary_accounts_on_book
    inner join customer_costs
        on
            primary_accounts_on_book.customer_key = customer_costs.customer_key
            and primary_accounts_on_book.month_start = customer_costs.month_start

),

final as (

    select
        shared.account_id,
        shared.month_start,
        shared.customer_key,
        cast(
            case
                when shared.share_rank = 1
                    then
                        shared.customer_call_cost
                        - coalesce(sum(shared.call_share) over other_accounts, 0)
                else shared.call_share
            end as decimal(38, 6)
        ) as call_cost,
        cast(
            case
                when shared.share_rank = 1
                    then
                        shared.customer_session_cost
                        - coalesce(sum(shared.session_share) over other_accounts, 0)
                else shared.session_share
            end as decimal(38, 6)
        ) as session_cost
    from shared
    window other_accounts as (
        partition by shared.customer_key, shared.month_start
        order by shared.share_rank
        rows between 1 following and unbounded following
    )

)

select * from final
