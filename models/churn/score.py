"""A night's churn scores: every customer with an open account on the scoring date, with the
calibrated probability, the risk band and the three strongest reasons."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from models.churn.dataset import matrix
from models.churn.features import compute_features
from models.churn.reasons import N_REASONS, top_reasons
from models.churn.store import StoredModel

RISK_BANDS = ("LOW", "MEDIUM", "HIGH")


def risk_band(probability: float, edges: list[float]) -> str:
    """LOW below the first edge, MEDIUM from it, HIGH from the second (setting churn_risk_band_edges)."""
    return RISK_BANDS[sum(probability >= edge for edge in edges)]


def score(
    con: duckdb.DuckDBPyConnection, model: StoredModel, score_date: date, band_edges: list[float] | None = None
) -> pa.Table:
    """The scores of `score_date`; the risk bands are the model's own edges (`band_edges`, the
    night's setting, only for a version stored before the edges were kept with it)."""
    edges = model.meta.risk_band_edges or band_edges
    if edges is None:
        raise ValueError(f"churn model {model.meta.version} keeps no risk band edges and none were given")
    features = compute_features(con, [score_date])
    frame = features.to_pandas()
    x = matrix(frame).to_numpy()
    probability: np.ndarray = model.probability(x) if len(frame) else np.zeros(0)
    reasons = top_reasons(x, model.contributions(x), model.meta.medians) if len(frame) else []
    columns: dict[str, pa.Array] = {
        "customer_key": pa.array(frame["customer_key"], pa.string()),
        "score_date": pa.array([score_date] * len(frame), pa.date32()),
        "churn_probability": pa.array([round(float(p), 4) for p in probability], pa.float64()),
        "risk_band": pa.array([risk_band(float(p), edges) for p in probability], pa.string()),
    }
    for k in range(N_REASONS):
        picked = [r[k] if len(r) > k else None for r in reasons]
        columns[f"reason_{k + 1}"] = pa.array([r.text if r else None for r in picked], pa.string())
        columns[f"reason_{k + 1}_feature"] = pa.array([r.feature if r else None for r in picked], pa.string())
        columns[f"reason_{k + 1}_contribution"] = pa.array(
            [round(r.contribution, 4) if r else None for r in picked], pa.float64()
        )
    columns["model_version"] = pa.array([model.meta.version] * len(frame), pa.string())
    return pa.table(columns)
