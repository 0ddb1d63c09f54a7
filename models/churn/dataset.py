"""Scoring dates, features joined with labels, and the time-based split around a cut-off.

Training rows are the scoring dates whose whole horizon ends before the cut-off (their labels
were known on the cut-off); evaluation rows are the scoring dates from the cut-off on whose
horizon the warehouse covers. No customer-date of the evaluation period is seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from models.churn.features import FEATURE_NAMES, compute_features
from models.churn.labels import LabelRule, compute_labels


@dataclass(frozen=True)
class Window:
    """The warehouse's business dates: first and last with balance snapshots."""

    first: date
    last: date


def warehouse_window(con: duckdb.DuckDBPyConnection) -> Window:
    first, last = con.execute(
        "select min(business_date), max(business_date) from intermediate.int_account_balances_keyed"
    ).fetchone() or (None, None)
    if first is None or last is None:
        raise ValueError("the warehouse holds no balance snapshots: nothing to train or score on")
    return Window(first, last)


def scoring_dates(window: Window, min_history_days: int, interval_days: int) -> list[date]:
    """Every `interval_days` from `min_history_days` after the first date, ending on the last
    date (the grid is anchored on the last date, so the newest day is always a scoring date)."""
    first = window.first + timedelta(days=min_history_days)
    dates, day = [], window.last
    while day >= first:
        dates.append(day)
        day -= timedelta(days=interval_days)
    return sorted(dates)


def labelled_rows(con: duckdb.DuckDBPyConnection, dates: list[date], rule: LabelRule) -> pd.DataFrame:
    """Features of each customer and scoring date, with `churned` where the horizon is covered
    (rows without a label are dropped)."""
    features = compute_features(con, dates)
    labels = compute_labels(con, features, rule)
    frame = features.to_pandas().merge(labels.to_pandas(), on=["customer_key", "score_date"], how="inner")
    frame["score_date"] = pd.to_datetime(frame["score_date"]).dt.date
    return frame


def split(frame: pd.DataFrame, cutoff: date, horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, evaluation rows) around the cut-off."""
    horizon = timedelta(days=horizon_days)
    train = frame[frame["score_date"].map(lambda d: d + horizon < cutoff)]
    held_out = frame[frame["score_date"].map(lambda d: d >= cutoff)]
    return train.reset_index(drop=True), held_out.reset_index(drop=True)


def matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in the order of FEATURES."""
    return frame.loc[:, list(FEATURE_NAMES)].astype("float64")
