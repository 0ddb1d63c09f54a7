-- VALUE_TIER_DOWN and VALUE_TIER_UP: the customer moved down or up the value pyramid
-- (int_customer_tier_migration_monthly) between two months, ranked A, B, C, D, INACTIVE,
-- LAPSED from the top. Dated the last day of the month, and judged only once the data covers
-- that day (a month's tier is final at its end). measured_value and baseline_value are the
-- customer's contribution_12m after and before. Severity 2 down, 1 up.
{%- set tiers_from_the_bottom = ['LAPSED', 'INACTIVE', 'D', 'C', 'B', 'A'] %}
with migrations as (

    select * from {{ ref('int_customer_tier_migration_monthly') }}

),

loads as (

    select * from {{ ref('int_business_date_loads') }}

),

data_end as (

    select max(loads.business_date) as last_date
    from loads

),

ranked as (

    select
        migrations.*,
        cast({{ months_after('migrations.month_start', 1) }} - interval 1 day as date) as month_end,
        {{ list_position(tiers_from_the_bottom, 'migrations.from_tier') }} as from_rank,
        {{ list_position(tiers_from_the_bottom, 'migrations.to_tier') }} as to_rank
    from migrations

),

final as (

    select
        ranked.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        ranked.month_end as event_date,
        case when ranked.to_rank < ranked.from_rank then 'VALUE_TIER_DOWN' else 'VALUE_TIER_UP' end
            as event_type,
        case when ranked.to_rank < ranked.from_rank then 2 else 1 end as severity,
        cast(ranked.contribution_12m_after as decimal(18, 2)) as measured_value,
        cast(ranked.contribution_12m_before as decimal(18, 2)) as baseline_value
    from ranked
    cross join data_end
    where
        ranked.from_rank is not null
        and ranked.to_rank is not null
        and ranked.from_rank <> ranked.to_rank
        and ranked.month_end <= data_end.last_date

)

select * from final
