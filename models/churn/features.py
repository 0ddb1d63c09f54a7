"""Point-in-time features of a customer on a scoring date D, from the warehouse's own tables.

Every feature of D reads only rows dated on or before D (postings by posting date, sessions and
calls by their date, balances by business date, the value model's last complete month before
D's month): the rolling windows look back, never forward, so loading later days leaves the
features of D unchanged (tests/test_churn.py proves it). A customer is scored on D when at
least one of their accounts has a balance snapshot on D (an open account).

The tables read are intermediate models, so that the dbt Python model of the nightly scores
(layer rules: intermediate reads intermediate) and the training command (on the published
warehouse) compute the same features with the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class Feature:
    name: str
    reason: str
    """What a high value means, in the words of a relationship manager; `{value}` is the
    customer's value (formatted by `unit`)."""
    unit: str = "count"
    """How the value reads: count, days, share (a fraction shown as %), ratio or score."""


FEATURES: tuple[Feature, ...] = (
    Feature("deposit_balance", "deposits of {value} on the scoring date", "money"),
    Feature("balance_change_30d", "deposits changed by {value} over 30 days", "share"),
    Feature("balance_change_90d", "deposits changed by {value} over 90 days", "share"),
    Feature("drawdown_12m", "deposits {value} below their 12-month high", "share"),
    Feature("days_since_salary", "no salary or pension credited for {value} days", "days"),
    # (null for a customer whose salary the bank has never seen: absent, not stopped)
    Feature("salary_stopped", "salary or pension credited before, none in the last 35 days", "flag"),
    Feature("outflow_elsewhere_30d", "{value} of the 90-day high moved to other banks in 30 days", "share"),
    Feature("branch_txns_30d", "{value} branch transactions in 30 days", "count"),
    Feature("atm_txns_30d", "{value} ATM withdrawals in 30 days", "count"),
    Feature("digital_txns_30d", "{value} online and mobile transactions in 30 days", "count"),
    Feature("pos_txns_30d", "{value} card payments in 30 days", "count"),
    Feature("activity_trend", "activity of the last 30 days at {value} of the 90-day pace", "ratio"),
    Feature("web_sessions_30d", "{value} online banking sessions in 30 days", "count"),
    Feature("web_trend", "online banking use at {value} of the 90-day pace", "ratio"),
    Feature("failed_logins_30d", "{value} failed logins in 30 days", "count"),
    Feature("complaints_90d", "{value} complaint calls in 90 days", "count"),
    Feature("retention_calls_90d", "{value} calls to the retention desk in 90 days", "count"),
    Feature("calls_30d", "{value} calls to the contact centre in 30 days", "count"),
    Feature("n_accounts", "{value} accounts open", "count"),
    Feature("accounts_closed_90d", "{value} accounts closed in 90 days", "count"),
    Feature("tenure_months", "a customer for {value} months", "count"),
    Feature("value_percentile", "value percentile {value} last month", "score"),
    Feature("loyalty_score", "loyalty score {value} last month", "score"),
    Feature("rfm_recency_score", "RFM recency score {value} last month", "score"),
    Feature("rfm_frequency_score", "RFM frequency score {value} last month", "score"),
    Feature("rfm_monetary_score", "RFM monetary score {value} last month", "score"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)

SALARY_GAP_DAYS = 35
"""A monthly salary missing for longer than this has stopped (a month and a few days' slack)."""


_DAILY_SQL = """
create or replace temp table churn_daily as
with
deposit_products as (
    select product_code from intermediate.int_products_current where product_family = 'DEPOSIT'
),
balances as (
    select
        balances.customer_key,
        balances.business_date as day,
        count(*) as n_accounts,
        sum(case when balances.product_code in (select product_code from deposit_products)
            then balances.ledger_balance else 0 end) as deposit_balance
    from intermediate.int_account_balances_keyed as balances
    where balances.customer_key is not null and balances.business_date <= $last
    group by all
),
postings as (
    select
        customer_key,
        posting_date as day,
        count(*) filter (where channel = 'BRANCH') as branch_txns,
        count(*) filter (where channel = 'ATM') as atm_txns,
        count(*) filter (where channel in ('ONLINE', 'MOBILE')) as digital_txns,
        count(*) filter (where channel = 'POS') as pos_txns,
        count(*) filter (where channel not in ('SYSTEM')) as own_txns,
        count(*) filter (where txn_type = 'SALARY') as salaries,
        sum(case when txn_type = 'TRANSFER_OUT' and channel <> 'SYSTEM' and counterparty_bank is not null
            then -amount else 0 end) as outflow_elsewhere
    from intermediate.int_transactions_flagged
    where customer_key is not null and not is_reversal and posting_date <= $last
    group by all
),
sessions as (
    select customer_key, session_date as day, count(*) as web_sessions, sum(n_failed_logins) as failed_logins
    from intermediate.int_web_sessions_keyed
    where customer_key is not null and session_date <= $last
    group by all
),
calls as (
    select
        customer_key,
        call_date as day,
        count(*) filter (where direction = 'INBOUND') as calls,
        count(*) filter (where complaint_flag or queue = 'COMPLAINTS') as complaints,
        count(*) filter (where queue = 'RETENTION') as retention_calls
    from intermediate.int_calls_keyed
    where customer_key is not null and call_date <= $last
    group by all
),
spine as (
    select customer_key, day from balances
    union select customer_key, day from postings
    union select customer_key, day from sessions
    union select customer_key, day from calls
),
daily as (
    select
        spine.customer_key,
        spine.day,
        balances.n_accounts,
        cast(balances.deposit_balance as double) as deposit_balance,
        coalesce(postings.branch_txns, 0) as branch_txns,
        coalesce(postings.atm_txns, 0) as atm_txns,
        coalesce(postings.digital_txns, 0) as digital_txns,
        coalesce(postings.pos_txns, 0) as pos_txns,
        coalesce(postings.own_txns, 0) as own_txns,
        coalesce(postings.salaries, 0) as salaries,
        coalesce(cast(postings.outflow_elsewhere as double), 0) as outflow_elsewhere,
        coalesce(sessions.web_sessions, 0) as web_sessions,
        coalesce(sessions.failed_logins, 0) as failed_logins,
        coalesce(calls.calls, 0) as calls,
        coalesce(calls.complaints, 0) as complaints,
        coalesce(calls.retention_calls, 0) as retention_calls
    from spine
    left join balances using (customer_key, day)
    left join postings using (customer_key, day)
    left join sessions using (customer_key, day)
    left join calls using (customer_key, day)
)
select
    customer_key,
    day,
    n_accounts,
    deposit_balance,
    max(deposit_balance) over last_365 as balance_high_12m,
    max(deposit_balance) over last_90 as balance_high_90d,
    max(n_accounts) over last_90 as max_accounts_90d,
    sum(branch_txns) over last_30 as branch_txns_30d,
    sum(atm_txns) over last_30 as atm_txns_30d,
    sum(digital_txns) over last_30 as digital_txns_30d,
    sum(pos_txns) over last_30 as pos_txns_30d,
    sum(own_txns) over last_30 as own_txns_30d,
    sum(own_txns) over last_90 as own_txns_90d,
    sum(outflow_elsewhere) over last_30 as outflow_elsewhere_30d,
    sum(web_sessions) over last_30 as web_sessions_30d,
    sum(web_sessions) over last_90 as web_sessions_90d,
    sum(failed_logins) over last_30 as failed_logins_30d,
    sum(calls) over last_30 as calls_30d,
    sum(complaints) over last_90 as complaints_90d,
    sum(retention_calls) over last_90 as retention_calls_90d,
    max(case when salaries > 0 then day end) over up_to_now as last_salary_day,
    min(day) over up_to_now as first_seen
from daily
window
    up_to_now as (partition by customer_key order by day rows between unbounded preceding and current row),
    last_30 as (partition by customer_key order by day range between interval 29 days preceding and current row),
    last_90 as (partition by customer_key order by day range between interval 89 days preceding and current row),
    last_365 as (partition by customer_key order by day range between interval 364 days preceding and current row)
"""

_FEATURES_SQL = """
with
scoring as (
    select daily.*, score_dates.score_date, score_dates.score_date - daily.first_seen + 1 as days_seen
    from churn_daily as daily
    join churn_score_dates as score_dates on daily.day = score_dates.score_date
    where daily.n_accounts > 0
),
lagged as (
    select scoring.customer_key, scoring.score_date, ago_30.deposit_balance as balance_30d_ago
    from scoring
    asof left join (select * from churn_daily where n_accounts > 0) as ago_30
        on scoring.customer_key = ago_30.customer_key and scoring.score_date - 30 >= ago_30.day
),
lagged_90 as (
    select scoring.customer_key, scoring.score_date, ago_90.deposit_balance as balance_90d_ago
    from scoring
    asof left join (select * from churn_daily where n_accounts > 0) as ago_90
        on scoring.customer_key = ago_90.customer_key and scoring.score_date - 90 >= ago_90.day
),
value_months as (
    select
        value.customer_key,
        value.month_start,
        value.tenure_months,
        cast(value.value_percentile as double) as value_percentile,
        cast(value.loyalty_score as double) as loyalty_score,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score
    from intermediate.int_customer_value_monthly as value
    left join intermediate.int_customer_rfm_monthly as rfm using (customer_key, month_start)
    where value.is_complete_month
),
last_month as (
    select scoring.customer_key, scoring.score_date, value_months.*
    from scoring
    asof left join value_months
        on scoring.customer_key = value_months.customer_key
        and date_trunc('month', scoring.score_date) > value_months.month_start
)
select
    scoring.customer_key,
    scoring.score_date,
    scoring.deposit_balance,
    (scoring.deposit_balance - lagged.balance_30d_ago) / greatest(abs(lagged.balance_30d_ago), 1000)
        as balance_change_30d,
    (scoring.deposit_balance - lagged_90.balance_90d_ago) / greatest(abs(lagged_90.balance_90d_ago), 1000)
        as balance_change_90d,
    case when scoring.balance_high_12m > 0
        then greatest(1 - scoring.deposit_balance / scoring.balance_high_12m, 0) else 0 end as drawdown_12m,
    scoring.score_date - scoring.last_salary_day as days_since_salary,
    cast(scoring.last_salary_day is not null
        and scoring.score_date - scoring.last_salary_day > $salary_gap as integer) as salary_stopped,
    scoring.outflow_elsewhere_30d / greatest(scoring.balance_high_90d, 1000) as outflow_elsewhere_30d,
    scoring.branch_txns_30d,
    scoring.atm_txns_30d,
    scoring.digital_txns_30d,
    scoring.pos_txns_30d,
    scoring.own_txns_30d / ((scoring.own_txns_90d + 1) * 30.0 / least(90, scoring.days_seen)) as activity_trend,
    scoring.web_sessions_30d,
    scoring.web_sessions_30d / ((scoring.web_sessions_90d + 1) * 30.0 / least(90, scoring.days_seen)) as web_trend,
    scoring.failed_logins_30d,
    scoring.complaints_90d,
    scoring.retention_calls_90d,
    scoring.calls_30d,
    scoring.n_accounts,
    scoring.max_accounts_90d - scoring.n_accounts as accounts_closed_90d,
    last_month.tenure_months,
    last_month.value_percentile,
    last_month.loyalty_score,
    last_month.r_score as rfm_recency_score,
    last_month.f_score as rfm_frequency_score,
    last_month.m_score as rfm_monetary_score
from scoring
left join lagged using (customer_key, score_date)
left join lagged_90 using (customer_key, score_date)
left join last_month using (customer_key, score_date)
order by scoring.score_date, scoring.customer_key
"""


def compute_features(con: duckdb.DuckDBPyConnection, score_dates: list[date]) -> pa.Table:
    """One row per customer with an open account on each scoring date: `customer_key`,
    `score_date` and every feature of `FEATURES` (doubles; null where the history is too
    short to say, which the model reads as missing)."""
    if not score_dates:
        raise ValueError("no scoring dates given")
    con.execute("create or replace temp table churn_score_dates (score_date date)")
    con.executemany("insert into churn_score_dates values (?)", [[d] for d in sorted(set(score_dates))])
    con.execute(_DAILY_SQL, {"last": max(score_dates)})
    table = con.execute(_FEATURES_SQL, {"salary_gap": SALARY_GAP_DAYS}).fetch_arrow_table()
    columns = {"customer_key": table["customer_key"], "score_date": table["score_date"]}
    for name in FEATURE_NAMES:
        columns[name] = table[name].cast(pa.float64())
    return pa.table(columns)
