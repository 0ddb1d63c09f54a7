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
        sessions.last_received_date
    from sessions
    left join customer_xref
        on sessions.user_id = customer_xref.source_key

)

select * from final
