-- A failure means the month-end deposits or loans of fct_account_balance_monthly are not
-- what the core system's balances feed says on the month's last business date: an account
-- is counted that was no longer open then (a closed or matured account's last balance
-- carried into the month end), or one is missing, so month-end balance-sheet figures
-- would not tie to the ledger. Per month and balance side, to the ten-thousandth, against
-- the staged balances feed of the last date it delivered in the month.
-- depends_on: {{ source('lake_audit', 'loads') }}
-- On an incremental night (macros/night_tests.sql) it judges the months from the month of the
-- earliest date the night's loads delivered for the core system on (newer_delivered_from, from
-- the load audit: a re-delivery that withdrew a date's balances brings no row), those the night
-- rebuilt (fct_account_balance_monthly); the months before kept what the earlier nights judged.
{%- set since = night_since() %}
{%- set first_month = none %}
{%- if since is not none %}
    {%- set first_month = queried_date(
        "select cast(cast(date_trunc('month', "
        ~ newer_delivered_from('core_banking', "'" ~ (since | replace("'", "''")) ~ "'")
        ~ ") as date) as " ~ string_type() ~ ")"
    ) %}
{%- endif %}

with feed as (

    select * from {{ ref('stg_core_banking__balances') }}
    {%- if first_month %}
        where business_date >= {{ first_month }}
    {%- endif %}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

month_end_snapshots as (

    select * from {{ ref('fct_account_balance_monthly') }}
    {%- if first_month %}
        where month_start >= {{ first_month }}
    {%- endif %}

),

month_ends as (

    select
        cast(date_trunc('month', feed.business_date) as date) as month_start,
        max(feed.business_date) as month_end_date
    from feed
    group by cast(date_trunc('month', feed.business_date) as date)

),

feed_totals as (

    select
        month_ends.month_start,
        month_ends.month_end_date,
        coalesce(accounts.balance_side, 'UNKNOWN') as balance_side,
        sum(feed.ledger_balance) as ledger_balance,
        count(*) as n_accounts
    from feed
    inner join month_ends
        on feed.business_date = month_ends.month_end_date
    left join accounts
        on feed.account_id = accounts.account_id
    group by all

),

mart_totals as (

    select
        month_end_snapshots.month_start,
        month_end_snapshots.snapshot_date as month_end_date,
        coalesce(accounts.balance_side, 'UNKNOWN') as balance_side,
        sum(month_end_snapshots.ledger_balance) as ledger_balance,
        count(*) filter (where month_end_snapshots.is_open_at_month_end) as n_accounts
    from month_end_snapshots
    left join accounts
        on month_end_snapshots.account_id = accounts.account_id
    group by all

)

select
    coalesce(feed_totals.month_start, mart_totals.month_start) as month_start,
    coalesce(feed_totals.balance_side, mart_totals.balance_side) as balance_side,
    feed_totals.month_end_date as feed_month_end_date,
    mart_totals.month_end_date as mart_month_end_date,
    feed_totals.ledger_balance as feed_ledger_balance,
    mart_totals.ledger_balance as mart_ledger_balance,
    feed_totals.n_accounts as feed_accounts,
    mart_totals.n_accounts as mart_open_accounts
from feed_totals
full outer join mart_totals
    on
        feed_totals.month_start = mart_totals.month_start
        and feed_totals.balance_side = mart_totals.balance_side
where
    feed_totals.month_end_date != mart_totals.month_end_date
    or coalesce(feed_totals.ledger_balance, 0) != coalesce(mart_totals.ledger_balance, 0)
    or coalesce(feed_totals.n_accounts, 0) != coalesce(mart_totals.n_accounts, 0)
