-- Events from the channels:
--   NEW_COMPLAINT: a call flagged as a complaint (complaint_flag) by a resolved customer.
--     One event per customer and call date; measured_value is the number of complaint calls
--     that day. Severity 3.
--   FAILED_LOGINS: at least var failed_logins_threshold LOGIN_FAILED events of the
--     customer's online-banking users on one day (event date in the bank's time zone).
--     measured_value is the number of failures, baseline_value the threshold. Severity 1.
-- On an incremental night it reads the events' window only (customer_events_since), the calls
-- by the business date that delivered them too (customer_events_delivered_since).
with calls as (

    select * from {{ ref('int_calls_keyed') }}
    where
        {{ customer_events_since('call_date') }}
        and {{ customer_events_delivered_since('business_date') }}

),

web_events as (

    select * from {{ ref('int_web_events_deduplicated') }}
    where {{ customer_events_since('event_date') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where
        source_system = 'online_banking'
        and source_table = 'users'

),

complaints as (

    select
        calls.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        calls.call_date as event_date,
        'NEW_COMPLAINT' as event_type,
        3 as severity,
        cast(count(*) as decimal(18, 2)) as measured_value,
        cast(null as decimal(18, 2)) as baseline_value
    from calls
    where
        calls.complaint_flag
        and calls.customer_key is not null
    group by all

),

failed_logins as (

    select
        customer_xref.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        web_events.event_date,
        'FAILED_LOGINS' as event_type,
        1 as severity,
        cast(count(*) as decimal(18, 2)) as measured_value,
        cast({{ var('failed_logins_threshold') }} as decimal(18, 2)) as baseline_value
    from web_events
    inner join customer_xref
        on web_events.user_id = customer_xref.source_key
    where web_events.event_type = 'LOGIN_FAILED'
    group by all
    having count(*) >= {{ var('failed_logins_threshold') }}

),

final as (

    select * from complaints
    union all
    select * from failed_logins

)

select * from final
