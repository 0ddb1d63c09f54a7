with source as (

    select * from {{ source('call_center', 'calls') }}

),

renamed as (

    select
        cast(source.call_id as {{ string_type() }}) as call_id,
        cast(source.direction as {{ string_type() }}) as direction,
        cast(source.started_at as {{ timestamptz_type() }}) as started_at,
        cast(source.answered_at as {{ timestamptz_type() }}) as answered_at,
        cast(source.ended_at as {{ timestamptz_type() }}) as ended_at,
        cast(source.caller_number as {{ string_type() }}) as caller_number,
        cast(source.customer_id as {{ string_type() }}) as customer_id,
        cast(source.queue as {{ string_type() }}) as queue,
        cast(source.agent_id as {{ string_type() }}) as agent_id,
        cast(source.wait_seconds as bigint) as wait_seconds,
        cast(source.talk_seconds as bigint) as talk_seconds,
        cast(source.hold_seconds as bigint) as hold_seconds,
        cast(source.transfer_count as bigint) as transfer_count,
        cast(source.reason_code as {{ string_type() }}) as reason_code,
        cast(source.outcome as {{ string_type() }}) as outcome,
        cast(source.complaint_flag as boolean) as complaint_flag,
        cast(source.csat_score as bigint) as csat_score,
        cast(source.campaign_id as {{ string_type() }}) as campaign_id,
        cast(source._business_date as date) as business_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
