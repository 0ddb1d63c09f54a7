-- One row per calendar month of the calendar (int_calendar_days): the month dimension every
-- monthly fact (profitability, month-end balances, the loan book) joins on month_start.
-- is_complete: the balances delivered cover the whole month (its first and last day lie
-- between the first and the last core business date).
with calendar_days as (

    select * from {{ ref('int_calendar_days') }}

),

coverage as (

    select
        min(calendar_days.date_day) filter (where calendar_days.is_core_business_date) as first_business_date,
        max(calendar_days.date_day) filter (where calendar_days.is_core_business_date) as last_business_date
    from calendar_days

),

months as (

    select distinct calendar_days.month_start
    from calendar_days

),

final as (

    select
        months.month_start,
        cast(last_day(months.month_start) as date) as month_end,
        cast(day(last_day(months.month_start)) as integer) as days_in_month,
        cast(year(months.month_start) as integer) as year,
        cast(month(months.month_start) as integer) as month_of_year,
        {{ year_month_label('months.month_start') }} as month_label,
        coalesce(
            months.month_start >= coverage.first_business_date
            and last_day(months.month_start) <= coverage.last_business_date,
            false
        ) as is_complete
    from months
    cross join coverage

)

select * from final
