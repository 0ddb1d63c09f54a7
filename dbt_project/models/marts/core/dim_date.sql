-- Every calendar day of every month the data touches (int_calendar_days).
with calendar_days as (

    select * from {{ ref('int_calendar_days') }}

),

final as (

    select
        calendar_days.date_day,
        calendar_days.month_start,
        calendar_days.month_end,
        calendar_days.quarter_start,
        calendar_days.year,
        calendar_days.quarter_of_year,
        calendar_days.month_of_year,
        calendar_days.day_of_month,
        calendar_days.iso_day_of_week,
        calendar_days.day_name,
        calendar_days.is_weekend,
        calendar_days.days_in_month,
        calendar_days.is_core_business_date
    from calendar_days

)

select * from final
