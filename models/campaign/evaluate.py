"""Figures of a response model on the held-out contacts (first called from its cut-off on).

The churn model's figures (models/churn/evaluate.py), on contacts and conversions: `auc`,
`average_precision`, and for the top 10% of contacts by propensity `precision_at_10pct`
(their conversion rate), `recall_at_10pct` (the share of all conversions they hold) and
`lift_at_10pct` (that rate over the base rate: what calling the top decile first gains); and
the calibration table (mean propensity beside the conversion rate, by tenth of the rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.churn.evaluate import calibration_table, figures


def response_figures(converted: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    found = figures(converted, probability)
    return {
        "contacts": found.pop("rows"),
        "conversions": found.pop("churners"),
        "conversion_rate": float(np.mean(converted)) if len(converted) else float("nan"),
        **found,
    }


def response_calibration(converted: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    return calibration_table(converted, probability).rename(columns={"churn_rate": "conversion_rate"})
