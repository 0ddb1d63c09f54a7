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

with loans as (

    select * from {{ ref('stg_core_banking__loans') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('stg_core_banking__loans'), 'business_date') }}
    {% endif %}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

provision_rates as (

    select * from {{ ref('provision_rates') }}

),

final as (

    select
        loans.business_date,
        loans.account_id,
        accounts.customer_key,
        accounts.product_code,
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
        cast(
            round(
                cast(loans.outstanding_principal as decimal(38, 4))
                * cast(provision_rates.provision_rate as decimal(38, 6)),
                2
            ) as decimal(18, 2)
        ) as required_provision,
        loans._load_id as load_id
    from loans
    left join accounts
        on loans.account_id = accounts.account_id
    left join provision_rates
        on loans.classification = provision_rates.classification

)

select * from final
