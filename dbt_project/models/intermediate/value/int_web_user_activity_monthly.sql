-- Online-banking sessions of every web user in every month and the last of them, the raw
-- material of customer activity (int_customer_activity_monthly). Kept by user, so that
-- identity resolution can re-key customers without touching it.
-- Incremental by month (on Spark partitioned by month, incremental_by_date, macros/engines.sql): a
-- night rebuilds the months of the sessions that newer loads touched
-- (late events re-sessionise a day; the sessions of that day are replaced whole).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('online_banking', ref('int_web_sessions_keyed'), 'month_start', 'session_date',"
            ~ " grain='month') }}",
        ],
        **incremental_by_date('month_start'),
    )
}}

with sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}
    {% if is_incremental() %}
        where session_date >= (
            select
                cast(
                    date_trunc(
                        'month',
                        least(
                            coalesce(min(newer.session_date), date '9999-12-31'),
                            -- a date re-delivered without some of its sessions' events
                            {{ newer_delivered_from('online_banking', table_watermark()) }}
                        )
                    ) as date
                )
            from {{ ref('int_web_sessions_keyed') }} as newer
            where newer.load_id > {{ table_watermark() }}
        )
    {% endif %}

),

final as (

    select
        cast(date_trunc('month', sessions.session_date) as date) as month_start,
        sessions.user_id,
        count(*) as n_web_sessions,
        max(sessions.session_date) as last_session_date,
        max(sessions.load_id) as load_id,
        -- the run that wrote the month (int_customer_activity_monthly's watermark)
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from sessions
    where sessions.user_id is not null
    group by all

)

select * from final
