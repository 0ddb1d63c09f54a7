"""What the dashboards read: the served warehouse (`bankdw serve`) as the login of the setting
`dashboards_login` (`analyst` unless set; `dashboards/run.py --login rm_<rm_id>`).

Every dashboard asks its figures of the same PostgreSQL endpoint any BI tool would use
(docs/serving.md): the marts in schema `marts`, seen as that login may see them (the analyst's PII
masked; an RM's customers and leads only). The SQL lives in `queries/`, one file per question, so
that it reads as SQL and not as strings inside Python.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import psycopg
import streamlit as st
from catalog import query_sql

from bankdw.config import Settings, load_settings
from bankdw.serve import credentials_path, password

TIER_ORDER = ["A", "B", "C", "D", "INACTIVE", "LAPSED"]
REFRESH_SECONDS = 60
"""How long a page keeps an answer: a refresh of the served warehouse shows within a minute."""


def login() -> str:
    return load_settings().dashboards_login


def connect(settings: Settings, **options: Any) -> psycopg.Connection[Any]:
    """A session of the dashboards' login on the served warehouse."""
    user = settings.dashboards_login
    secret = password(settings, user)  # read, never generated here: the server generates it on first start
    if secret is None:
        raise psycopg.OperationalError(
            f"no password of {user} yet in {credentials_path(settings)}: is bankdw serve up?"
        )
    return psycopg.connect(
        host="127.0.0.1", port=settings.serve_port, user=user, password=secret, dbname="bank", **options
    )


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def query(name: str) -> pd.DataFrame:
    """The rows of `queries/<name>.sql` on the served warehouse (money stays Decimal)."""
    sql = query_sql(name)
    with connect(load_settings(), autocommit=True) as con, con.cursor() as cur:
        cur.execute(sql)  # a committed file of ours, no parameters
        columns = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """For charts only (they draw floats); figures are summed from the Decimals."""
    return frame.apply(lambda col: col.astype(float) if col.map(lambda v: isinstance(v, Decimal)).any() else col)


def money(value: Any) -> str:
    """A money figure as the page shows it: two decimals, thousands separated (tests read it back)."""
    return f"{Decimal(value or 0):,.2f}"


def count(value: Any) -> str:
    return f"{int(value or 0):,}"


def total(frame: pd.DataFrame, column: str) -> Decimal:
    return sum((Decimal(v) for v in frame[column].dropna()), Decimal(0)) if len(frame) else Decimal(0)
