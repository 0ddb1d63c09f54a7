-- Web and app events, once each. The platform delivers at least once: the same event_id
-- can come again in a later hour file or days later. The first receipt is kept (earliest
-- delivery date, then hour file, then line).
-- Incremental (macros/incremental.sql): the receipts from the earliest newly loaded
-- delivery date on are rebuilt; an event already kept from an earlier date is not taken again.
{# On Spark partitioned by received_date, a night overwriting the partitions of its delivery
   dates (incremental_by_date, macros/engines.sql): a night's batch holds every event kept from
   each of its dates, so a date's partition is the batch's rows of it, as DuckDB's delete+insert. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('online_banking', ref('stg_online_banking__events'), 'received_date', 'received_date') }}",
        ],
        **incremental_by_date('received_date'),
    )
}}

with events as (

    select * from {{ ref('stg_online_banking__events') }}
    {% if is_incremental() %}
        where
            received_date >= {{ reprocess_from(ref('stg_online_banking__events'), 'received_date', system='online_banking') }}
            and event_id not in (
                select kept.event_id from {{ this }} as kept
                where kept.received_date < {{ reprocess_from(ref('stg_online_banking__events'), 'received_date', system='online_banking') }}
            )
    {% endif %}

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
        {{ days_between('cast(events.event_ts as date)', 'events.received_date') }} as days_late,
        events._source_file,
        events._load_id as load_id
    from events
    qualify
        row_number() over (
            partition by events.event_id
            order by events.received_date, events._source_file, events._source_row
        ) = 1

)

select * from first_receipt
