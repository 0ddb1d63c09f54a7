with source as (

    select * from {{ source('online_banking', 'users') }}

),

renamed as (

    select
        cast(source.user_id as {{ string_type() }}) as user_id,
        cast(source.customer_id as {{ string_type() }}) as customer_id,
        cast(source.email as {{ string_type() }}) as email,
        cast(source.phone as {{ string_type() }}) as phone,
        cast(source.registered_at as {{ timestamptz_type() }}) as registered_at,
        cast(source.status as {{ string_type() }}) as status,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
