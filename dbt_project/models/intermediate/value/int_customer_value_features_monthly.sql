-- What the value model knows of every customer with a relationship in a month
-- (int_customer_relationships_monthly), each figure as of the month's reference date:
-- trailing contribution and economic profit (var value_window_months: the month and the
-- ones before it, so the current month counts as far as it has gone), RFM frequency and
-- monetary (var rfm_window_months), transfers to other banks (var mgc_outflow_window_months),
-- tenure, the last customer-initiated activity and whether salary was credited this month
-- or last. Contribution is the primary holder's (int_customer_profitability_monthly). The
-- money windows sum the complete months of the window plus the month itself: an incomplete
-- month before it is the first month of the data, which carries the whole opening stock of
-- loan provisions (docs/profitability.md) and would brand every borrower a value destroyer.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail, with no customer rebuilt
-- alone), rows equal to a full refresh's: a night builds every customer's months from the
-- night's restart, the earliest of
--   - the earliest month in which any customer's inputs (`inputs_fingerprint`: the month's
--     relationship, contribution, activity, and the customer's onboarding date and income) are
--     not those its row was built from, or in which a customer gained or lost its row;
--   - the latest month the table holds: the current month, always recomputed (its reference
--     date moves every night; once a month starts, the one before becomes complete).
-- The inputs are tables rebuilt whole each night (their own inputs are today's accounts,
-- holders, customer keys and attributes, which can change any month), so what they changed is
-- found by comparing, month by month; the comparison reads every month, the windows and the
-- write only those from the restart (less the longest window, for the sums). One restart for
-- every customer, not one per customer: what reads this table ranks the customers of a month
-- against each other (value_percentile, pareto_rank, RFM quintiles), so a month that changes
-- for one customer is rebuilt for all of them there anyway; a month that changes moves the
-- trailing windows of the months after it, which are rebuilt with it. A change of a setting
-- (a window, a threshold) changes the project's fingerprint: a full refresh.
-- rfm_frequency, a sum of counts over a window, is cast to bigint (DuckDB's sum of bigints is a
-- HUGEINT, which Spark has not; the public fct_customer_rfm_monthly casts it to bigint anyway).
-- On Spark the same SQL through the engine macros (macros/engines.sql and
-- engines_aggregates.sql: row_digest, months_before, months_crossed, days_between;
-- value_markers naming the final select's columns), planned
-- without Spark's constraint propagation (spark_session_setting): its inference over this
-- select's aliases, windows and cross joins exhausted the driver's heap before a row was read.
-- The windows' first month is no earlier than 0001-01-01 (Spark's metastore cannot filter the
-- month partitions by a date of year 0, which a full refresh's restart less the window gives).
{#- The columns of the final select, in its order: the markers (value_markers) name them; and
    what a row's inputs_fingerprint digests. -#}
{%- set output_columns = [
    'month_start', 'month_end', 'reference_date', 'customer_key', 'is_lapsed', 'lapsed_on', 'n_open_accounts',
    'n_product_families', 'tenure_months', 'n_activities', 'last_activity_date', 'recency_days',
    'is_salary_credited', 'contribution_12m', 'economic_profit_12m', 'rfm_frequency', 'rfm_monetary',
    'outflow_elsewhere', 'annual_income', 'days_of_history', 'is_complete_month', 'inputs_fingerprint',
    'rebuilt_from', 'built_in_run',
] %}
{%- set fingerprinted_inputs = [
    'monthly.month_end', 'monthly.reference_date', 'monthly.is_complete_month', 'monthly.days_of_history',
    'monthly.n_open_accounts', 'monthly.n_product_families', 'monthly.lapsed_on', 'monthly.is_lapsed',
    'monthly.contribution', 'monthly.economic_profit', 'monthly.n_activities', 'monthly.last_activity_date',
    'monthly.is_salary_credited', 'monthly.outflow_elsewhere', 'monthly.onboarding_date', 'monthly.annual_income',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=["{{ spark_session_setting('spark.sql.constraintPropagation.enabled', 'false') }}"],
        post_hook=["{{ spark_session_setting('spark.sql.constraintPropagation.enabled', 'true') }}"],
        **incremental_by_tail('customer_key', 'month_start'),
    )
}}
{%- set lookback_months = [
    var('value_window_months'), var('rfm_window_months'), var('mgc_outflow_window_months'), 2,
] | max - 1 %}

with relationships as (

    select * from {{ ref('int_customer_relationships_monthly') }}

),

profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

activity as (

    select * from {{ ref('int_customer_activity_monthly') }}

),

customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

),

attributes as (

    select * from {{ ref('int_customer_attributes') }}

),

monthly as (

    select
        relationships.month_start,
        relationships.month_end,
        relationships.reference_date,
        relationships.is_complete_month,
        relationships.days_of_history,
        relationships.customer_key,
        relationships.n_open_accounts,
        relationships.n_product_families,
        relationships.lapsed_on,
        relationships.is_lapsed,
        coalesce(profitability.contribution, 0) as contribution,
        coalesce(profitability.economic_profit, 0) as economic_profit,
        case when relationships.is_complete_month then coalesce(profitability.contribution, 0) else 0 end
            as complete_contribution,
        case when relationships.is_complete_month then coalesce(profitability.economic_profit, 0) else 0 end
            as complete_economic_profit,
        coalesce(activity.n_activities, 0) as n_activities,
        activity.last_activity_date,
        coalesce(activity.is_salary_credited, false) as is_salary_credited,
        coalesce(activity.outflow_elsewhere, 0) as outflow_elsewhere,
        customers.onboarding_date,
        attributes.annual_income
    from relationships
    left join profitability
        on
            relationships.customer_key = profitability.customer_key
            and relationships.month_start = profitability.month_start
    left join activity
        on
            relationships.customer_key = activity.customer_key
            and relationships.month_start = activity.month_start
    left join customers
        on relationships.customer_key = customers.customer_key
    left join attributes
        on relationships.customer_key = attributes.customer_key

),

-- what a customer's row of the month is built from, besides the months before it: a 64-bit
-- digest of the values (row_digest; DuckDB's hash: a tenth of md5's time over their text; two
-- different inputs give the same digest about once in 2^64 changed rows, and that row would
-- keep its old figures)
fingerprinted as (

    select
        monthly.*,
        {{ row_digest(fingerprinted_inputs) }}
            as inputs_fingerprint
    from monthly

),

{% if is_incremental() %}
    changed_months as (

        select coalesce(fingerprinted.month_start, kept.month_start) as month_start
        from fingerprinted
        full outer join {{ this }} as kept
            on
                fingerprinted.customer_key = kept.customer_key
                and fingerprinted.month_start = kept.month_start
        where fingerprinted.inputs_fingerprint is distinct from kept.inputs_fingerprint

    ),

    restart as (

        select
            least(
                coalesce((select min(changed_months.month_start) from changed_months), date '9999-12-31'),
                coalesce((select max(kept.month_start) from {{ this }} as kept), date '9999-12-31')
            ) as restart_date

    ),
{% else %}
    restart as (

        select date '0001-01-01' as restart_date

    ),
{% endif %}

-- the months the night's windows read: from the restart less the longest window
windowed_input as (

    select fingerprinted.*
    from fingerprinted
    cross join restart
    where
        fingerprinted.month_start
        >= greatest({{ months_before('restart.restart_date', lookback_months) }}, date '0001-01-01')

),

-- the last activity of the months before those (recency reaches back to the first month)
earlier_activity as (

    select
        fingerprinted.customer_key,
        max(fingerprinted.last_activity_date) as last_activity_date
    from fingerprinted
    cross join restart
    where
        fingerprinted.month_start
        < greatest({{ months_before('restart.restart_date', lookback_months) }}, date '0001-01-01')
    group by fingerprinted.customer_key

),

windowed as (

    select
        monthly.*,
        sum(monthly.complete_contribution) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('value_window_months') - 1 }} month preceding and current row
        ) + monthly.contribution - monthly.complete_contribution as contribution_12m,
        sum(monthly.complete_economic_profit) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('value_window_months') - 1 }} month preceding and current row
        ) + monthly.economic_profit - monthly.complete_economic_profit as economic_profit_12m,
        cast(sum(monthly.n_activities) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('rfm_window_months') - 1 }} month preceding and current row
        ) as bigint) as rfm_frequency,
        sum(monthly.complete_contribution) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('rfm_window_months') - 1 }} month preceding and current row
        ) + monthly.contribution - monthly.complete_contribution as rfm_monetary,
        sum(monthly.outflow_elsewhere) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('mgc_outflow_window_months') - 1 }} month preceding and current row
        ) as outflow_elsewhere_window,
        max(monthly.last_activity_date) over (
            partition by monthly.customer_key order by monthly.month_start
            rows between unbounded preceding and current row
        ) as last_activity_date_to_date,
        bool_or(monthly.is_salary_credited) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval 1 month preceding and current row
        ) as is_salary_recent
    from windowed_input as monthly

),

final as (

    select
        windowed.month_start,
        windowed.month_end,
        windowed.reference_date,
        windowed.customer_key,
        windowed.is_lapsed,
        windowed.lapsed_on,
        windowed.n_open_accounts,
        windowed.n_product_families,
        greatest({{ months_crossed('windowed.onboarding_date', 'windowed.reference_date') }}, 0)
            as tenure_months,
        windowed.n_activities,
        greatest(windowed.last_activity_date_to_date, earlier_activity.last_activity_date)
            as last_activity_date,
        {{ days_between(
            'greatest(windowed.last_activity_date_to_date, earlier_activity.last_activity_date)',
            'windowed.reference_date',
        ) }} as recency_days,
        windowed.is_salary_recent as is_salary_credited,
        cast(windowed.contribution_12m as decimal(18, 2)) as contribution_12m,
        cast(windowed.economic_profit_12m as decimal(18, 2)) as economic_profit_12m,
        windowed.rfm_frequency,
        cast(windowed.rfm_monetary as decimal(18, 2)) as rfm_monetary,
        cast(windowed.outflow_elsewhere_window as decimal(18, 2)) as outflow_elsewhere,
        windowed.annual_income,
        windowed.days_of_history,
        windowed.is_complete_month,
        -- lineage of the incremental build: what the row was built from, the month the night
        -- rebuilt every customer from, the run that wrote it
        windowed.inputs_fingerprint,
        restart.restart_date as rebuilt_from,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from windowed
    cross join restart
    left join earlier_activity
        on windowed.customer_key = earlier_activity.customer_key
    where windowed.month_start >= restart.restart_date

)

select * from final
{{ value_markers(columns=output_columns) }}
