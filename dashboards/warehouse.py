"""What the dashboards read: the served warehouse (`bankdw serve`) as the `analyst` login.

Every dashboard asks its figures of the same PostgreSQL endpoint any BI tool would use
(docs/serving.md): the marts in schema `marts`, PII masked. The SQL lives in `queries/`, one file
per question, so that it reads as SQL and not as strings inside Python.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import streamlit as st

from bankdw.config import Settings, load_settings
from bankdw.serve import credentials_path

QUERIES = Path(__file__).parent / "queries"
TIER_ORDER = ["A", "B", "C", "D", "INACTIVE", "LAPSED"]
REFRESH_SECONDS = 60
"""How long a page keeps an answer: a refresh of the served warehouse shows within a minute."""


def analyst_password(settings: Settings) -> str | None:
    """The `analyst` login's password: the setting, else what the server generated (None: not yet).

    Read, never generated here: the server generates it when it first starts (bankdw.serve.credentials).
    """
    if settings.serve_analyst_password is not None:
        return settings.serve_analyst_password.get_secret_value()
    path = credentials_path(settings)
    if not path.exists():
        return None
    return tomllib.loads(path.read_text(encoding="utf-8")).get("analyst")


def connect(settings: Settings, **options: Any) -> psycopg.Connection[Any]:
    """A session of the `analyst` login on the served warehouse."""
    password = analyst_password(settings)
    if password is None:
        raise psycopg.OperationalError(f"no analyst password yet in {credentials_path(settings)}: is bankdw serve up?")
    return psycopg.connect(
        host="127.0.0.1", port=settings.serve_port, user="analyst", password=password, dbname="bank", **options
    )


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def query(name: str) -> pd.DataFrame:
    """The rows of `queries/<name>.sql` on the served warehouse (money stays Decimal)."""
    sql = (QUERIES / f"{name}.sql").read_text(encoding="utf-8")
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
