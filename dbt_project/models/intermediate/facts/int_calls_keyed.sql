-- Every delivered call with the unified customer identity resolution places the caller with
-- (int_customer_xref; null when unresolved) and its call_date. A view (intermediate/facts/):
-- fct_calls selects the new dates from it, customer_360's call activity reads the window.
with calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where
        source_system = 'call_center'
        and source_table = 'calls'

),

final as (

    select
        calls.call_id,
        customer_xref.customer_key,
        customer_xref.match_rule,
        calls.direction,
        calls.started_at,
        calls.answered_at,
        calls.ended_at,
        cast(calls.started_at as date) as call_date,
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
        calls._load_id
    from calls
    left join customer_xref
        on calls.call_id = customer_xref.source_key

)

select * from final
