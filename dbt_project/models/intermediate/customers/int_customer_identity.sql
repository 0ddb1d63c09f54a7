-- Identity resolution of the core customer records: one row per record with its stable
-- customer_key and the rule that placed it. Resolved by the pipeline's resolve step before
-- dbt runs (models/identity/), read here from its identity directory (source `identity`).
with customer_identity as (

    select * from {{ source('identity', 'customer_identity') }}

),

final as (

    select
        cast(customer_identity.customer_id as {{ string_type() }}) as customer_id,
        cast(customer_identity.group_id as {{ string_type() }}) as group_id,
        cast(customer_identity.match_rule as {{ string_type() }}) as match_rule,
        cast(customer_identity.matched_customer_id as {{ string_type() }}) as matched_customer_id,
        cast(customer_identity.match_probability as double) as match_probability,
        cast(customer_identity.n_candidates as bigint) as n_candidates,
        cast(customer_identity.customer_key as {{ string_type() }}) as customer_key,
        cast(customer_identity.key_created_on as date) as key_created_on
    from customer_identity

)

select * from final
