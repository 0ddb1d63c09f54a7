with source as (

    select * from {{ source('core_banking', 'account_parties') }}

),

renamed as (

    select
        cast(source.account_id as {{ string_type() }}) as account_id,
        cast(source.customer_id as {{ string_type() }}) as customer_id,
        cast(source.role as {{ string_type() }}) as role,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
