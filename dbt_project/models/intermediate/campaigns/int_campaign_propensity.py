"""Tonight's campaign propensities: every customer with an open account on the latest business
date, ranked for the next outbound campaign.

A dbt Python model, as int_churn_scores is, so that the scores are built, tested and published
with the warehouse they belong to: it loads the response model version named by the var
response_model_version (`latest`: the newest trained) from the var response_model_dir,
computes the point-in-time features with the same SQL as training (models/campaign/features.py)
and scores them (models/campaign/score.py). No trained model: no rows (the run summary says
scoring was skipped). docs/models.md describes the model.
"""

from datetime import date
from pathlib import Path

import pyarrow as pa

from models.campaign import store
from models.campaign.score import score
from models.churn.store import resolve_version

SCHEMA = pa.schema(
    [
        ("customer_key", pa.string()),
        ("score_date", pa.date32()),
        ("propensity", pa.float64()),
        ("propensity_rank", pa.int64()),
        ("model_version", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    models_dir = Path(dbt.config.get("response_model_dir"))
    version = resolve_version(models_dir, dbt.config.get("response_model_version"), "response_model_version")
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
    return score(session, store.load(models_dir, version), latest).cast(SCHEMA)
