with source as (

    select * from {{ source('core_banking', 'relationship_managers') }}

),

renamed as (

    select
        cast(source.rm_id as {{ string_type() }}) as rm_id,
        cast(source.full_name as {{ string_type() }}) as full_name,
        cast(source.branch_id as {{ string_type() }}) as branch_id,
        cast(source.team_id as {{ string_type() }}) as team_id,
        cast(source.grade as {{ string_type() }}) as grade,
        cast(source.hire_date as date) as hire_date,
        cast(source.leave_date as date) as leave_date,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
