-- A failure means the interest the warehouse accrues (interest_income on loans and cards,
-- interest_expense on deposits, in any profitability mart) is further from the interest
-- the bank booked than the configured share (share_tolerance of [rules.interest_reconciliation]
-- in the gates configuration, which also sets the test's severity): balances, rates or day counts in the
-- warehouse do not describe the bank's book, and net interest income, which is the same
-- accrual against the FTP curve, cannot be trusted for the month. The booked interest of a
-- month is recomputed from the staged feeds, independently of the marts: the month's
-- INTEREST_CREDIT and INTEREST_CHARGE postings not reversed, plus the change of the
-- balances feed's accrued_interest from the previous month end to this one (interest
-- accrued but not yet posted), by the balance side of the account's product; income is
-- the assets' (sign turned to positive), expense the liabilities'. Compared for complete
-- months after the first month of the data (whose opening accrual is unknown), where the
-- ledger booked interest on that side at all.
{{ config(severity = gate_severity('interest_reconciliation')) }}

with ledger as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

feed_balances as (

    select * from {{ ref('stg_core_banking__balances') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

reversed_txn_ids as (

    select distinct ledger.reversed_txn_id as txn_id
    from ledger
    where
        ledger.txn_type = 'REVERSAL'
        and ledger.reversed_txn_id is not null

),

month_ends as (

    select
        cast(date_trunc('month', feed_balances.business_date) as date) as month_start,
        min(feed_balances.business_date) as first_date,
        max(feed_balances.business_date) as month_end_date
    from feed_balances
    group by cast(date_trunc('month', feed_balances.business_date) as date)

),

data_span as (

    select
        min(month_ends.month_start) as first_month_start,
        max(month_ends.month_start) as last_month_start
    from month_ends

),

-- months the balances feed covers whole (a later month was delivered, or the month's last
-- day was), after the first month of the data
reconciled_months as (

    select month_ends.month_start
    from month_ends
    cross join data_span
    where
        (
            month_ends.month_end_date = last_day(month_ends.month_start)
            or month_ends.month_start < data_span.last_month_start
        )
        and month_ends.month_start > data_span.first_month_start

),

posted as (

    select
        cast(date_trunc('month', ledger.posting_date) as date) as month_start,
        accounts.balance_side,
        sum(ledger.amount) as amount
    from ledger
    inner join accounts
        on ledger.account_id = accounts.account_id
    where
        ledger.txn_type in ('INTEREST_CREDIT', 'INTEREST_CHARGE')
        and ledger.txn_id not in (select reversed_txn_ids.txn_id from reversed_txn_ids)
    group by all

),

accrued as (

    select
        month_ends.month_start,
        accounts.balance_side,
        sum(feed_balances.accrued_interest) as accrued_interest
    from feed_balances
    inner join month_ends
        on feed_balances.business_date = month_ends.month_end_date
    inner join accounts
        on feed_balances.account_id = accounts.account_id
    group by all

),

balance_sides as (

    select {{ unnest_columns([('balance_side', ["'ASSET'", "'LIABILITY'"])]) }}

),

sides as (

    select
        month_ends.month_start,
        balance_sides.balance_side
    from month_ends
    cross join balance_sides

),

booked as (

    select
        sides.month_start,
        sides.balance_side,
        coalesce(posted.amount, 0) as posted_interest,
        coalesce(accrued.accrued_interest, 0)
        - coalesce(lag(accrued.accrued_interest) over side_history, 0) as accrual_change
    from sides
    left join posted
        on
            sides.month_start = posted.month_start
            and sides.balance_side = posted.balance_side
    left join accrued
        on
            sides.month_start = accrued.month_start
            and sides.balance_side = accrued.balance_side
    window side_history as (partition by sides.balance_side order by sides.month_start)

),

booked_by_month as (

    select
        booked.month_start,
        -sum(booked.posted_interest + booked.accrual_change) filter (where booked.balance_side = 'ASSET')
            as interest_income,
        sum(booked.posted_interest + booked.accrual_change) filter (where booked.balance_side = 'LIABILITY')
            as interest_expense,
        count(*) filter (where booked.balance_side = 'ASSET' and booked.posted_interest != 0) > 0
            as books_income,
        count(*) filter (where booked.balance_side = 'LIABILITY' and booked.posted_interest != 0) > 0
            as books_expense
    from booked
    inner join reconciled_months
        on booked.month_start = reconciled_months.month_start
    group by booked.month_start

),

reported_income as (

    {{ profitability_marts_monthly_sum('interest_income') }}

),

reported_expense as (

    {{ profitability_marts_monthly_sum('interest_expense') }}

),

compared as (

    select
        reported_income.view_name,
        booked_by_month.month_start,
        'interest_income' as measure,
        booked_by_month.interest_income as booked,
        reported_income.interest_income as reported
    from booked_by_month
    left join reported_income
        on booked_by_month.month_start = reported_income.month_start
    where booked_by_month.books_income

    union all

    select
        reported_expense.view_name,
        booked_by_month.month_start,
        'interest_expense' as measure,
        booked_by_month.interest_expense as booked,
        reported_expense.interest_expense as reported
    from booked_by_month
    left join reported_expense
        on booked_by_month.month_start = reported_expense.month_start
    where booked_by_month.books_expense

)

select
    compared.*,
    compared.reported - compared.booked as difference,
    {{ gate_share_tolerance('interest_reconciliation') }} as tolerance_share
from compared
where
    compared.reported is null
    or abs(compared.reported - compared.booked)
    > abs(compared.booked) * {{ gate_share_tolerance('interest_reconciliation') }}
