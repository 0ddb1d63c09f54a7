-- Daily balance snapshot of every account over the last `balance_snapshot_window_days`
-- days (a dbt var, dbt_project.yml) ending on the latest business date delivered. Older days
-- survive as month ends in fct_account_balance_monthly.
with balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

latest as (

    select max(balances.business_date) as latest_business_date
    from balances

),

final as (

    select
        balances.business_date,
        balances.account_id,
        balances.customer_key,
        balances.product_code,
        balances.currency,
        balances.ledger_balance,
        balances.available_balance,
        balances.accrued_interest,
        balances._load_id as load_id
    from balances
    cross join latest
    where
        balances.business_date
        > latest.latest_business_date - {{ var('balance_snapshot_window_days') }}

)

select * from final
