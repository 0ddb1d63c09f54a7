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
    config = IdentityConfig(
        match_threshold=float(dbt.config.get("match_threshold")),
        min_training_pairs=int(dbt.config.get("min_training_pairs")),
        probabilistic=str(dbt.config.get("probabilistic")).lower() == "true",
    )
    keyed, _ = run(table, Path(dbt.config.get("identity_state_dir")), as_of, config)
    return keyed
