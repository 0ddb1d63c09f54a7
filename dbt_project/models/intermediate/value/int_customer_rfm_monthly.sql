-- RFM, month by month, for every customer with a relationship that month (docs/customer_value.md):
--   recency_days: days from the last customer-initiated posting or web session to the month's
--     reference date (null: none in the data);
--   frequency: customer-initiated postings and web sessions, monetary: contribution, both over
--     var rfm_window_months (the month and the ones before it);
--   r/f/m_score: quintiles 1 (worst) to 5 (best) among the month's customers, ceil(5 x the
--     cumulative distribution), so ties share a score; the least recent (and customers with no
--     activity at all) score 1 on recency;
--   rfm_segment, the first rule that holds: CHAMPIONS (r, f, m all 4 or 5), LOYAL (r 3 or more,
--     f 4 or more), PROMISING (r 4 or more, f 2 or less), AT_RISK (r 2 or less, f or m 3 or
--     more), HIBERNATING (r 2 or less), NEEDS_ATTENTION (the rest).
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's: as int_customer_value_monthly, a night scores every customer's months from the
-- earliest month the features rebuilt since this table read them (the quintiles rank the
-- customers of a month against each other; a month reads its own features only).
-- On Spark the same SQL, the markers naming the final select's columns (value_markers).
{#- The columns of the final select, in its order (value_markers). -#}
{%- set output_columns = [
    'month_start', 'customer_key', 'recency_days', 'frequency', 'monetary', 'r_score', 'f_score', 'm_score',
    'rfm_cell', 'rfm_segment', 'rebuilt_from', 'features_built_in_run', 'built_in_run',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('customer_key', 'month_start'),
    )
}}

with all_features as (

    select * from {{ ref('int_customer_value_features_monthly') }}

),

{{ value_features_from_restart() }},

scored as (

    select
        features.month_start,
        features.customer_key,
        features.recency_days,
        features.rfm_frequency as frequency,
        features.rfm_monetary as monetary,
        cast(ceil(5 * cume_dist() over (
            partition by features.month_start order by features.recency_days desc nulls first
        )) as integer) as r_score,
        cast(ceil(5 * cume_dist() over (
            partition by features.month_start order by features.rfm_frequency
        )) as integer) as f_score,
        cast(ceil(5 * cume_dist() over (
            partition by features.month_start order by features.rfm_monetary
        )) as integer) as m_score
    from features

),

final as (

    select
        scored.*,
        cast(scored.r_score as {{ string_type() }})
        || cast(scored.f_score as {{ string_type() }})
        || cast(scored.m_score as {{ string_type() }}) as rfm_cell,
        case
            when scored.r_score >= 4 and scored.f_score >= 4 and scored.m_score >= 4 then 'CHAMPIONS'
            when scored.r_score >= 3 and scored.f_score >= 4 then 'LOYAL'
            when scored.r_score >= 4 and scored.f_score <= 2 then 'PROMISING'
            when scored.r_score <= 2 and (scored.f_score >= 3 or scored.m_score >= 3) then 'AT_RISK'
            when scored.r_score <= 2 then 'HIBERNATING'
            else 'NEEDS_ATTENTION'
        end as rfm_segment,
        -- lineage of the incremental build (as int_customer_value_monthly's)
        restart.restart_date as rebuilt_from,
        features_watermark.features_built_in_run,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from scored
    cross join restart
    cross join features_watermark

)

select * from final
{{ value_markers(columns=output_columns) }}
