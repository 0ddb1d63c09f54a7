"""Each customer's expected contribution and lifetime value as of a month.

A customer present and not LAPSED in the last month before `as_of` (a month start), in tier t
then, with expected monthly margin m and monthly retention r = retention[t]:
- m = (n * own mean + k * margin[t]) / (n + k): their own mean contribution over their last
  `margin_window_months` complete months (n of them), shrunk towards the tier's mean with the
  weight k = `margin_prior_months`; negative margins are kept as they are;
- expected contribution over h months = m * (r + r^2 + ... + r^h);
- clv = m * sum over t = 1..horizon of r^t / (1 + discount_rate)^(t / 12);
- retention_probability = r^12, the chance of still being a customer in twelve months.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from models.clv.fit import LAPSED, customer_margins, last_month_before
from models.clv.store import ClvModel


def survival_sum(retention: np.ndarray, months: int, discount_rate: float = 0.0) -> np.ndarray:
    """sum over t = 1..months of r^t / (1 + discount_rate)^(t / 12), for each r."""
    t = np.arange(1, months + 1)
    return np.asarray((retention[:, None] ** t / (1 + discount_rate) ** (t / 12)).sum(axis=1))


def predict(
    history: pd.DataFrame, model: ClvModel, as_of: date, horizons: dict[str, int], discount_rate: float, clv_months: int
) -> pd.DataFrame:
    """customer_key, value_tier, expected_margin, retention_probability, clv and one
    `expected_contribution_<name>` column per horizon (months)."""
    last = last_month_before(history, as_of)
    if last is None:
        return pd.DataFrame(columns=["customer_key", "value_tier"])
    customers = history[(history["month_start"] == last) & (history["value_tier"] != LAPSED)][
        ["customer_key", "value_tier"]
    ]
    frame = customers.merge(customer_margins(history, as_of, model.margin_window_months), on="customer_key", how="left")
    n = frame["n_months"].fillna(0).to_numpy(dtype=float)
    own = frame["margin"].fillna(0).to_numpy(dtype=float)
    tier_margin = frame["value_tier"].map(model.margin_of).to_numpy(dtype=float)
    k = model.margin_prior_months
    margin = np.where(n + k > 0, (n * own + k * tier_margin) / np.maximum(n + k, 1e-9), tier_margin)
    retention = frame["value_tier"].map(model.retention_of).to_numpy(dtype=float)
    out = frame[["customer_key", "value_tier"]].assign(expected_margin=margin, retention_probability=retention**12)
    for name, months in horizons.items():
        out[f"expected_contribution_{name}"] = margin * survival_sum(retention, months)
    out["clv"] = margin * survival_sum(retention, clv_months, discount_rate)
    return out.reset_index(drop=True)
