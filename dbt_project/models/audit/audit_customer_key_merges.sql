-- Every merge of two customers identity resolution has found, in any run: the retired key
-- and the key that survived it (the oldest key of the merged customers). A key an analyst
-- saved that no longer appears in marts.dim_customer is found here. Read from the merge log
-- the resolve step writes with the build's identity (source `identity`, docs/identity.md).
with merge_log as (

    select * from {{ source('identity', 'customer_key_merges') }}

),

final as (

    select
        cast(merge_log.retired_key as {{ string_type() }}) as retired_key,
        cast(merge_log.surviving_key as {{ string_type() }}) as surviving_key,
        cast(merge_log.merged_on as date) as merged_on,
        cast(merge_log.n_records_moved as bigint) as n_records_moved
    from merge_log

)

select * from final
