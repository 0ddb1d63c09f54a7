"""Who churned within the horizon after a scoring date, by the bank's own data.

A customer scored on D (an open account on D) churns within the horizon H when, on D + H,

- **closed**: none of their accounts is open any more (no balance snapshot on D + H), or
- **dormant**: on every day of the last `stay_days` of the horizon their deposits stayed
  below `balance_threshold` and they initiated at most `activity_threshold` postings and
  online sessions in those days together (money gone and the customer silent, the accounts
  left open).

Customers already dormant on D (deposits below the threshold and no activity in the
`stay_days` before D) are not labelled: nothing of theirs is left to lose. A date is labelled
only when the warehouse holds D + H. The simulator's planted churners (`_truth/churners.csv`)
are never read here; tests compare with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class LabelRule:
    horizon_days: int
    balance_threshold: float
    activity_threshold: int
    stay_days: int


_LABELS_SQL = """
with
deposit_products as (
    select product_code from intermediate.int_products_current where product_family = 'DEPOSIT'
),
balances as (
    select
        customer_key,
        business_date as day,
        sum(case when product_code in (select product_code from deposit_products)
            then ledger_balance else 0 end) as deposit_balance
    from intermediate.int_account_balances_keyed
    where customer_key is not null
    group by all
),
activity as (
    select customer_key, posting_date as day, count(*) as n
    from intermediate.int_transactions_flagged
    where customer_key is not null and not is_reversal and channel <> 'SYSTEM'
    group by all
    union all
    select customer_key, session_date as day, count(*) as n
    from intermediate.int_web_sessions_keyed
    where customer_key is not null
    group by all
),
last_day as (
    select max(business_date) as day from intermediate.int_account_balances_keyed
),
scored as (
    select scored.customer_key, scored.score_date, scored.score_date + $horizon as horizon_end
    from churn_scored as scored
    where scored.score_date + $horizon <= (select day from last_day)
),
already_dormant as (
    select scored.customer_key, scored.score_date
    from scored
    join balances on balances.customer_key = scored.customer_key and balances.day = scored.score_date
    where balances.deposit_balance < $threshold
        and not exists (
            select 1 from activity
            where activity.customer_key = scored.customer_key
                and activity.day > scored.score_date - $stay and activity.day <= scored.score_date
        )
),
closed as (
    select scored.customer_key, scored.score_date
    from scored
    where not exists (
        select 1 from balances
        where balances.customer_key = scored.customer_key and balances.day = scored.horizon_end
    )
),
stay_window as (
    select
        scored.customer_key,
        scored.score_date,
        count(balances.day) as days_held,
        count(*) filter (where balances.deposit_balance < $threshold) as days_below
    from scored
    join balances
        on balances.customer_key = scored.customer_key
        and balances.day > scored.horizon_end - $stay and balances.day <= scored.horizon_end
    group by all
),
stay_activity as (
    select scored.customer_key, scored.score_date, sum(activity.n) as n
    from scored
    join activity
        on activity.customer_key = scored.customer_key
        and activity.day > scored.horizon_end - $stay and activity.day <= scored.horizon_end
    group by all
),
dormant as (
    select stay_window.customer_key, stay_window.score_date
    from stay_window
    left join stay_activity using (customer_key, score_date)
    where stay_window.days_below = stay_window.days_held
        and coalesce(stay_activity.n, 0) <= $activity
)
select
    scored.customer_key,
    scored.score_date,
    closed.customer_key is not null as closed_all,
    dormant.customer_key is not null as went_dormant,
    closed.customer_key is not null or dormant.customer_key is not null as churned
from scored
left join closed using (customer_key, score_date)
left join dormant using (customer_key, score_date)
anti join already_dormant using (customer_key, score_date)
order by scored.score_date, scored.customer_key
"""


def compute_labels(con: duckdb.DuckDBPyConnection, scored: pa.Table, rule: LabelRule) -> pa.Table:
    """`customer_key`, `score_date`, `closed_all`, `went_dormant`, `churned` for the rows of
    `scored` (customer_key, score_date) whose horizon the warehouse covers."""
    con.register("churn_scored_arrow", scored.select(["customer_key", "score_date"]))
    con.execute("create or replace temp table churn_scored as select * from churn_scored_arrow")
    con.unregister("churn_scored_arrow")
    return con.execute(
        _LABELS_SQL,
        {
            "horizon": rule.horizon_days,
            "threshold": rule.balance_threshold,
            "activity": rule.activity_threshold,
            "stay": rule.stay_days,
        },
    ).fetch_arrow_table()
