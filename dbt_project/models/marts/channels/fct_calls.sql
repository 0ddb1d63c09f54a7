-- Incremental by business date (macros/incremental.sql); the post-hook re-keys calls whose
-- caller identity resolution now places with another customer.
-- depends_on: {{ ref('int_customer_xref') }} (post-hooks)
{# On Spark partitioned by business_date, a night overwriting the partitions of its dates
   (incremental_by_date, macros/engines.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('call_center', ref('int_calls_keyed'), 'business_date', 'business_date') }}",
        ],
        post_hook=[
            "{{ refresh_customer_keys(ref('int_customer_xref'), 'call_id', 'source_key', ['match_rule'],"
            ~ " ['call_center', 'calls']) }}",
        ],
        **incremental_by_date('business_date'),
    )
}}

with calls as (

    select * from {{ ref('int_calls_keyed') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('int_calls_keyed'), 'business_date', system='call_center') }}
    {% endif %}

),

final as (

    select
        calls.call_id,
        calls.customer_key,
        calls.match_rule,
        calls.direction,
        calls.started_at,
        calls.answered_at,
        calls.ended_at,
        calls.call_date,
        calls.queue,
        calls.agent_id,
        calls.reason_code,
        calls.outcome,
        calls.wait_seconds,
        calls.talk_seconds,
        calls.hold_seconds,
        calls.transfer_count,
        calls.complaint_flag,
        calls.csat_score,
        calls.campaign_id,
        calls.business_date,
        calls._load_id as load_id
    from calls

)

select * from final
