"""The monthly history the lifetime value model reads: every customer with a relationship in a
month, their value tier, and that month's contribution (the primary holder's, from the
profitability inputs; 0 in a month without a profitability row)."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

HISTORY_SQL = """
select
    value.month_start,
    value.customer_key,
    value.value_tier,
    value.is_complete_month,
    coalesce(profitability.contribution, 0) as contribution
from intermediate.int_customer_value_monthly as value
left join intermediate.int_customer_profitability_monthly as profitability
    using (customer_key, month_start)
"""

ACTUALS_SQL = """
select
    profitability.customer_key,
    profitability.month_start,
    profitability.contribution
from intermediate.int_customer_profitability_monthly as profitability
where profitability.is_complete_month
"""


def monthly_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """month_start (date), customer_key, value_tier, is_complete_month, contribution (float)."""
    frame = con.sql(HISTORY_SQL).df()
    return _typed(frame)


def complete_contributions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """customer_key, month_start, contribution of every complete month (customers gone included)."""
    return _typed(con.sql(ACTUALS_SQL).df())


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["month_start"] = pd.to_datetime(frame["month_start"]).dt.date
    frame["contribution"] = frame["contribution"].astype(float)
    return frame


def month_of(day: date) -> date:
    return day.replace(day=1)
