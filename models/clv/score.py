"""A night's lifetime value scores: every customer in a value tier other than LAPSED in the
last month before the scoring date's month, still not LAPSED in the scoring date's month."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from models.clv.fit import LAPSED
from models.clv.history import month_of, monthly_history
from models.clv.predict import predict
from models.clv.store import ClvModel

SCHEMA = pa.schema(
    [
        ("customer_key", pa.string()),
        ("score_date", pa.date32()),
        ("value_tier", pa.string()),
        ("expected_contribution_12m", pa.float64()),
        ("expected_contribution_36m", pa.float64()),
        ("clv", pa.float64()),
        ("retention_probability", pa.float64()),
        ("model_version", pa.string()),
    ]
)


def score(
    con: duckdb.DuckDBPyConnection, model: ClvModel, score_date: date, discount_rate: float, horizon_months: int
) -> pa.Table:
    history = monthly_history(con)
    month = month_of(score_date)
    found = predict(history, model, month, {"12m": 12, "36m": 36}, discount_rate, horizon_months)
    if found.empty:
        return SCHEMA.empty_table()
    now = history[history["month_start"] == month]
    gone = set(now.loc[now["value_tier"] == LAPSED, "customer_key"])
    found = found[~found["customer_key"].isin(gone)]
    return pa.table(
        {
            "customer_key": pa.array(found["customer_key"], pa.string()),
            "score_date": pa.array([score_date] * len(found), pa.date32()),
            "value_tier": pa.array(found["value_tier"], pa.string()),
            "expected_contribution_12m": pa.array(found["expected_contribution_12m"].round(2), pa.float64()),
            "expected_contribution_36m": pa.array(found["expected_contribution_36m"].round(2), pa.float64()),
            "clv": pa.array(found["clv"].round(2), pa.float64()),
            "retention_probability": pa.array(found["retention_probability"].round(4), pa.float64()),
            "model_version": pa.array([model.version] * len(found), pa.string()),
        },
        schema=SCHEMA,
    )
