-- Customer profitability: every account the customer holds, at the customer's share
-- (int_account_profitability_shared_monthly: the allocation weights of the bridge, so a
-- joint account is shared between its PRIMARY and JOINT holders as customer_360 shares its
-- balance), summed per month. The shares of an account add up to the account's figures, so
-- the customers add up to the accounts.
-- segment: CORPORATE for companies; for persons AFFLUENT when a relationship manager looks
-- after them, MASS_RETAIL otherwise (the bank's own service model, from the customer's current version).
with account_shares as (

    select * from {{ ref('int_account_profitability_shared_monthly') }}

),

customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_shares.month_start,
        account_shares.customer_key,
        bool_and(account_shares.is_complete_month) as is_complete_month,
        count(*) as n_accounts,
        {{ profitability_measures('account_shares') }}
    from account_shares
    group by account_shares.month_start, account_shares.customer_key

),

final as (

    select
        summed.*,
        case
            when customers.customer_type = 'CORPORATE' then 'CORPORATE'
            when customers.rm_id is not null then 'AFFLUENT'
            else 'MASS_RETAIL'
        end as segment,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    left join customers
        on summed.customer_key = customers.customer_key
    cross join assumptions

)

select * from final
