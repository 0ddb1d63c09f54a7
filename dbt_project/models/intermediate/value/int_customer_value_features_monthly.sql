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
        relationships.*,
        coalesce(profitability.contribution, 0) as contribution,
        coalesce(profitability.economic_profit, 0) as economic_profit,
        case when relationships.is_complete_month then coalesce(profitability.contribution, 0) else 0 end
            as complete_contribution,
        case when relationships.is_complete_month then coalesce(profitability.economic_profit, 0) else 0 end
            as complete_economic_profit,
        coalesce(activity.n_activities, 0) as n_activities,
        activity.last_activity_date,
        coalesce(activity.is_salary_credited, false) as is_salary_credited,
        coalesce(activity.outflow_elsewhere, 0) as outflow_elsewhere
    from relationships
    left join profitability
        on
            relationships.customer_key = profitability.customer_key
            and relationships.month_start = profitability.month_start
    left join activity
        on
            relationships.customer_key = activity.customer_key
            and relationships.month_start = activity.month_start

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
        sum(monthly.n_activities) over (
            partition by monthly.customer_key order by monthly.month_start
            range between interval {{ var('rfm_window_months') - 1 }} month preceding and current row
        ) as rfm_frequency,
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
    from monthly

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
        greatest(date_diff('month', customers.onboarding_date, windowed.reference_date), 0) as tenure_months,
        windowed.n_activities,
        windowed.last_activity_date_to_date as last_activity_date,
        date_diff('day', windowed.last_activity_date_to_date, windowed.reference_date) as recency_days,
        windowed.is_salary_recent as is_salary_credited,
        cast(windowed.contribution_12m as decimal(18, 2)) as contribution_12m,
        cast(windowed.economic_profit_12m as decimal(18, 2)) as economic_profit_12m,
        windowed.rfm_frequency,
        cast(windowed.rfm_monetary as decimal(18, 2)) as rfm_monetary,
        cast(windowed.outflow_elsewhere_window as decimal(18, 2)) as outflow_elsewhere,
        attributes.annual_income,
        windowed.days_of_history,
        windowed.is_complete_month
    from windowed
    left join customers
        on windowed.customer_key = customers.customer_key
    left join attributes
        on windowed.customer_key = attributes.customer_key

)

select * from final
