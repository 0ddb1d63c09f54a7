-- LARGE_DEPOSIT and LARGE_WITHDRAWAL: a day on which the customer's own money moved in (or
-- out) far beyond the customer's habit. Customer-initiated postings only (channel not
-- SYSTEM, not reversed): deposits and transfers in, withdrawals and transfers out. The
-- baseline is the customer's average daily flow in that direction over the var
-- large_flow_baseline_days days before (days without a posting count as zero; before the
-- data covers the whole window, over the days it covers). The day is an event when its flow
-- is at least var large_flow_multiple times the baseline and at least var
-- large_flow_min_amount, and the data covers at least var large_flow_min_history_days days
-- before it (a new customer has no habit yet). Severity 2 (3 for a withdrawal twice over the
-- multiple; 1 for a deposit). On an incremental night it reads the postings of the events'
-- window less the baseline's days (customer_events_since), and sums baselines only for the
-- customers with a day in the window that can be large; the ledger's first date is the whole
-- ledger's.
with postings as (

    select * from {{ ref('int_transactions_flagged') }}

),

ledger as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

first_date as (

    select min(ledger.posting_date) as first_posting_date
    from ledger

),

-- the customer's own money moving: customer-initiated postings, by direction
flows as (

    select
        postings.customer_key,
        postings.posting_date,
        case
            when postings.txn_type in ('DEPOSIT', 'TRANSFER_IN') then 'LARGE_DEPOSIT'
            else 'LARGE_WITHDRAWAL'
        end as event_type,
        abs(postings.amount) as flow_amount
    from postings
    where
        postings.customer_key is not null
        and postings.channel <> 'SYSTEM'
        and not postings.is_reversed
        and postings.txn_type in ('DEPOSIT', 'TRANSFER_IN', 'WITHDRAWAL', 'TRANSFER_OUT')
        and {{ customer_events_since('postings.posting_date', var('large_flow_baseline_days')) }}

),

-- the customers with a day that can be large in the events' window (every event is at least
-- var large_flow_min_amount): only their flows are summed into baselines (at 100,000 customers
-- a night's window of six days holds about 5,300 of them; a full refresh, every customer who ever
-- had one)
candidates as (

    select distinct window_days.customer_key
    from (
        select
            flows.customer_key,
            flows.posting_date,
            flows.event_type
        from flows
        where {{ customer_events_since('flows.posting_date') }}
        group by all
        having sum(flows.flow_amount) >= {{ var('large_flow_min_amount') }}
    ) as window_days

),

daily_flows as (

    select
        flows.customer_key,
        flows.posting_date,
        flows.event_type,
        sum(flows.flow_amount) as flow_amount
    from flows
    where flows.customer_key in (select candidates.customer_key from candidates)
    group by all

),

with_baseline as (

    select
        daily_flows.*,
        least(
            {{ days_between('first_date.first_posting_date', 'daily_flows.posting_date') }},
            {{ var('large_flow_baseline_days') }}
        ) as baseline_days,
        coalesce(
            sum(daily_flows.flow_amount) over (
                partition by daily_flows.customer_key, daily_flows.event_type
                order by daily_flows.posting_date
                range between interval {{ var('large_flow_baseline_days') }} day preceding
                and interval 1 day preceding
            ),
            0
        ) as baseline_total
    from daily_flows
    cross join first_date

),

final as (

    select
        with_baseline.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        with_baseline.posting_date as event_date,
        with_baseline.event_type,
        case
            when with_baseline.event_type = 'LARGE_DEPOSIT' then 1
            when with_baseline.flow_amount >= {{ decimal_quotient(
                    '2 * ' ~ var('large_flow_multiple') ~ ' * with_baseline.baseline_total',
                    'with_baseline.baseline_days',
                ) }} then 3
            else 2
        end as severity,
        cast(with_baseline.flow_amount as decimal(18, 2)) as measured_value,
        cast(
            {{ decimal_quotient('with_baseline.baseline_total', 'with_baseline.baseline_days') }}
            as decimal(18, 2)
        ) as baseline_value
    from with_baseline
    where
        {{ customer_events_since('with_baseline.posting_date') }}
        and with_baseline.baseline_days >= {{ var('large_flow_min_history_days') }}
        and with_baseline.flow_amount >= {{ var('large_flow_min_amount') }}
        and with_baseline.flow_amount >= {{ decimal_quotient(
            var('large_flow_multiple') ~ ' * with_baseline.baseline_total', 'with_baseline.baseline_days'
        ) }}

)

select * from final
