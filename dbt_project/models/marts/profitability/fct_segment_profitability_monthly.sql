-- Profitability of every customer segment and month: the accounts
-- (int_account_profitability_monthly) summed by the segment of the account's customer
-- (int_customer_profitability_monthly; measures in macros/profitability_rollup.sql).
with account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_profitability.month_start,
        customer_profitability.segment,
        count(distinct account_profitability.customer_key) as n_customers,
        count(*) as n_accounts,
        {{ profitability_measures('account_profitability') }}
    from account_profitability
    inner join customer_profitability
        on
            account_profitability.month_start = customer_profitability.month_start
            and account_profitability.customer_key = customer_profitability.customer_key
    group by account_profitability.month_start, customer_profitability.segment

),

final as (

    select
        summed.*,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    cross join assumptions

)

select * from final
