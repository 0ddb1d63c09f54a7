-- Incremental by window (macros/crm_events.sql): a night replaces the events dated from the
-- earliest date its loads touched, less var event_lookback_days, and the events of customer
-- keys it does not hold yet (a re-keyed customer). The pre-hook tells the rules that window, so
-- each reads only the dates it needs (set_customer_events_window); the post-hook forgets it.
-- depends_on: {{ ref('int_business_date_loads') }} {{ ref('int_customer_versions') }} (macros/crm_events.sql)
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        window_column='event_date',
        on_schema_change='fail',
        pre_hook=["{{ set_customer_events_window() }}"],
        post_hook=["{{ reset_customer_events_window() }}"],
    )
}}

with customer_events as (

    select * from {{ ref('int_customer_events') }}
    {% if is_incremental() %}
        where
            event_date >= {{ customer_events_window_start() }}
            or customer_key not in (select loaded.customer_key from {{ this }} as loaded)
    {% endif %}

),

final as (

    select
        customer_events.event_id,
        customer_events.customer_key,
        customer_events.account_id,
        customer_events.event_date,
        customer_events.event_type,
        customer_events.severity,
        customer_events.measured_value,
        customer_events.baseline_value,
        customer_events.detected_in_run
    from customer_events

)

select * from final
