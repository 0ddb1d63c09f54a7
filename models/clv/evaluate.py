"""The back-test's figures: predicted against actual contribution over the months after the
cut-off, per customer (customers who left count with what they still made, usually 0)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

DECILES = 10


def figures(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """customers, spearman (rank correlation), mean_absolute_error, mean_predicted, mean_actual,
    and total_ratio (sum predicted / sum actual)."""
    rho = spearmanr(predicted, actual).statistic if len(predicted) > 1 else float("nan")
    return {
        "customers": float(len(predicted)),
        "spearman": float(rho),
        "mean_absolute_error": float(np.mean(np.abs(predicted - actual))),
        "mean_predicted": float(np.mean(predicted)),
        "mean_actual": float(np.mean(actual)),
        "total_ratio": float(predicted.sum() / actual.sum()) if actual.sum() else float("nan"),
    }


def decile_table(predicted: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    """By decile of the prediction (1: the lowest tenth): customers, mean predicted, mean actual,
    mean absolute error."""
    ranks = pd.Series(predicted).rank(method="first")
    decile = pd.qcut(ranks, DECILES, labels=range(1, DECILES + 1)).astype(int)
    frame = pd.DataFrame({"decile": decile, "predicted": predicted, "actual": actual})
    frame["error"] = (frame["predicted"] - frame["actual"]).abs()
    table = frame.groupby("decile").agg(
        customers=("predicted", "size"),
        mean_predicted=("predicted", "mean"),
        mean_actual=("actual", "mean"),
        mean_absolute_error=("error", "mean"),
    )
    return table.reset_index()
