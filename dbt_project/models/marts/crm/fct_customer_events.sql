-- The customer events (int_customer_events, where the rules run and docs/crm.md says how).
-- Incremental by the same window (macros/crm_events.sql): a night replaces the events dated
-- from the earliest day a fact its loads delivered happened on (int_business_date_loads'
-- earliest_fact_date), less var event_lookback_days, and the events of
-- customer keys it does not hold yet, with the rows int_customer_events holds for them after
-- tonight's build: a copy of the window, no rule computed again.
-- depends_on: {{ ref('int_business_date_loads') }} {{ ref('int_customer_versions') }} (macros/crm_events.sql)
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        window_column='event_date',
        on_schema_change='fail',
    )
}}

with customer_events as (

    select * from {{ ref('int_customer_events') }}

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
    {% if is_incremental() %}
        where {{ written_by_window('customer_events') }}
    {% endif %}

)

select * from final
