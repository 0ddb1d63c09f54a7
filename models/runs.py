"""The analytical models' audit: one row per fit or evaluation (`bankdw models train|evaluate`),
kept in the lake beside the check history, because the warehouse file is rebuilt each run.

    <lake>/_audit/model_runs/<run_id>.parquet   a fit or an evaluation (bankdw.churn.record_model_run)
    <lake>/_audit/model_runs/empty.parquet      zero rows, the schema (ensure_model_runs_schema)

dbt reads the folder as audit.model_runs on either engine. The schema file gives the model its
columns before the first model is trained: DuckDB reads it with the rest of `_audit/`, and Spark,
which skips files whose name starts with `_` or `.`, reads it because its name does not (the check
history's `_empty.parquet` is for DuckDB alone: a night's feed gates write a check file before
its build, which Spark reads instead).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from extract.lake import write_atomically

MODEL_RUNS = Path("_audit") / "model_runs"
"""The folder of the model runs' files, relative to the lake."""
SCHEMA_FILE = "empty.parquet"
MODEL_RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("model", pa.string()),
        ("action", pa.string()),
        ("ran_at", pa.timestamp("us", tz="UTC")),
        ("model_version", pa.string()),
        ("cutoff", pa.date32()),
        ("data_fingerprint", pa.string()),
        ("libraries", pa.string()),
        ("seconds", pa.float64()),
        ("train_rows", pa.int64()),
        ("train_churners", pa.int64()),
        ("eval_rows", pa.int64()),
        ("eval_churners", pa.int64()),
        *[
            (name, pa.float64())
            for name in (
                "auc",
                "average_precision",
                "precision_at_10pct",
                "recall_at_10pct",
                "lift_at_10pct",
                "auc_vs_truth",
                "spearman",
                "mean_absolute_error",
            )
        ],
        ("figures", pa.string()),
    ]
)


def model_runs_dir(lake_dir: Path) -> Path:
    return lake_dir / MODEL_RUNS


def ensure_model_runs_schema(lake_dir: Path) -> None:
    """The zero-row schema file, so that audit.model_runs builds before any model is trained."""
    empty = model_runs_dir(lake_dir) / SCHEMA_FILE
    if not empty.exists():
        write_atomically(MODEL_RUNS_SCHEMA.empty_table(), empty)
