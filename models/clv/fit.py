"""Fit the lifetime value model: per value tier, the monthly retention rate and the mean margin.

Why this model rather than PyMC-Marketing's BG/NBD and Gamma-Gamma (docs/models.md): a bank
customer is not a shopper whose purchases stop without notice. The warehouse sees the
relationship itself (open accounts, the LAPSED tier), so retention is observed month by month
and needs no latent "alive" probability; and a customer's monthly contribution can be negative
(loan provisions, costly accounts), which Gamma-Gamma's positive spend cannot represent.
Monthly retention by tier times a margin shrunk towards the tier's mean takes a few numbers,
fits in milliseconds and keeps the sign of the margin.

Fit on the months before the cut-off's month:
- retention[tier]: of the customers not LAPSED in a month m, in tier t, the share still
  there and not LAPSED in m + 1 (both months before the cut-off's month); a tier with fewer
  than `min_segment_customers` transitions takes the pooled rate;
- margin[tier]: the mean, over the tier's customers in the last month before the cut-off, of
  their mean contribution over their last `margin_window_months` complete months.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import scipy

from models.clv.history import month_of
from models.clv.store import ClvModel

LAPSED = "LAPSED"


class NotEnoughHistory(ValueError):
    """Too few months before the cut-off to fit the model."""


@dataclass(frozen=True)
class FitRule:
    margin_window_months: int
    margin_prior_months: float
    min_segment_customers: int


def _next_month(month: date) -> date:
    return (pd.Timestamp(month) + pd.DateOffset(months=1)).date()


def customer_margins(history: pd.DataFrame, before: date, window_months: int) -> pd.DataFrame:
    """Each customer's mean and count of complete-month contributions over the last
    `window_months` complete months before `before` (a month start)."""
    complete = history[history["is_complete_month"] & (history["month_start"] < before)]
    months = sorted(complete["month_start"].unique())[-window_months:]
    window = complete[complete["month_start"].isin(months)]
    return window.groupby("customer_key")["contribution"].agg(margin="mean", n_months="count").reset_index()


def last_month_before(history: pd.DataFrame, before: date) -> date | None:
    months = history.loc[history["month_start"] < before, "month_start"]
    return None if months.empty else months.max()


def retention_rates(history: pd.DataFrame, before: date, min_transitions: int) -> dict[str, float]:
    seen = history[history["month_start"] < before]
    present = seen[seen["value_tier"] != LAPSED][["customer_key", "month_start", "value_tier"]]
    staying = set(zip(present["customer_key"], present["month_start"], strict=True))
    movable = present[present["month_start"].map(_next_month) < before]
    if movable.empty:
        raise NotEnoughHistory(
            f"no two consecutive months before {before}: retention cannot be measured (train with a later --cutoff)"
        )
    retained = np.array(
        [(k, _next_month(m)) in staying for k, m in zip(movable["customer_key"], movable["month_start"], strict=True)]
    )
    movable = movable.assign(retained=retained)
    pooled = float(movable["retained"].mean())
    by_tier = movable.groupby("value_tier")["retained"].agg(["mean", "count"])
    return {"*": pooled} | {
        str(tier): float(row["mean"]) if row["count"] >= min_transitions else pooled for tier, row in by_tier.iterrows()
    }


def fingerprint(history: pd.DataFrame, before: date, rule: FitRule) -> str:
    """sha256 of the history rows before the cut-off's month and the fit rule."""
    rows = history[history["month_start"] < before].sort_values(["month_start", "customer_key"])
    digest = hashlib.sha256(f"{before}|{rule}".encode())
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def libraries() -> dict[str, str]:
    return {"pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__}


def fit(history: pd.DataFrame, cutoff: date, rule: FitRule) -> ClvModel:
    before = month_of(cutoff)
    last = last_month_before(history, before)
    if last is None:
        raise NotEnoughHistory(f"the warehouse holds no month before the cut-off {cutoff}")
    retention = retention_rates(history, before, rule.min_segment_customers)
    margins = customer_margins(history, before, rule.margin_window_months)
    if margins.empty:
        raise NotEnoughHistory(
            f"no complete month before the cut-off {cutoff}: no margin to learn (train with a later --cutoff)"
        )
    tiers = history[(history["month_start"] == last) & (history["value_tier"] != LAPSED)]
    joined = tiers.merge(margins, on="customer_key", how="inner")
    margin = {"*": float(joined["margin"].mean())} | {
        str(tier): float(group["margin"].mean()) for tier, group in joined.groupby("value_tier")
    }
    data_fingerprint = fingerprint(history, before, rule)
    libs = libraries()
    tag = hashlib.sha256(f"{data_fingerprint}|{sorted(libs.items())}".encode()).hexdigest()[:12]
    return ClvModel(
        version=f"{cutoff.isoformat()}-{tag}",
        cutoff=cutoff.isoformat(),
        data_fingerprint=data_fingerprint,
        libraries=libs,
        retention=retention,
        margin=margin,
        margin_window_months=rule.margin_window_months,
        margin_prior_months=rule.margin_prior_months,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        train_customers=len(joined),
        train_months=int(history.loc[history["month_start"] < before, "month_start"].nunique()),
    )
