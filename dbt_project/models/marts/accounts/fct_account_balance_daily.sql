-- Incremental by business date (macros/incremental.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='business_date',
        on_schema_change='fail',
        post_hook=[
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id', ['product_code']) }}",
        ],
    )
}}

with balances as (

    select * from {{ ref('stg_core_banking__balances') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('stg_core_banking__balances'), 'business_date') }}
    {% endif %}

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
        balances._load_id as load_id
    from balances
    left join accounts
        on balances.account_id = accounts.account_id

)

select * from final
