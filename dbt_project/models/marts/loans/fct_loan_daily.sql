-- Incremental by business date (macros/incremental.sql).
-- depends_on: {{ ref('int_accounts_resolved') }} (post-hooks)
{# On Spark partitioned by business_date, a night overwriting the partitions of its dates
   (incremental_by_date, macros/engines.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_loans_provisioned'), 'business_date', 'business_date') }}",
        ],
        post_hook=[
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id', ['product_code']) }}",
        ],
        **incremental_by_date('business_date'),
    )
}}

with loans as (

    select * from {{ ref('int_loans_provisioned') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('int_loans_provisioned'), 'business_date', system='core_banking') }}
    {% endif %}

),

final as (

    select
        loans.business_date,
        loans.account_id,
        loans.customer_key,
        loans.product_code,
        loans.principal_amount,
        loans.outstanding_principal,
        loans.interest_rate_pct,
        loans.disbursement_date,
        loans.maturity_date,
        loans.repayment_frequency,
        loans.days_past_due,
        loans.classification,
        loans.collateral_type,
        loans.collateral_value,
        loans.required_provision,
        loans._load_id as load_id
    from loans

)

select * from final
