-- The service cost pools of every month and channel (CALL, WEB_SESSION): the channel's
-- whole cost (every contact at its unit cost, int_service_contacts_costed), what the
-- accounts carry (int_account_service_costs_monthly) and what no account could carry:
--   unattributed_cost  contacts no customer could be attributed to
--   no_account_cost    contacts of customers who were primary holder of no account on book
--                      that month (a prospect turned customer, a customer whose accounts
--                      all closed, a joint holder only)
-- total_cost = allocated_cost + unattributed_cost + no_account_cost, so the bank's operating
-- cost counts the whole contact centre and online platform.
with contacts as (

    select * from {{ ref('int_service_contacts_costed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

account_months as (

    select * from {{ ref('int_account_interest_monthly') }}

),

account_costs as (

    select * from {{ ref('int_account_service_costs_monthly') }}

),

customers_with_accounts as (

    select distinct
        accounts.customer_key,
        account_months.month_start
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    where accounts.customer_key is not null

),

pools as (

    select
        contacts.month_start,
        contacts.channel,
        count(*) as n_contacts,
        sum(contacts.volume) as volume,
        sum(contacts.cost) as total_cost,
        coalesce(sum(contacts.cost) filter (where contacts.customer_key is null), 0) as unattributed_cost,
        coalesce(
            sum(contacts.cost) filter (
                where contacts.customer_key is not null and customers_with_accounts.customer_key is null
            ),
            0
        ) as no_account_cost
    from contacts
    left join customers_with_accounts
        on
            contacts.customer_key = customers_with_accounts.customer_key
            and contacts.month_start = customers_with_accounts.month_start
    group by contacts.month_start, contacts.channel

),

allocated as (

    select
        account_costs.month_start,
        'CALL' as channel,
        sum(account_costs.call_cost) as allocated_cost
    from account_costs
    group by account_costs.month_start
    union all
    select
        account_costs.month_start,
        'WEB_SESSION' as channel,
        sum(account_costs.session_cost) as allocated_cost
    from account_costs
    group by account_costs.month_start

),

final as (

    select
        pools.month_start,
        pools.channel,
        pools.n_contacts,
        cast(pools.volume as decimal(18, 2)) as volume,
        cast(pools.total_cost as decimal(18, 2)) as total_cost,
        cast(coalesce(allocated.allocated_cost, 0) as decimal(18, 2)) as allocated_cost,
        cast(pools.unattributed_cost as decimal(18, 2)) as unattributed_cost,
        cast(pools.no_account_cost as decimal(18, 2)) as no_account_cost,
        -- the sum of the two parts as published, each rounded to the cent: the pool adds up
        cast(
            cast(pools.unattributed_cost as decimal(18, 2)) + cast(pools.no_account_cost as decimal(18, 2))
            as decimal(18, 2)
        ) as unallocated_cost
    from pools
    left join allocated
        on
            pools.month_start = allocated.month_start
            and pools.channel = allocated.channel

)

select * from final
