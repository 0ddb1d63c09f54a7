-- Incremental (macros/customer_history.sql): the pre-hook deletes the versions of the customers
-- this build changed as the history shows them (int_customer_versions stamps them with the
-- newest load; a night that only extends current versions changes nothing here) and of the
-- customers rebuilt or retired; the model inserts those customers' versions again. The other
-- customers' rows stay as they are.
-- depends_on: {{ ref('int_customer_history_dates') }}
-- depends_on: {{ ref('int_customer_history_keys') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ delete_touched_customer_versions() }}"],
    )
}}

with customer_versions as (

    select * from {{ ref('int_customer_versions') }}
    {% if is_incremental() %}
        where customer_key in ({{ customer_history_touched_keys() }})
    {% endif %}

),

final as (

    select
        md5(
            customer_versions.customer_key || '/' || cast(customer_versions.valid_from as {{ string_type() }})
        ) as customer_version_key,
        customer_versions.customer_key,
        customer_versions.version_number,
        customer_versions.valid_from,
        customer_versions.valid_to,
        customer_versions.is_current,
        customer_versions.customer_type,
        customer_versions.full_name,
        customer_versions.birth_date,
        customer_versions.gender,
        customer_versions.city,
        customer_versions.region,
        customer_versions.home_branch_id,
        customer_versions.rm_id,
        customer_versions.kyc_risk_rating,
        customer_versions.onboarding_date,
        customer_versions.status,
        customer_versions.n_source_records
    from customer_versions

)

select * from final
