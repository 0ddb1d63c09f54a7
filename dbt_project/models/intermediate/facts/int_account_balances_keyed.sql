-- Every delivered end-of-day balance with the account's unified customer and product. A
-- view (intermediate/facts/): fct_account_balance_daily selects from it only the dates that
-- new loads touched, and the balance marts and customer_360 read the same rows.
with balances as (

    select * from {{ ref('stg_core_banking__balances') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

final as (

    select
        balances.business_date,
        balances.account_id,
        accounts.customer_key,
        accounts.product_code,
        balances.currency,
        balances.ledger_balance,
        balances.available_balance,
        balances.accrued_interest,
        balances._load_id
    from balances
    left join accounts
        on balances.account_id = accounts.account_id

)

select * from final
