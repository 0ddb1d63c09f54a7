-- Web and app events, once each. The platform delivers at least once: the same event_id
-- can come again in a later hour file or days later. The first receipt is kept (earliest
-- delivery date, then hour file, then line).
with events as (

    select * from {{ ref('stg_online_banking__events') }}

),

first_receipt as (

    select
        events.event_id,
        events.event_ts,
        events.user_id,
        events.session_id,
        events.device,
        events.event_type,
        events.page,
        events.product_code,
        events.amount,
        events.received_date,
        cast(events.event_ts as date) as event_date,
        events.received_date - cast(events.event_ts as date) as days_late,
        count(*) over (partition by events.event_id) as n_receipts,
        events._source_file
    from events
    qualify
        row_number() over (
            partition by events.event_id
            order by events.received_date, events._source_file, events._source_row
        ) = 1

)

select * from first_receipt
