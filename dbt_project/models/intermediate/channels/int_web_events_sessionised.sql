-- One row per online-banking session. A session is the platform's session_id, whatever
-- day its events were received on. Events before login carry no user_id; the session's
-- user is the first user_id seen in it (n_user_ids > 1 flags the rare session that
-- switched user, kept with the first).
-- Incremental (macros/incremental.sql): the sessions that newly loaded events belong to
-- (late events included) are rebuilt from all their events, and so are those with events
-- received on a date that newer loads re-delivered (a corrected delivery can withdraw events:
-- a session left with none is deleted, macros/incremental.sql, delete_withdrawn_rows).
{# On Spark partitioned by session_date, a night overwriting the partitions that hold a rebuilt
   session (its new row or its old one), every row of them (incremental_by_key,
   macros/engines.sql): a session is keyed by its id across dates, and the dates a night touches
   are the newest and those of the sessions late events reached, not the table's. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('online_banking', ref('int_web_events_deduplicated'), 'last_received_date',"
            ~ " 'received_date', 'session_id', 'session_id') }}",
        ],
        **incremental_by_key('session_id', 'session_date'),
    )
}}

with events as (

    select * from {{ ref('int_web_events_deduplicated') }}
    {% if is_incremental() %}
        where session_id in (
            select newer.session_id from {{ ref('int_web_events_deduplicated') }} as newer
            where newer.load_id > {{ table_watermark() }}
        )
        or session_id in (
            select kept.session_id from {{ this }} as kept
            where kept.last_received_date >= {{ newer_delivered_from('online_banking', table_watermark()) }}
        )
    {% endif %}

),

sessions as (

    select
        events.session_id,
        {{ ordered_first(
            'events.user_id', ['events.event_ts', 'events.event_id'], 'events.user_id is not null'
        ) }} as user_id,
        count(distinct events.user_id) as n_user_ids,
        {{ ordered_first('events.device', ['events.event_ts', 'events.event_id']) }} as device,
        min(events.event_ts) as started_at,
        max(events.event_ts) as ended_at,
        count(*) as n_events,
        count(*) filter (where events.event_type = 'LOGIN') as n_logins,
        count(*) filter (where events.event_type = 'LOGIN_FAILED') as n_failed_logins,
        count(*) filter (where events.event_type in ('TRANSFER', 'BILL_PAYMENT')) as n_payment_events,
        count(*) filter (where events.days_late > 0) as n_late_events,
        max(events.received_date) as last_received_date,
        max(events.load_id) as load_id
    from events
    group by events.session_id

),

final as (

    select
        sessions.*,
        cast(sessions.started_at as date) as session_date,
        {{ seconds_between('sessions.started_at', 'sessions.ended_at') }} as duration_seconds
    from sessions

)

select * from final
