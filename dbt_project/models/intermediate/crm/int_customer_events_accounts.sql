-- Events of an account, from the daily account snapshots and balances:
--   DORMANCY_START: the account's status became DORMANT (the snapshot before showed another
--     status). measured_value is the balance that day. Severity 2.
--   TD_MATURING: a time deposit (product_type TIME_DEPOSIT) is within var
--     td_maturity_notice_days days of its maturity_date as that day's snapshot says: dated the
--     first delivered day (a snapshot and a balance) it is, normally exactly that many days
--     ahead; once for each maturity date, so a deposit renewed for another term matures again.
--     Not today's maturity date: once a deposit is renewed it would move every earlier notice
--     out of reach, and a full refresh would lose the events a night found before the renewal.
--     measured_value is its balance that day, baseline_value its days to maturity. Severity 2.
-- On an incremental night it reads the snapshots of the events' window and the day before, and
-- the balances and maturity dates from the notice's days before it (customer_events_since).
with account_snapshots as (

    select * from {{ ref('stg_core_banking__accounts') }}
    where {{ customer_events_since('snapshot_date', 1) }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

balances as (

    select * from {{ ref('int_account_balances_keyed') }}
    where {{ customer_events_since('business_date', var('td_maturity_notice_days')) }}

),

-- each day's maturity date of an account that has one, as that day's snapshot says
maturities as (

    select
        snapshots.account_id,
        snapshots.snapshot_date,
        snapshots.maturity_date
    from {{ ref('stg_core_banking__accounts') }} as snapshots
    where
        {{ customer_events_since('snapshots.snapshot_date', var('td_maturity_notice_days')) }}
        and snapshots.maturity_date is not null

),

-- the accounts dormant on a day read: only their snapshots can start a dormancy, and ordering
-- theirs alone spares sorting every account's every day (at 100,000 customers and a night's 41
-- days, 2.3 s of the rule against 0.5)
dormant_accounts as (

    select distinct account_snapshots.account_id
    from account_snapshots
    where account_snapshots.status = 'DORMANT'

),

status_changes as (

    select
        account_snapshots.account_id,
        account_snapshots.snapshot_date,
        account_snapshots.status,
        lag(account_snapshots.status) over (
            partition by account_snapshots.account_id order by account_snapshots.snapshot_date
        ) as previous_status
    from account_snapshots
    where account_snapshots.account_id in (select dormant_accounts.account_id from dormant_accounts)

),

dormancy as (

    select
        accounts.customer_key,
        status_changes.account_id,
        status_changes.snapshot_date as event_date,
        'DORMANCY_START' as event_type,
        2 as severity,
        cast(balances.ledger_balance as decimal(18, 2)) as measured_value,
        cast(null as decimal(18, 2)) as baseline_value
    from status_changes
    inner join accounts
        on status_changes.account_id = accounts.account_id
    left join balances
        on
            status_changes.account_id = balances.account_id
            and status_changes.snapshot_date = balances.business_date
    where
        status_changes.status = 'DORMANT'
        and status_changes.previous_status <> 'DORMANT'

),

maturing as (

    select
        accounts.customer_key,
        balances.account_id,
        balances.business_date as event_date,
        'TD_MATURING' as event_type,
        2 as severity,
        cast(balances.ledger_balance as decimal(18, 2)) as measured_value,
        cast(
            {{ days_between('balances.business_date', 'maturities.maturity_date') }} as decimal(18, 2)
        ) as baseline_value
    from balances
    inner join maturities
        on
            balances.account_id = maturities.account_id
            and balances.business_date = maturities.snapshot_date
    inner join accounts
        on balances.account_id = accounts.account_id
    where
        accounts.product_type = 'TIME_DEPOSIT'
        and balances.business_date between maturities.maturity_date - {{ var('td_maturity_notice_days') }}
        and maturities.maturity_date
    qualify
        row_number() over (
            partition by balances.account_id, maturities.maturity_date order by balances.business_date
        ) = 1

),

final as (

    select * from dormancy
    union all
    select * from maturing

)

select * from final
