"""A night's campaign propensities: every customer with an open account on the scoring date,
ranked for the next campaign (rank 1: the most likely to convert; ties by customer key)."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from models.campaign.features import customer_features, matrix
from models.campaign.store import ResponseModel


def score(con: duckdb.DuckDBPyConnection, model: ResponseModel, score_date: date) -> pa.Table:
    frame = customer_features(con, [score_date]).sort_values("customer_key").reset_index(drop=True)
    probability: np.ndarray = model.probability(matrix(frame).to_numpy()) if len(frame) else np.zeros(0)
    rounded = np.round(probability, 4)
    rank = ranks(frame["customer_key"].to_numpy(), rounded)
    return pa.table(
        {
            "customer_key": pa.array(frame["customer_key"], pa.string()),
            "score_date": pa.array([score_date] * len(frame), pa.date32()),
            "propensity": pa.array(rounded.tolist(), pa.float64()),
            "propensity_rank": pa.array(rank, pa.int64()),
            "model_version": pa.array([model.meta.version] * len(frame), pa.string()),
        }
    )


def ranks(keys: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """1 for the highest propensity, ties by key: ranked by the published (rounded) propensity,
    so that the ranks agree with the column."""
    order = np.lexsort((keys, -propensity))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(1, len(keys) + 1)
    return rank
