-- The system and feed file of a quarantined row are in its path:
-- <lake>/_quarantine/<system>/<file>/business_date=<D>/<stem>.parquet
with quarantine as (

    select * from {{ source('lake_audit', 'quarantine') }}

),

final as (

    select
        split_part(quarantine.filename, '/', -4) as system,
        split_part(quarantine.filename, '/', -3) as feed,
        cast(quarantine._business_date as date) as business_date,
        cast(quarantine._load_id as {{ string_type() }}) as load_id,
        cast(quarantine._source_file as {{ string_type() }}) as source_file,
        cast(quarantine._source_row as bigint) as source_row,
        cast(quarantine.raw as {{ string_type() }}) as raw,
        cast(quarantine.reason as {{ string_type() }}) as reason
    from quarantine

)

select * from final
