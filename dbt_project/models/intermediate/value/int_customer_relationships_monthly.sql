-- Every customer with a relationship in a month: a holder with a share (PRIMARY or JOINT,
-- int_account_holders_weighted) of an account opened by the month's end and not closed
-- before the lapse window (var lapsed_months) reaching back from it. Prospects hold nothing
-- and are never here. Per customer and month: accounts and product families open at the
-- reference date (the month's end, or the latest core business date in the current month),
-- and the last closing date when nothing is open any more. is_complete_month: the core's
-- balances cover the whole month (dim_month's rule); days_of_history: business days the data
-- covers up to the reference date.
with calendar_days as (

    select * from {{ ref('int_calendar_days') }}

),

months as (

    select distinct
        calendar_days.month_start,
        calendar_days.month_end
    from calendar_days

),

coverage as (

    select min(calendar_days.date_day) as first_business_date
    from calendar_days
    where calendar_days.is_core_business_date

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}
    where allocation_weight > 0

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

held_accounts as (

    select distinct
        account_holders.customer_key,
        accounts.account_id,
        accounts.product_family,
        accounts.open_date,
        accounts.close_date
    from account_holders
    inner join accounts
        on account_holders.account_id = accounts.account_id

),

reference_dates as (

    select
        months.month_start,
        months.month_end,
        least(months.month_end, as_of.as_of_date) as reference_date,
        coalesce(
            months.month_start >= coverage.first_business_date and months.month_end <= as_of.as_of_date, false
        )
            as is_complete_month,
        date_diff('day', coverage.first_business_date, least(months.month_end, as_of.as_of_date)) + 1
            as days_of_history
    from months
    cross join as_of
    cross join coverage
    where months.month_start <= as_of.as_of_date

),

customer_months as (

    select
        reference_dates.month_start,
        reference_dates.month_end,
        reference_dates.reference_date,
        reference_dates.is_complete_month,
        reference_dates.days_of_history,
        held_accounts.customer_key,
        count(*) filter (
            where held_accounts.close_date is null
            or held_accounts.close_date > reference_dates.reference_date
        ) as n_open_accounts,
        count(distinct held_accounts.product_family) filter (
            where held_accounts.close_date is null
            or held_accounts.close_date > reference_dates.reference_date
        ) as n_product_families,
        max(held_accounts.close_date) as last_close_date
    from reference_dates
    inner join held_accounts
        on
            reference_dates.reference_date >= held_accounts.open_date
            and (
                held_accounts.close_date is null
                or held_accounts.close_date
                > reference_dates.reference_date - to_months({{ var('lapsed_months') }})
            )
    group by all

),

final as (

    select
        customer_months.month_start,
        customer_months.month_end,
        customer_months.reference_date,
        customer_months.is_complete_month,
        customer_months.days_of_history,
        customer_months.customer_key,
        customer_months.n_open_accounts,
        customer_months.n_product_families,
        case when customer_months.n_open_accounts = 0 then customer_months.last_close_date end
            as lapsed_on,
        customer_months.n_open_accounts = 0 as is_lapsed
    from customer_months

)

select * from final
