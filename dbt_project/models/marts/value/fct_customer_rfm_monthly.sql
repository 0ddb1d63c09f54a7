-- One row per customer with a relationship in a month: recency, frequency and monetary value,
-- their quintile scores, the cell and the named segment (int_customer_rfm_monthly, whose
-- header and docs/customer_value.md give the rules and windows).
--
-- Incremental by month without a column of its own (macros/value.sql, value_mart_restart): a
-- night copies again the months that int_customer_rfm_monthly
-- rewrote in the same run (normally the current month only), and any month whose rows it does
-- not count as many as that table's. On Spark partitioned by month_start, a night overwriting the
-- partitions of its months and dropping the months gone (incremental_by_date, macros/engines.sql).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        post_hook=["{{ delete_value_mart_months_gone(ref('int_customer_rfm_monthly')) }}"],
        **incremental_by_date('month_start'),
    )
}}

with rfm as (

    select * from {{ ref('int_customer_rfm_monthly') }}
    {% if is_incremental() %}
        where month_start >= {{ value_mart_restart(ref('int_customer_rfm_monthly')) }}
    {% endif %}

),

final as (

    select
        rfm.month_start,
        rfm.customer_key,
        cast(rfm.recency_days as bigint) as recency_days,
        cast(rfm.frequency as bigint) as frequency,
        rfm.monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_cell,
        rfm.rfm_segment
    from rfm

)

select * from final
