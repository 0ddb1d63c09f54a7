-- Every customer event the rules detect (docs/crm.md), with its deterministic event_id: an
-- md5 of event type, customer, account and event date, so that the same fact gives the same id
-- however often its date is delivered or rebuilt.
-- detected_in_run is the latest load of the event's date (int_business_date_loads): the run
-- that delivered, or last re-delivered, the day on which the rule first held.
-- A table, incremental by window (macros/crm_events.sql): a night replaces the events dated
-- from the earliest day a fact its loads delivered happened on (int_business_date_loads'
-- earliest_fact_date), less var event_lookback_days, and the events of
-- customer keys it does not hold yet (a re-keyed customer). The pre-hook tells the rules that
-- window, so each reads only the dates it needs (set_customer_events_window); the post-hook
-- forgets it. The rules run once a night: fct_customer_events copies the window's rows and the
-- leads' candidates read theirs from here.
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

with flows as (

    select * from {{ ref('int_customer_events_flows') }}

),

balances as (

    select * from {{ ref('int_customer_events_balances') }}

),

salary as (

    select * from {{ ref('int_customer_events_salary') }}

),

account_events as (

    select * from {{ ref('int_customer_events_accounts') }}

),

loan_events as (

    select * from {{ ref('int_customer_events_loans') }}

),

contact_events as (

    select * from {{ ref('int_customer_events_contacts') }}

),

value_events as (

    select * from {{ ref('int_customer_events_value') }}

),

churn_events as (

    select * from {{ ref('int_customer_events_churn') }}

),

loads as (

    select * from {{ ref('int_business_date_loads') }}

),

detected as (

    select * from flows
    union all
    select * from balances
    union all
    select * from salary
    union all
    select * from account_events
    union all
    select * from loan_events
    union all
    select * from contact_events
    union all
    select * from value_events
    union all
    select * from churn_events

),

events as (

    select
        md5(
            detected.event_type || '|' || detected.customer_key || '|'
            || coalesce(detected.account_id, '') || '|' || {{ iso_date_text('detected.event_date') }}
        ) as event_id,
        detected.customer_key,
        detected.account_id,
        detected.event_date,
        detected.event_type,
        detected.severity,
        detected.measured_value,
        detected.baseline_value,
        loads.load_id as detected_in_run
    from detected
    {{ join_latest_load('loads', 'detected.event_date') }}
    where detected.customer_key is not null

),

final as (

    select * from events
    {% if is_incremental() %}
        where {{ written_by_window('events') }}
    {% endif %}

)

select * from final
