-- Profitability of every relationship manager and month: fct_account_profitability_monthly
-- summed by the account's rm_id, the account's own RM or else its customer's (null: mass
-- retail; measures in macros/profitability_rollup.sql).
with account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_profitability.month_start,
        account_profitability.rm_id,
        count(*) as n_accounts,
        {{ profitability_measures('account_profitability') }}
    from account_profitability
    group by account_profitability.month_start, account_profitability.rm_id

),

final as (

    select
        summed.*,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    cross join assumptions

)

select * from final
