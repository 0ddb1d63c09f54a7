"""Identity resolution of the core customer records: one row per record, its customer_key and rule.

A dbt Python model so that resolution runs inside `dbt build`, between the normalised records
it reads and the models that read it (see models/identity.py for the rules and why here).
It persists the key registry beside the lake (config identity_state_dir): the warehouse file
is rebuilt by every run, the registry is what keeps customer keys stable across runs.
"""

from datetime import date
from pathlib import Path

from models.identity import IdentityConfig, run


def model(dbt, session):
    dbt.config(materialized="table")
    records = dbt.ref("int_customer_records_normalised")
    table = records.to_arrow_table()
    dates = [d for d in table.column("snapshot_date").to_pylist() if d is not None]
    as_of = max(dates) if dates else date(1970, 1, 1)
    # Each setting is read by a plain `dbt.config.get(<name>)` statement: dbt finds the settings
    # a Python model uses by reading its source, and it missed a call nested in an expression
    # (`str(dbt.config.get(...)).lower()`), which then read as None: splink silently never ran.
    match_threshold = dbt.config.get("match_threshold")
    min_training_pairs = dbt.config.get("min_training_pairs")
    probabilistic = dbt.config.get("probabilistic")
    state_dir = dbt.config.get("identity_state_dir")
    for name, value in (
        ("match_threshold", match_threshold),
        ("min_training_pairs", min_training_pairs),
        ("probabilistic", probabilistic),
        ("identity_state_dir", state_dir),
    ):
        if value is None:
            raise ValueError(f"int_customer_identity: config '{name}' did not reach the model")
    config = IdentityConfig(
        match_threshold=float(match_threshold),
        min_training_pairs=int(min_training_pairs),
        probabilistic=str(probabilistic).lower() == "true",
    )
    keyed, _ = run(table, Path(state_dir), as_of, config)
    return keyed
