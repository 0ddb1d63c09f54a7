-- Profitability of every customer segment and month: the customers' shares of their
-- accounts (int_account_profitability_shared_monthly, the allocation weights of the bridge)
-- summed by the segment of the customer (int_customer_profitability_monthly; measures in
-- macros/profitability_rollup.sql), so the segments add up to the customers.
with account_shares as (

    select * from {{ ref('int_account_profitability_shared_monthly') }}

),

customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_shares.month_start,
        customer_profitability.segment,
        count(distinct account_shares.customer_key) as n_customers,
        count(distinct account_shares.account_id) as n_accounts,
        {{ profitability_measures('account_shares') }}
    from account_shares
    inner join customer_profitability
        on
            account_shares.month_start = customer_profitability.month_start
            and account_shares.customer_key = customer_profitability.customer_key
    group by account_shares.month_start, customer_profitability.segment

),

final as (

    select
        summed.*,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    cross join assumptions

)

select * from final
