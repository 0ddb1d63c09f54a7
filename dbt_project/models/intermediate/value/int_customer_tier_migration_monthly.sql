-- How customers move through the pyramid: every customer of a month with its tier the month
-- before and this month. NEW: no row the month before (a new relationship; in the first month
-- of the data, every customer: the warehouse knows no month before); EXITED: a row the month
-- before, none now (lapsed longer than var lapsed_months). contribution_12m before and after
-- are the customer's in each month (0 on the side where the customer has no row).
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's: a night builds every customer's months from the earliest month that
-- int_customer_value_monthly rebuilt since this table read it (rewritten_from, by
-- value_built_in_run), reading the value rows from the month before it (a month pairs with the
-- one before); the value months before the restart are those a full refresh reads.
-- On Spark the same SQL through the calendar macros (months_before, months_after) and the
-- markers naming the final select's columns (value_markers).
{#- The columns of the final select, in its order (value_markers). -#}
{%- set output_columns = [
    'month_start', 'customer_key', 'from_tier', 'to_tier', 'contribution_12m_before', 'contribution_12m_after',
    'rebuilt_from', 'value_built_in_run', 'built_in_run',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('customer_key', 'month_start'),
    )
}}

with all_customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}

),

restart as (

    select {{ rewritten_from(ref('int_customer_value_monthly'), 'value_built_in_run') }} as restart_date

),

customer_value as (

    select all_customer_value.*
    from all_customer_value
    cross join restart
    -- (no earlier than 0001-01-01: Spark's metastore cannot filter partitions by a date of year 0)
    where
        all_customer_value.month_start
        >= greatest({{ months_before('restart.restart_date', 1) }}, date '0001-01-01')

),

month_range as (

    select
        min(all_customer_value.month_start) as first_month_start,
        max(all_customer_value.month_start) as last_month_start,
        max(all_customer_value.built_in_run) as value_built_in_run
    from all_customer_value

),

before_month as (

    select
        cast({{ months_after('customer_value.month_start', 1) }} as date) as month_start,
        customer_value.customer_key,
        customer_value.value_tier,
        customer_value.contribution_12m
    from customer_value

),

pairs as (

    select
        coalesce(customer_value.month_start, before_month.month_start) as month_start,
        coalesce(customer_value.customer_key, before_month.customer_key) as customer_key,
        coalesce(before_month.value_tier, 'NEW') as from_tier,
        coalesce(customer_value.value_tier, 'EXITED') as to_tier,
        coalesce(before_month.contribution_12m, 0) as contribution_12m_before,
        coalesce(customer_value.contribution_12m, 0) as contribution_12m_after
    from customer_value
    full outer join before_month
        on
            customer_value.month_start = before_month.month_start
            and customer_value.customer_key = before_month.customer_key

),

final as (

    select
        pairs.*,
        -- lineage of the incremental build: the month the night rebuilt every customer from,
        -- the value rows' latest run it read, the run that wrote the row
        restart.restart_date as rebuilt_from,
        month_range.value_built_in_run,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from pairs
    cross join month_range
    cross join restart
    where
        pairs.month_start >= month_range.first_month_start
        and pairs.month_start <= month_range.last_month_start
        and pairs.month_start >= restart.restart_date

)

select * from final
{{ value_markers(columns=output_columns) }}
