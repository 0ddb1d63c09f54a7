with source as (

    select * from {{ source('core_banking', 'account_parties') }}

),

renamed as (

    select
        cast(source.account_id as varchar) as account_id,
        cast(source.customer_id as varchar) as customer_id,
        cast(source.role as varchar) as role,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
