"""Tonight's churn scores: every customer with an open account on the latest business date.

A dbt Python model so that the scores are built, tested and published with the warehouse they
belong to (a failed build publishes none): it loads the model version named by the var
churn_model_version (setting of that name; `latest` is the newest trained) from the var
churn_model_dir, computes the point-in-time features with the same SQL as training
(models/churn/features.py) and scores them (models/churn/score.py). The risk bands are the
version's own (kept with it at training), so a night needs no churn setting to score as the
model was trained; the var churn_risk_band_edges serves only versions stored before. No trained
model: no rows (the run summary says scoring was skipped). docs/models.md describes the model.
"""

import json
from datetime import date
from pathlib import Path

import pyarrow as pa

from models.churn import store
from models.churn.score import score

SCHEMA = pa.schema(
    [
        ("customer_key", pa.string()),
        ("score_date", pa.date32()),
        ("churn_probability", pa.float64()),
        ("risk_band", pa.string()),
        *[
            field
            for k in (1, 2, 3)
            for field in (
                (f"reason_{k}", pa.string()),
                (f"reason_{k}_feature", pa.string()),
                (f"reason_{k}_contribution", pa.float64()),
            )
        ],
        ("model_version", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    models_dir = Path(dbt.config.get("churn_model_dir"))
    version = store.resolve_version(models_dir, dbt.config.get("churn_model_version"))
    if version is None:
        return SCHEMA.empty_table()
    # the features' SQL reads these by name; the refs (literals: dbt parses them) order the build and,
    # on Spark, make them readable by name (bankdw/spark_python.py)
    dbt.ref("int_products_current")
    dbt.ref("int_account_balances_keyed")
    dbt.ref("int_transactions_flagged")
    dbt.ref("int_web_sessions_keyed")
    dbt.ref("int_calls_keyed")
    dbt.ref("int_customer_value_monthly")
    dbt.ref("int_customer_rfm_monthly")
    latest: date | None = session.execute(
        "select max(business_date) from intermediate.int_account_balances_keyed"
    ).fetchone()[0]
    if latest is None:
        return SCHEMA.empty_table()
    # the model's own edges win; the var (rendered as a list, or its text) is for older versions
    edges = dbt.config.get("churn_risk_band_edges")
    edges = [float(edge) for edge in (json.loads(edges) if isinstance(edges, str) else edges)]
    return score(session, store.load(models_dir, version), latest, edges).cast(SCHEMA)
