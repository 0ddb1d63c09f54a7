-- Every merge of two customers identity resolution has found, in any run: the retired key
-- and the key that survived it (the oldest key of the merged customers). A key an analyst
-- saved that no longer appears in marts.dim_customer is found here. Read from the key registry
-- that int_customer_identity persists beside the lake (docs/identity.md).
-- depends_on: {{ ref('int_customer_identity') }}
with merge_log as (

    select *
    from read_parquet(
            '{{ var("identity_dir") }}/customer_key_merges.parquet'
        )

),

final as (

    select
        cast(merge_log.retired_key as varchar) as retired_key,
        cast(merge_log.surviving_key as varchar) as surviving_key,
        cast(merge_log.merged_on as date) as merged_on,
        cast(merge_log.n_records_moved as bigint) as n_records_moved
    from merge_log

)

select * from final
