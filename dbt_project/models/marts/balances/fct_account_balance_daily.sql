-- Incremental by business date (macros/incremental.sql).
-- depends_on: {{ ref('int_accounts_resolved') }} (post-hooks)
{# On Spark partitioned by business_date, a night overwriting the partitions of its dates
   (incremental_by_date, macros/engines.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_account_balances_keyed'), 'business_date', 'business_date') }}",
        ],
        post_hook=[
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id', ['product_code']) }}",
        ],
        **incremental_by_date('business_date'),
    )
}}

with balances as (

    select * from {{ ref('int_account_balances_keyed') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('int_account_balances_keyed'), 'business_date', system='core_banking') }}
    {% endif %}

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

)

select * from final
