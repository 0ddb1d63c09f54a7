-- Who moves up and down the pyramid: customers by their tier the month before and this month
-- (NEW and EXITED for relationships that start or end), with their contribution_12m in each
-- month (int_customer_tier_migration_monthly).
with migration as (

    select * from {{ ref('int_customer_tier_migration_monthly') }}

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
