with source as (

    select * from {{ source('online_banking', 'users') }}

),

renamed as (

    select
        cast(source.user_id as varchar) as user_id,
        cast(source.customer_id as varchar) as customer_id,
        cast(source.email as varchar) as email,
        cast(source.phone as varchar) as phone,
        cast(source.registered_at as timestamptz) as registered_at,
        cast(source.status as varchar) as status,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
