with source as (

    select * from {{ source('core_banking', 'branches') }}

),

renamed as (

    select
        cast(source.branch_id as {{ string_type() }}) as branch_id,
        cast(source.branch_name as {{ string_type() }}) as branch_name,
        cast(source.city as {{ string_type() }}) as city,
        cast(source.region as {{ string_type() }}) as region,
        cast(source.branch_type as {{ string_type() }}) as branch_type,
        cast(source.opened_date as date) as opened_date,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
