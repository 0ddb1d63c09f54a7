-- Web sessions per customer up to the as-of date (int_customer_as_of), aggregated once for
-- customer_360: sessions in the short window (var web_sessions_window_days, the _30d
-- column), in the long window (var web_sessions_long_window_days, the _90d column) and the
-- last session date. Sessions of unresolved users are left out.
with sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

final as (

    select
        sessions.customer_key,
        count(*) filter (
            where sessions.session_date > as_of.as_of_date - {{ var('web_sessions_window_days') }}
        ) as web_sessions_short_window,
        count(*) filter (
            where sessions.session_date > as_of.as_of_date - {{ var('web_sessions_long_window_days') }}
        ) as web_sessions_long_window,
        max(sessions.session_date) as last_web_session_date
    from sessions
    cross join as_of
    where
        sessions.customer_key is not null
        and sessions.session_date <= as_of.as_of_date
    group by sessions.customer_key

)

select * from final
