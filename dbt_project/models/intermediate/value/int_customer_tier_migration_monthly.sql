-- How customers move through the pyramid: every customer of a month with its tier the month
-- before and this month. NEW: no row the month before (a new relationship; in the first month
-- of the data, every customer: the warehouse knows no month before); EXITED: a row the month
-- before, none now (lapsed longer than var lapsed_months). contribution_12m before and after
-- are the customer's in each month (0 on the side where the customer has no row).
with customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}

),

month_range as (

    select
        min(customer_value.month_start) as first_month_start,
        max(customer_value.month_start) as last_month_start
    from customer_value

),

before_month as (

    select
        cast(customer_value.month_start + interval 1 month as date) as month_start,
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

    select pairs.*
    from pairs
    cross join month_range
    where
        pairs.month_start >= month_range.first_month_start
        and pairs.month_start <= month_range.last_month_start

)

select * from final
