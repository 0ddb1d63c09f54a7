with source as (

    select * from {{ source('call_center', 'agents') }}

),

renamed as (

    select
        cast(source.agent_id as {{ string_type() }}) as agent_id,
        cast(source.full_name as {{ string_type() }}) as full_name,
        cast(source.team as {{ string_type() }}) as team,
        cast(source.site as {{ string_type() }}) as site,
        cast(source.hire_date as date) as hire_date,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
