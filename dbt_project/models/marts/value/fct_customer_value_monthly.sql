-- One row per customer with a relationship in a month (prospects never): the loyalty x value
-- pyramid, the value class and the Pareto curve (int_customer_value_monthly, whose header
-- and docs/customer_value.md give the rules and their settings).
--
-- Incremental by month without a column of its own (macros/value.sql, value_mart_restart): a
-- night copies again the months that int_customer_value_monthly
-- rewrote in the same run (normally the current month only), and any month whose rows it does
-- not count as many as that table's. On Spark partitioned by month_start, a night overwriting the
-- partitions of its months and dropping the months gone (incremental_by_date, macros/engines.sql).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        post_hook=["{{ delete_value_mart_months_gone(ref('int_customer_value_monthly')) }}"],
        **incremental_by_date('month_start'),
    )
}}

with customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}
    {% if is_incremental() %}
        where month_start >= {{ value_mart_restart(ref('int_customer_value_monthly')) }}
    {% endif %}

),

final as (

    select
        customer_value.month_start,
        customer_value.customer_key,
        customer_value.reference_date,
        customer_value.contribution_12m,
        customer_value.economic_profit_12m,
        customer_value.value_percentile,
        customer_value.loyalty_score,
        customer_value.value_tier,
        customer_value.value_class,
        cast(customer_value.pareto_rank as bigint) as pareto_rank,
        customer_value.cumulative_contribution_share,
        customer_value.is_complete_month,
        cast(customer_value.tenure_months as bigint) as tenure_months,
        cast(customer_value.n_product_families as bigint) as n_product_families,
        cast(customer_value.recency_days as bigint) as recency_days,
        customer_value.is_salary_credited,
        customer_value.lapsed_on
    from customer_value

)

select * from final
