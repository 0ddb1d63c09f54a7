with loads as (

    select * from {{ source('lake_audit', 'loads') }}

),

final as (

    select
        cast(loads.load_id as {{ string_type() }}) as load_id,
        cast(loads.system as {{ string_type() }}) as system,
        cast(loads.feed as {{ string_type() }}) as feed,
        cast(loads.source_file as {{ string_type() }}) as source_file,
        cast(loads.business_date as date) as business_date,
        cast(loads.rows_delivered as bigint) as rows_delivered,
        cast(loads.rows_loaded as bigint) as rows_loaded,
        cast(loads.rows_quarantined as bigint) as rows_quarantined,
        cast(loads.sha256 as {{ string_type() }}) as sha256,
        cast(loads.manifest_sha256 as {{ string_type() }}) as manifest_sha256,
        cast(loads.started_at as {{ timestamptz_type() }}) as started_at,
        cast(loads.ended_at as {{ timestamptz_type() }}) as ended_at,
        cast(loads.outcome as {{ string_type() }}) as outcome,
        cast(loads.message as {{ string_type() }}) as message,
        cast(loads.control_totals as {{ string_type() }}) as control_totals
    from loads

)

select * from final
