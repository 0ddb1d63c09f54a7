-- BALANCE_DROP: the customer's deposits (int_customer_deposits_daily) fell by at least var
-- balance_drop_share of what they were var balance_drop_window_days days before, from at
-- least var balance_drop_min_baseline. One event when the drop first holds, not one a day
-- while it lasts: the day before (the delivered business date before, whatever the customer
-- held on it) must not have met the rule; a customer without deposits on that day, or on the
-- day it is compared with, did not meet it. Severity 2 (3 when at least half again the share
-- is gone, or everything). On an incremental night it reads the deposits
-- of the events' window and the day before (customer_events_since), and those of the same days
-- the comparison's days earlier (customer_events_shifted), not the days between.
with deposits as (

    select * from {{ ref('int_customer_deposits_daily') }}
    where {{ customer_events_since('business_date', var('balance_drop_window_days') + 1) }}

),

-- the days judged, and the day before each (was the drop already there?)
judged as (

    select * from deposits
    where {{ customer_events_since('deposits.business_date', 1) }}

),

-- what they are compared with: the days var balance_drop_window_days before them
earlier as (

    select * from deposits
    where {{ customer_events_shifted('deposits.business_date', var('balance_drop_window_days'), 1) }}

),

compared as (

    select
        judged.customer_key,
        judged.business_date,
        judged.deposit_balance,
        earlier.deposit_balance as baseline_balance,
        earlier.deposit_balance >= {{ var('balance_drop_min_baseline') }}
        and (earlier.deposit_balance - judged.deposit_balance)
        >= {{ var('balance_drop_share') }} * earlier.deposit_balance as is_drop
    from judged
    inner join earlier
        on
            judged.customer_key = earlier.customer_key
            and earlier.business_date = judged.business_date - {{ var('balance_drop_window_days') }}

),

-- each delivered date and the one before it. Not the customer's previous compared day: a
-- customer whose deposits skip a day (every deposit account closed, then a new one) would be
-- judged against a day a night need not read, and a night and a full refresh would disagree.
delivered_days as (

    select
        dates.business_date,
        lag(dates.business_date) over (order by dates.business_date) as previous_date
    from (select distinct judged.business_date from judged) as dates

),

first_days as (

    select
        compared.*,
        coalesce(day_before.is_drop, false) as was_drop
    from compared
    inner join delivered_days
        on compared.business_date = delivered_days.business_date
    left join compared as day_before
        on
            compared.customer_key = day_before.customer_key
            and delivered_days.previous_date = day_before.business_date

),

final as (

    select
        first_days.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        first_days.business_date as event_date,
        'BALANCE_DROP' as event_type,
        case
            when (first_days.baseline_balance - first_days.deposit_balance)
                >= least(1.5 * {{ var('balance_drop_share') }}, 1) * first_days.baseline_balance then 3
            else 2
        end as severity,
        cast(first_days.deposit_balance as decimal(18, 2)) as measured_value,
        cast(first_days.baseline_balance as decimal(18, 2)) as baseline_value
    from first_days
    where
        first_days.is_drop
        and not first_days.was_drop
        -- (the day before the window is judged from the window's reads: not an event of its own)
        and {{ customer_events_since('first_days.business_date') }}

)

select * from final
