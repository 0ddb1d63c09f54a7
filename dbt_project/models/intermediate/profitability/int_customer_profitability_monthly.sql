-- Customer profitability is the sum of the accounts the customer is primary holder of
-- (int_account_profitability_monthly by customer_key), so the two marts always add up.
-- Shared (joint) accounts count in full for their primary holder here; allocation weights
-- are used where balances are summed by customer (customer_360).
-- segment: CORPORATE for companies; for persons AFFLUENT when a relationship manager looks
-- after them, MASS_RETAIL otherwise (the bank's own service model, from the customer's current version).
with account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

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
        account_profitability.month_start,
        account_profitability.customer_key,
        bool_and(account_profitability.is_complete_month) as is_complete_month,
        count(*) as n_accounts,
        {{ profitability_measures('account_profitability') }}
    from account_profitability
    where account_profitability.customer_key is not null
    group by account_profitability.month_start, account_profitability.customer_key

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
