-- Every web session (int_web_events_sessionised) with the unified customer identity
-- resolution places its user with (int_customer_xref; null when unresolved). A view
-- (intermediate/facts/): fct_web_sessions selects the sessions new loads touched from it,
-- customer_360's web activity reads the window.
with sessions as (

    select * from {{ ref('int_web_events_sessionised') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where
        source_system = 'online_banking'
        and source_table = 'users'

),

final as (

    select
        sessions.session_id,
        sessions.user_id,
        customer_xref.customer_key,
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
    left join customer_xref
        on sessions.user_id = customer_xref.source_key

)

select * from final
