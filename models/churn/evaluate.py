"""Figures of a churn model on the held-out period, and against the simulator's answer key.

Every figure is computed on the evaluation rows (scoring dates from the cut-off on, labels by
the bank's own rule), pooled over dates: `auc`, `average_precision`, and for the top 10% of
rows by probability `precision_at_10pct`, `recall_at_10pct` and `lift_at_10pct` (precision
over the base rate). The calibration table gives, per tenth of the rows by probability, the
mean predicted probability beside the observed churn rate. With the simulator's answer key
(`_truth/churners.csv`: who was planted to leave, and when), `auc_vs_truth` scores the same
probabilities against "planted to leave within the horizon", and `labels_precision_vs_truth`,
`labels_recall_vs_truth` say how well the bank's label rule finds the planted churners.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

TOP_SHARE = 0.10
CALIBRATION_BINS = 10


def figures(churned: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    y = np.asarray(churned, dtype=int)
    n_top = max(1, math.ceil(len(y) * TOP_SHARE))
    base_rate = y.mean() if len(y) else float("nan")
    found_in_top = top_positives(y, np.asarray(probability, dtype=float), n_top)
    precision = found_in_top / n_top
    both = 0 < y.sum() < len(y)
    return {
        "rows": float(len(y)),
        "churners": float(y.sum()),
        "auc": float(roc_auc_score(y, probability)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, probability)) if both else float("nan"),
        "precision_at_10pct": float(precision),
        "recall_at_10pct": float(found_in_top / y.sum()) if y.sum() else float("nan"),
        "lift_at_10pct": float(precision / base_rate) if base_rate else float("nan"),
    }


def top_positives(y: np.ndarray, probability: np.ndarray, n_top: int) -> float:
    """Positives among the `n_top` rows of highest probability, rows tied at the edge of the top
    counted at their share (what a random order among equals finds on average): with every
    probability equal, the top holds the base rate, not whichever rows came first."""
    edge = np.sort(probability)[::-1][n_top - 1]
    above = probability > edge
    tied = probability == edge
    return float(y[above].sum() + y[tied].sum() * (n_top - above.sum()) / tied.sum())


def calibration_table(churned: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"churned": np.asarray(churned, dtype=int), "probability": probability})
    ranks = frame["probability"].rank(method="first")
    frame["bin"] = pd.qcut(ranks, min(CALIBRATION_BINS, len(frame)), labels=False) + 1
    return (
        frame.groupby("bin")
        .agg(rows=("churned", "size"), mean_probability=("probability", "mean"), churn_rate=("churned", "mean"))
        .reset_index()
    )


def truth_labels(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, held_out: pd.DataFrame, horizon_days: int
) -> np.ndarray:
    """1 where the simulator planted the customer to leave within the horizon after the scoring date."""
    churners = pd.read_csv(truth_dir / "churners.csv", dtype=str)
    keys = con.execute(
        "select source_key as customer_id, customer_key from intermediate.int_customer_xref "
        "where source_system = 'core_banking' and source_table = 'customers'"
    ).df()
    left = churners.merge(keys, on="customer_id")[["customer_key", "left_on"]]
    left_on = dict(zip(left["customer_key"], pd.to_datetime(left["left_on"]).dt.date, strict=True))
    horizon = timedelta(days=horizon_days)
    return np.array(
        [
            int(key in left_on and day < left_on[key] <= day + horizon)
            for key, day in zip(held_out["customer_key"], held_out["score_date"], strict=True)
        ]
    )


def truth_figures(churned: np.ndarray, probability: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    churned = np.asarray(churned, dtype=int)
    agree = float((churned & truth).sum())
    return {
        "auc_vs_truth": float(roc_auc_score(truth, probability)) if 0 < truth.sum() < len(truth) else float("nan"),
        "labels_precision_vs_truth": agree / churned.sum() if churned.sum() else float("nan"),
        "labels_recall_vs_truth": agree / truth.sum() if truth.sum() else float("nan"),
    }
