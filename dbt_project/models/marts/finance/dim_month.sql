-- One row per calendar month of dim_date: the month dimension every monthly fact
-- (profitability, month-end balances, the loan book) joins on month_start.
-- is_complete: the balances delivered cover the whole month.
with dates as (

    select * from {{ ref('dim_date') }}

),

balances as (

    select * from {{ ref('fct_account_balance_daily') }}

),

coverage as (

    select
        min(balances.business_date) as first_business_date,
        max(balances.business_date) as last_business_date
    from balances

),

months as (

    select distinct dates.month_start
    from dates

),

final as (

    select
        months.month_start,
        cast(last_day(months.month_start) as date) as month_end,
        cast(day(last_day(months.month_start)) as integer) as days_in_month,
        cast(year(months.month_start) as integer) as year,
        cast(month(months.month_start) as integer) as month_of_year,
        strftime(months.month_start, '%Y-%m') as month_label,
        coalesce(
            months.month_start >= coverage.first_business_date
            and last_day(months.month_start) <= coverage.last_business_date,
            false
        ) as is_complete
    from months
    cross join coverage

)

select * from final
