-- Online-banking sessions of every web user in every month and the last of them, the raw
-- material of customer activity (int_customer_activity_monthly). Kept by user, so that
-- identity resolution can re-key customers without touching it.
-- Incremental by month: a night rebuilds the months of the sessions that newer loads touched
-- (late events re-sessionise a day; the sessions of that day are replaced whole).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start',
        on_schema_change='fail',
    )
}}

with sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}
    {% if is_incremental() %}
        where session_date >= (
            select cast(date_trunc('month', coalesce(min(newer.session_date), date '9999-12-31')) as date)
            from {{ ref('int_web_sessions_keyed') }} as newer
            where newer.load_id > (select coalesce(max(loaded.load_id), '') from {{ this }} as loaded)
        )
    {% endif %}

),

final as (

    select
        cast(date_trunc('month', sessions.session_date) as date) as month_start,
        sessions.user_id,
        count(*) as n_web_sessions,
        max(sessions.session_date) as last_session_date,
        max(sessions.load_id) as load_id
    from sessions
    where sessions.user_id is not null
    group by all

)

select * from final
