with source as (

    select * from {{ source('online_banking', 'events') }}

),

renamed as (

    select
        cast(source.event_id as {{ string_type() }}) as event_id,
        cast(source.event_ts as {{ timestamptz_type() }}) as event_ts,
        cast(source.user_id as {{ string_type() }}) as user_id,
        cast(source.session_id as {{ string_type() }}) as session_id,
        cast(source.device as {{ string_type() }}) as device,
        cast(source.event_type as {{ string_type() }}) as event_type,
        cast(source.page as {{ string_type() }}) as page,
        cast(source.product_code as {{ string_type() }}) as product_code,
        cast(source.amount as decimal(18, 4)) as amount,
        cast(source.ip_hash as {{ string_type() }}) as ip_hash,
        cast(source.app_version as {{ string_type() }}) as app_version,
        cast(source._business_date as date) as received_date,
        source._load_id,
        source._source_file,
        source._source_row
    from source

)

select * from renamed
