-- Incremental (macros/incremental.sql): rebuilt for the sessions that new events touched;
-- the post-hook re-keys users whom identity resolution now places with another customer.
-- depends_on: {{ ref('int_customer_xref') }} (post-hooks)
{# On Spark partitioned by session_date, a night overwriting the partitions that hold a rebuilt
   session, every row of them (incremental_by_key, macros/engines.sql), as
   int_web_events_sessionised; a re-key overwrites the partitions of the re-keyed users' sessions. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('online_banking', ref('int_web_sessions_keyed'), 'last_received_date',"
            ~ " 'received_date', 'session_id', 'session_id') }}",
        ],
        post_hook=[
            "{{ refresh_customer_keys(ref('int_customer_xref'), 'user_id', 'source_key', [],"
            ~ " ['online_banking', 'users']) }}",
        ],
        **incremental_by_key('session_id', 'session_date'),
    )
}}

with sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}
    {% if is_incremental() %}
        where
            load_id > {{ table_watermark() }}
            -- sessions with events received on a date newer loads re-delivered (some withdrawn)
            or session_id in (
                select kept.session_id from {{ this }} as kept
                where kept.last_received_date >= {{ newer_delivered_from('online_banking', table_watermark()) }}
            )
    {% endif %}

),

final as (

    select
        sessions.session_id,
        sessions.user_id,
        sessions.customer_key,
        sessions.device,
        sessions.started_at,
        sessions.ended_at,
        sessions.session_date,
        sessions.duration_seconds,
        sessions.n_events,
        sessions.n_logins,
        sessions.n_failed_logins,
        sessions.n_payment_events,
        sessions.n_late_events,
        sessions.n_user_ids,
        sessions.last_received_date,
        sessions.load_id
    from sessions

)

select * from final
