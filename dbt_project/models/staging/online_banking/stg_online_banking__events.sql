with source as (

    select * from {{ source('online_banking', 'events') }}

),

renamed as (

    select
        cast(source.event_id as varchar) as event_id,
        cast(source.event_ts as timestamptz) as event_ts,
        cast(source.user_id as varchar) as user_id,
        cast(source.session_id as varchar) as session_id,
        cast(source.device as varchar) as device,
        cast(source.event_type as varchar) as event_type,
        cast(source.page as varchar) as page,
        cast(source.product_code as varchar) as product_code,
        cast(source.amount as decimal(18, 4)) as amount,
        cast(source.ip_hash as varchar) as ip_hash,
        cast(source.app_version as varchar) as app_version,
        cast(source._business_date as date) as received_date,
        source._load_id,
        source._source_file,
        source._source_row
    from source

)

select * from renamed
