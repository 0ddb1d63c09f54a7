-- The bank's profitability per month: every account of fct_account_profitability_monthly
-- summed (measures in macros/profitability_rollup.sql). The reconciliation tests check that
-- customers, products, branches, RMs and segments add up to these totals, and these totals
-- to the ledger (fees) and the loan book (credit cost).
with account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_profitability.month_start,
        bool_and(account_profitability.is_complete_month) as is_complete_month,
        count(distinct account_profitability.customer_key) as n_customers,
        count(*) as n_accounts,
        {{ profitability_measures('account_profitability') }}
    from account_profitability
    group by account_profitability.month_start

),

final as (

    select
        summed.*,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    cross join assumptions

)

select * from final
