-- BALANCE_DROP: the customer's deposits (int_customer_deposits_daily) fell by at least var
-- balance_drop_share of what they were var balance_drop_window_days days before, from at
-- least var balance_drop_min_baseline. One event when the drop first holds, not one a day
-- while it lasts: the day before must not have met the rule. Severity 2 (3 when at least
-- half again the share is gone, or everything). On an incremental night it reads the deposits
-- of the events' window less the comparison's days and the day before (customer_events_since).
with deposits as (

    select * from {{ ref('int_customer_deposits_daily') }}
    where {{ customer_events_since('business_date', var('balance_drop_window_days') + 1) }}

),

compared as (

    select
        deposits.customer_key,
        deposits.business_date,
        deposits.deposit_balance,
        earlier.deposit_balance as baseline_balance,
        earlier.deposit_balance >= {{ var('balance_drop_min_baseline') }}
        and (earlier.deposit_balance - deposits.deposit_balance)
        >= {{ var('balance_drop_share') }} * earlier.deposit_balance as is_drop
    from deposits
    inner join deposits as earlier
        on
            deposits.customer_key = earlier.customer_key
            and earlier.business_date = deposits.business_date - {{ var('balance_drop_window_days') }}

),

first_days as (

    select
        compared.*,
        coalesce(
            lag(compared.is_drop) over (partition by compared.customer_key order by compared.business_date),
            false
        ) as was_drop
    from compared

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

)

select * from final
