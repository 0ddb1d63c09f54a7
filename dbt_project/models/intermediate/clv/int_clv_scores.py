"""Tonight's lifetime value scores (docs/models.md), built and published with the warehouse
they belong to, as int_churn_scores is: the model version named by the var clv_model_version
(setting of that name; `latest` is the newest trained) from the var clv_model_dir, applied to
the monthly value history (models/clv/score.py) with the vars clv_discount_rate and
clv_horizon_months. No trained model: no rows (the run summary says scoring was skipped).
"""

from datetime import date
from pathlib import Path

from models.clv import store
from models.clv.score import SCHEMA, score


def model(dbt, session):
    dbt.config(materialized="table")
    models_dir = Path(dbt.config.get("clv_model_dir"))
    version = store.resolve_version(models_dir, dbt.config.get("clv_model_version"), setting="clv_model_version")
    if version is None:
        return SCHEMA.empty_table()
    # the history's SQL reads these by name; the refs (literals: dbt parses them) order the build and,
    # on Spark, make them readable by name (bankdw/spark_python.py)
    dbt.ref("int_customer_value_monthly")
    dbt.ref("int_customer_profitability_monthly")
    dbt.ref("int_account_balances_keyed")
    latest: date | None = session.execute(
        "select max(business_date) from intermediate.int_account_balances_keyed"
    ).fetchone()[0]
    if latest is None:
        return SCHEMA.empty_table()
    return score(
        session,
        store.load(models_dir, version),
        latest,
        float(dbt.config.get("clv_discount_rate")),
        int(dbt.config.get("clv_horizon_months")),
    )
