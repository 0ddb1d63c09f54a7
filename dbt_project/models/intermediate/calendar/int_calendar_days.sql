-- Every calendar day of every month the data touches: from the first day of the month of
-- the earliest fact date to the last day of the month of the latest one (read from staging
-- and the sessions: only dates are needed), flagged where the core delivered balances.
with balances as (

    select * from {{ ref('stg_core_banking__balances') }}

),

transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

sessions as (

    select * from {{ ref('int_web_events_sessionised') }}

),

calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

fact_dates as (

    select
        min(balances.business_date) as first_date,
        max(balances.business_date) as last_date
    from balances
    union all
    select
        min(transactions.posting_date) as first_date,
        max(transactions.posting_date) as last_date
    from transactions
    union all
    select
        min(loans.business_date) as first_date,
        max(loans.business_date) as last_date
    from loans
    union all
    select
        min(sessions.session_date) as first_date,
        max(sessions.session_date) as last_date
    from sessions
    union all
    select
        min(cast(calls.started_at as date)) as first_date,
        max(cast(calls.ended_at as date)) as last_date
    from calls

),

date_range as (

    select
        cast(date_trunc('month', min(fact_dates.first_date)) as date) as range_start,
        last_day(max(fact_dates.last_date)) as range_end
    from fact_dates

),

core_business_dates as (

    select distinct balances.business_date
    from balances

),

days as (

    select
        {{ days_from_to('date_range.range_start', 'date_range.range_end') }} as date_day
    from date_range
    where date_range.range_start is not null

),

final as (

    select
        days.date_day,
        cast(date_trunc('month', days.date_day) as date) as month_start,
        last_day(days.date_day) as month_end,
        cast(date_trunc('quarter', days.date_day) as date) as quarter_start,
        cast(year(days.date_day) as integer) as year,
        cast(quarter(days.date_day) as integer) as quarter_of_year,
        cast(month(days.date_day) as integer) as month_of_year,
        cast(day(days.date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('days.date_day') }} as integer) as iso_day_of_week,
        {{ day_name('days.date_day') }} as day_name,
        {{ iso_day_of_week('days.date_day') }} in (6, 7) as is_weekend,
        cast(day(last_day(days.date_day)) as integer) as days_in_month,
        core_business_dates.business_date is not null as is_core_business_date
    from days
    left join core_business_dates
        on days.date_day = core_business_dates.business_date

)

select * from final
