"""What the dashboards read: the served warehouse (`bankdw serve`) as the `analyst` login.

Every dashboard asks its figures of the same PostgreSQL endpoint any BI tool would use
(docs/serving.md): the marts in schema `marts`, PII masked. The SQL lives in `queries/`, one file
per question, so that it reads and lints as SQL and not as strings inside Python.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import streamlit as st

from bankdw.config import load_settings
from bankdw.serve import credentials

QUERIES = Path(__file__).parent / "queries"
TIER_ORDER = ["A", "B", "C", "D", "INACTIVE", "LAPSED"]
REFRESH_SECONDS = 60
"""How long a page keeps an answer: a refresh of the served warehouse shows within a minute."""


def _connect() -> psycopg.Connection[Any]:
    settings = load_settings()
    password = os.environ.get("BANKDW_SERVE_ANALYST_PASSWORD") or credentials(settings, [])["analyst"]
    return psycopg.connect(
        host="127.0.0.1", port=settings.serve_port, user="analyst", password=password, dbname="bank", autocommit=True
    )


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def query(name: str) -> pd.DataFrame:
    """The rows of `queries/<name>.sql` on the served warehouse (money stays Decimal)."""
    sql = (QUERIES / f"{name}.sql").read_text(encoding="utf-8")
    with _connect() as con, con.cursor() as cur:
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
