-- The current version of every unified customer (the is_current row of its history), so
-- that dim_customer and dim_customer_history never disagree.
with customer_versions as (

    select * from {{ ref('int_customer_versions') }}

),

final as (

    select
        customer_versions.customer_key,
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
        customer_versions.n_source_records,
        customer_versions.valid_from as current_since,
        customer_versions.last_seen_date
    from customer_versions
    where customer_versions.is_current

)

select * from final
