-- The value pyramid, month by month (docs/customer_value.md):
--   loyalty_score, 0 to 1: the mean of five parts, each 0 to 1: tenure (full at var
--     loyalty_full_tenure_months), breadth (product families held, full at var
--     loyalty_full_product_families), salary or pension credited here this month or last
--     (0 or 1), recency (1 on the day of the last customer-initiated activity, falling to 0 at
--     var inactive_days) and frequency (activities this month, full at var
--     loyalty_full_monthly_activity);
--   value_percentile: percent rank of the value measure (var value_measure: contribution_12m
--     or economic_profit_12m) among the month's customers who are not lapsed;
--   value_tier: LAPSED (nothing open, last account closed within var lapsed_months), INACTIVE
--     (accounts open, no customer-initiated activity for var inactive_days, judged only once
--     the data covers that many days), else A / B / C / D by high value (value_percentile at
--     least var value_high_percentile) and high loyalty (loyalty_score at least var
--     loyalty_high_score): A both, B value only, C loyalty only, D neither;
--   pareto_rank and cumulative_contribution_share: customers by contribution_12m, largest
--     first, and the share of the month's positive contribution made by them and all above;
--   value_class: BZ (contribution_12m below zero), MVC (the fewest top customers making var
--     mvc_contribution_share of the positive contribution), MGC (not lapsed, value_percentile
--     below var mgc_max_value_percentile, and annual income at least var
--     mgc_min_annual_income or transfers to other banks at least var
--     mgc_min_outflow_elsewhere over var mgc_outflow_window_months), else OTHER.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's: a night builds every customer's months from the earliest month that
-- int_customer_value_features_monthly rebuilt since this table read it (rewritten_from, by
-- features_built_in_run), for every customer: the percentile, the Pareto curve and the value
-- classes rank the customers of a month against each other, and every figure reads the month's
-- own features only, so the months before the restart are what a full refresh gives.
-- On Spark the same SQL: the Pareto shares' quotients through decimal_quotient (DuckDB divides
-- decimals as doubles), pareto_rank cast to DuckDB's bigint (Spark's row_number is an int), the
-- markers naming the final select's columns (value_markers).
{#- The columns of the final select, in its order (value_markers). -#}
{%- set output_columns = [
    'month_start', 'customer_key', 'reference_date', 'is_complete_month', 'contribution_12m',
    'economic_profit_12m', 'value_percentile', 'loyalty_score', 'value_tier', 'value_class', 'pareto_rank',
    'cumulative_contribution_share', 'is_lapsed', 'lapsed_on', 'n_open_accounts', 'n_product_families',
    'tenure_months', 'recency_days', 'is_salary_credited', 'annual_income', 'outflow_elsewhere', 'rebuilt_from',
    'features_built_in_run', 'built_in_run',
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
        features.*,
        {% if var('value_measure') == 'economic_profit' -%}
            features.economic_profit_12m
        {%- else -%}
            features.contribution_12m
        {%- endif %} as value_measure,
        (
            least(features.tenure_months / {{ var('loyalty_full_tenure_months') }}, 1)
            + least(features.n_product_families / {{ var('loyalty_full_product_families') }}, 1)
            + case when features.is_salary_credited then 1 else 0 end
            + coalesce(greatest(1 - features.recency_days / {{ var('inactive_days') }}, 0), 0)
            + least(features.n_activities / {{ var('loyalty_full_monthly_activity') }}, 1)
        ) / 5 as loyalty_raw
    from features

),

ranked as (

    select
        scored.*,
        case
            when not scored.is_lapsed
                then
                    percent_rank() over (
                        partition by scored.month_start, scored.is_lapsed order by scored.value_measure
                    )
        end as value_rank,
        cast(row_number() over (
            partition by scored.month_start
            order by scored.contribution_12m desc, scored.customer_key asc
        ) as bigint) as pareto_rank,
        sum(greatest(scored.contribution_12m, 0)) over (
            partition by scored.month_start
            order by scored.contribution_12m desc, scored.customer_key asc
            rows between unbounded preceding and current row
        ) as cumulative_positive,
        sum(greatest(scored.contribution_12m, 0)) over (partition by scored.month_start) as total_positive
    from scored

),

shares as (

    select
        ranked.*,
        cast(ranked.value_rank as decimal(5, 4)) as value_percentile,
        cast(ranked.loyalty_raw as decimal(5, 4)) as loyalty_score,
        coalesce({{ decimal_quotient('ranked.cumulative_positive', 'nullif(ranked.total_positive, 0)') }}, 0)
            as cumulative_share_raw,
        coalesce(
            {{ decimal_quotient(
                '(ranked.cumulative_positive - greatest(ranked.contribution_12m, 0))',
                'nullif(ranked.total_positive, 0)',
            ) }},
            0
        ) as share_above
    from ranked

),

final as (

    select
        shares.month_start,
        shares.customer_key,
        shares.reference_date,
        shares.is_complete_month,
        shares.contribution_12m,
        shares.economic_profit_12m,
        shares.value_percentile,
        shares.loyalty_score,
        case
            when shares.is_lapsed then 'LAPSED'
            when
                shares.days_of_history >= {{ var('inactive_days') }}
                and coalesce(shares.recency_days >= {{ var('inactive_days') }}, true)
                then 'INACTIVE'
            when shares.value_percentile >= {{ var('value_high_percentile') }}
                then case when shares.loyalty_score >= {{ var('loyalty_high_score') }} then 'A' else 'B' end
            else case when shares.loyalty_score >= {{ var('loyalty_high_score') }} then 'C' else 'D' end
        end as value_tier,
        case
            when shares.contribution_12m < 0 then 'BZ'
            when shares.contribution_12m > 0 and shares.share_above < {{ var('mvc_contribution_share') }}
                then 'MVC'
            when
                not shares.is_lapsed
                and shares.value_percentile < {{ var('mgc_max_value_percentile') }}
                and (
                    shares.annual_income >= {{ var('mgc_min_annual_income') }}
                    or shares.outflow_elsewhere >= {{ var('mgc_min_outflow_elsewhere') }}
                )
                then 'MGC'
            else 'OTHER'
        end as value_class,
        shares.pareto_rank,
        cast(shares.cumulative_share_raw as decimal(9, 6)) as cumulative_contribution_share,
        shares.is_lapsed,
        shares.lapsed_on,
        shares.n_open_accounts,
        shares.n_product_families,
        shares.tenure_months,
        shares.recency_days,
        shares.is_salary_credited,
        shares.annual_income,
        shares.outflow_elsewhere,
        -- lineage of the incremental build: the month the night rebuilt every customer from,
        -- the features' latest run it read, the run that wrote the row
        restart.restart_date as rebuilt_from,
        features_watermark.features_built_in_run,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from shares
    cross join restart
    cross join features_watermark

)

select * from final
{{ value_markers(columns=output_columns) }}
