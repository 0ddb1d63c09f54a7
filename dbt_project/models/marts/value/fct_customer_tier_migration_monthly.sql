-- Who moves up and down the pyramid: customers by their tier the month before and this month
-- (NEW and EXITED for relationships that start or end), with their contribution_12m in each
-- month (int_customer_tier_migration_monthly).
--
-- Incremental by month without a column of its own (macros/value.sql, value_mart_restart): a
-- night copies again the months that int_customer_tier_migration_monthly
-- rewrote in the same run (normally the current month only), and any month whose rows it does
-- not count as many as that table's. On Spark partitioned by month_start, a night overwriting the
-- partitions of its months and dropping the months gone (incremental_by_date, macros/engines.sql).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        post_hook=["{{ delete_value_mart_months_gone(ref('int_customer_tier_migration_monthly')) }}"],
        **incremental_by_date('month_start'),
    )
}}

with migration as (

    select * from {{ ref('int_customer_tier_migration_monthly') }}
    {% if is_incremental() %}
        where month_start >= {{ value_mart_restart(ref('int_customer_tier_migration_monthly'), 'sum(mart.customers)') }}
    {% endif %}

),

final as (

    select
        migration.month_start,
        migration.from_tier,
        migration.to_tier,
        count(*) as customers,
        cast(sum(migration.contribution_12m_before) as decimal(18, 2)) as contribution_12m_before,
        cast(sum(migration.contribution_12m_after) as decimal(18, 2)) as contribution_12m_after
    from migration
    group by migration.month_start, migration.from_tier, migration.to_tier

)

select * from final
