-- Every customer with a relationship in a month: a holder with a share (PRIMARY or JOINT,
-- int_account_holders_weighted) of an account opened by the month's end and not closed
-- before the lapse window (var lapsed_months) reaching back from it. Prospects hold nothing
-- and are never here. Per customer and month: accounts and product families open at the
-- reference date (the month's end, or the latest core business date in the current month),
-- and the last closing date when nothing is open any more. is_complete_month: the core's
-- balances cover the whole month (dim_month's rule); days_of_history: business days the data
-- covers up to the reference date.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's. A customer's row of a month is built from two things only: the calendar (the
-- month, the reference date, the first core business date) and the accounts the customer holds
-- today with their product family and open and close dates (today's states apply to every
-- month). So a night rebuilds
--   - every customer's months from the latest month the table holds (the current month: its
--     reference date moves every night, and once a month starts the one before becomes
--     complete), or from the first month when the first core business date moved;
--   - all the months of a customer whose holdings changed (`holdings_fingerprint`, a 64-bit
--     digest of them, differs from the one its rows keep: an account opened, closed, re-dated,
--     a holder added or removed, a re-keyed customer), or who is new or gone.
{#- The columns of the final select, in its order: the markers (value_markers) name them; and
    what of an account held holdings_fingerprint digests. -#}
{%- set output_columns = [
    'month_start', 'month_end', 'reference_date', 'is_complete_month', 'days_of_history', 'customer_key',
    'n_open_accounts', 'n_product_families', 'lapsed_on', 'is_lapsed', 'holdings_fingerprint', 'rebuilt_from',
    'built_in_run',
] %}
{%- set holdings_fields = [
    'held_accounts.account_id', 'held_accounts.product_family', 'held_accounts.open_date',
    'held_accounts.close_date',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('customer_key', 'month_start'),
    )
}}

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

-- what all of a customer's months are built from, besides the calendar
holdings as (

    select
        held_accounts.customer_key,
        {{ ordered_list_digest(holdings_fields) }} as holdings_fingerprint
    from held_accounts
    group by held_accounts.customer_key

),

{% if is_incremental() %}
    kept_calendar as (

        select
            max(kept.month_start) as last_month_start,
            min(kept.reference_date - cast(kept.days_of_history - 1 as integer)) as first_business_date
        from {{ this }} as kept

    ),

    restart as (

        select
            case
                when kept_calendar.first_business_date is distinct from coverage.first_business_date
                    then date '0001-01-01'
                else
                    least(
                        coalesce(kept_calendar.last_month_start, date '0001-01-01'),
                        cast(date_trunc('month', as_of.as_of_date) as date)
                    )
            end as restart_date
        from kept_calendar
        cross join coverage
        cross join as_of

    ),

    -- customers whose holdings are not those their rows were built from, or who gained or lost
    -- every row: all their months are rebuilt
    rebuilt_customers as (

        {{ keys_with_changed_fingerprint('customer_key', 'holdings_fingerprint', 'holdings', new_keys=true) }}

    ),
{% else %}
    {{ full_refresh_restart('rebuilt_customers', 'customer_key') }}
{% endif %}

reference_dates as (

    select
        months.month_start,
        months.month_end,
        least(months.month_end, as_of.as_of_date) as reference_date,
        coalesce(
            months.month_start >= coverage.first_business_date and months.month_end <= as_of.as_of_date, false
        )
            as is_complete_month,
        {{ days_between('coverage.first_business_date', 'least(months.month_end, as_of.as_of_date)') }} + 1
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
                > {{ months_before('reference_dates.reference_date', var('lapsed_months')) }}
            )
    -- from the restart on, and every month of the customers rebuilt whole
    where
        reference_dates.month_start >= (select restart.restart_date from restart)
        or held_accounts.customer_key in (select rebuilt_customers.customer_key from rebuilt_customers)
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
        customer_months.n_open_accounts = 0 as is_lapsed,
        -- lineage of the incremental build: what the customer's rows were built from, the
        -- month the night rebuilt it from (the first for a customer rebuilt whole), the run
        holdings.holdings_fingerprint,
        case
            when
                customer_months.customer_key in (select rebuilt_customers.customer_key from rebuilt_customers)
                then date '0001-01-01'
            else (select restart.restart_date from restart)
        end as rebuilt_from,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from customer_months
    inner join holdings
        on customer_months.customer_key = holdings.customer_key

)

select * from final
{{ value_markers('rebuilt_customers', output_columns) }}
