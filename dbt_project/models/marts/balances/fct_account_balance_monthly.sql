-- Month-end balance snapshot of every account: one row for every account with a balance
-- delivered in the month, holding its balance on the month's last business date (the last
-- date of the month the balances feed delivered; the latest date for the current month),
-- with the month's average daily balance. An account the feed no longer delivers on that
-- date (closed or matured during the month: the feed holds open accounts only) shows a zero
-- balance and is_open_at_month_end = false, so month-end totals are the balances feed of
-- that date and nothing else (tests/assert_month_end_balances_reconcile_to_feed.sql).
-- Kept for every month of the lake's history: the lake keeps every delivery (the daily
-- snapshot beside it keeps only a window, fct_account_balance_daily_recent).
--
-- Incremental by month (macros/incremental.sql), so that a night reads the balances of the
-- months it changes, not the whole history (a year of it made this table the night's slowest
-- to grow, docs/performance.md): it rebuilds every month from the month of the earliest date
-- that a load newer than this table's latest load_id delivered (or re-delivered) balances
-- for, and from the month of the earliest calendar day int_account_balances_daily_filled
-- wrote anew (a delivery after silent days fills the days of the month before: its average
-- balance and days on book change). A month is replaced whole (delete+insert on month_start),
-- so its month end moves with a new latest date and a corrected delivery replaces what the
-- month held; a month a re-delivery left without balances is deleted (pre-hook). The account's
-- customer and product are its current ones on every month, as a full refresh gives them: a
-- re-keyed account's older months are updated (post-hook). The average balance of a month
-- depends on its balances alone, which only a delivery of the month changes.
-- depends_on: {{ ref('int_accounts_resolved') }} (post-hooks)
-- depends_on: {{ ref('int_account_balances_daily_filled') }} (the restart)
{# On Spark partitioned by month_start, a night overwriting the partitions of its months
   (incremental_by_date, macros/engines.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_account_balances_keyed'), 'month_start', 'business_date', grain='month') }}",
        ],
        post_hook=[
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id', ['product_code']) }}",
        ],
        **incremental_by_date('month_start'),
    )
}}

with balances as (

    select * from {{ ref('int_account_balances_keyed') }}
    {% if is_incremental() %}
        where business_date >= cast(date_trunc('month', least(
            {{ reprocess_from(ref('int_account_balances_keyed'), 'business_date', system='core_banking') }},
            {{ reprocess_from(ref('int_account_balances_daily_filled'), 'balance_date', load_column='as_of_load_id') }}
        )) as date)
    {% endif %}

),

interest as (

    select * from {{ ref('int_account_interest_monthly') }}

),

month_ends as (

    select
        cast(date_trunc('month', balances.business_date) as date) as month_start,
        max(balances.business_date) as month_end_date
    from balances
    group by cast(date_trunc('month', balances.business_date) as date)

),

-- each account's last delivered day in each month
account_last_days as (

    select
        balances.account_id,
        cast(date_trunc('month', balances.business_date) as date) as month_start,
        max(balances.business_date) as business_date,
        max(balances._load_id) as load_id
    from balances
    group by balances.account_id, cast(date_trunc('month', balances.business_date) as date)

),

-- the account as last delivered in the month (its customer, product and currency), its rows
-- read whole on that day only: ranking every day's whole rows sorted the whole history
-- (docs/performance.md); the rank keeps one row per account and month, as before
account_months as (

    select
        account_last_days.month_start,
        balances.account_id,
        balances.customer_key,
        balances.product_code,
        balances.currency,
        account_last_days.load_id
    from balances
    inner join account_last_days
        on
            balances.account_id = account_last_days.account_id
            and balances.business_date = account_last_days.business_date
    qualify
        row_number() over (
            partition by balances.account_id, account_last_days.month_start
            order by balances.business_date desc
        ) = 1

),

month_end as (

    select
        account_months.month_start,
        account_months.account_id,
        account_months.customer_key,
        account_months.product_code,
        account_months.currency,
        month_ends.month_end_date as snapshot_date,
        balances.account_id is not null as is_open_at_month_end,
        coalesce(balances.ledger_balance, 0) as ledger_balance,
        coalesce(balances.available_balance, 0) as available_balance,
        coalesce(balances.accrued_interest, 0) as accrued_interest,
        account_months.load_id
    from account_months
    inner join month_ends
        on account_months.month_start = month_ends.month_start
    left join balances
        on
            account_months.account_id = balances.account_id
            and month_ends.month_end_date = balances.business_date

),

final as (

    select
        month_end.month_start,
        month_end.account_id,
        month_end.customer_key,
        month_end.product_code,
        month_end.currency,
        month_end.snapshot_date,
        cast(month_end.ledger_balance as decimal(18, 4)) as ledger_balance,
        cast(month_end.available_balance as decimal(18, 4)) as available_balance,
        cast(month_end.accrued_interest as decimal(18, 4)) as accrued_interest,
        interest.n_days_on_book,
        cast(interest.avg_balance as decimal(18, 2)) as avg_balance,
        month_end.is_open_at_month_end,
        month_end.load_id
    from month_end
    left join interest
        on
            month_end.account_id = interest.account_id
            and month_end.month_start = interest.month_start

)

select * from final
