with source as (

    select * from {{ source('call_center', 'calls') }}

),

renamed as (

    select
        cast(source.call_id as varchar) as call_id,
        cast(source.direction as varchar) as direction,
        cast(source.started_at as timestamptz) as started_at,
        cast(source.answered_at as timestamptz) as answered_at,
        cast(source.ended_at as timestamptz) as ended_at,
        cast(source.caller_number as varchar) as caller_number,
        cast(source.customer_id as varchar) as customer_id,
        cast(source.queue as varchar) as queue,
        cast(source.agent_id as varchar) as agent_id,
        cast(source.wait_seconds as bigint) as wait_seconds,
        cast(source.talk_seconds as bigint) as talk_seconds,
        cast(source.hold_seconds as bigint) as hold_seconds,
        cast(source.transfer_count as bigint) as transfer_count,
        cast(source.reason_code as varchar) as reason_code,
        cast(source.outcome as varchar) as outcome,
        cast(source.complaint_flag as boolean) as complaint_flag,
        cast(source.csat_score as bigint) as csat_score,
        cast(source.campaign_id as varchar) as campaign_id,
        cast(source._business_date as date) as business_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
