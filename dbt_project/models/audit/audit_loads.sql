with loads as (

    select * from {{ source('lake_audit', 'loads') }}

),

final as (

    select
        cast(loads.load_id as varchar) as load_id,
        cast(loads.system as varchar) as system,
        cast(loads.feed as varchar) as feed,
        cast(loads.source_file as varchar) as source_file,
        cast(loads.business_date as date) as business_date,
        cast(loads.rows_delivered as bigint) as rows_delivered,
        cast(loads.rows_loaded as bigint) as rows_loaded,
        cast(loads.rows_quarantined as bigint) as rows_quarantined,
        cast(loads.sha256 as varchar) as sha256,
        cast(loads.manifest_sha256 as varchar) as manifest_sha256,
        cast(loads.started_at as timestamptz) as started_at,
        cast(loads.ended_at as timestamptz) as ended_at,
        cast(loads.outcome as varchar) as outcome,
        cast(loads.message as varchar) as message,
        cast(loads.control_totals as varchar) as control_totals
    from loads

)

select * from final
