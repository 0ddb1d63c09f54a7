"""The churn model's commands: train a version on the published warehouse, evaluate it on
the period after its cut-off, and record both in the lake's audit (`audit.model_runs`).

The model itself is `models/churn/` (docs/models.md); this module only joins it to the
settings, the published warehouse and the audit log.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from bankdw.config import Settings
from bankdw.publish import published_state_path
from extract.lake import write_atomically
from models.churn import store
from models.churn.dataset import labelled_rows, matrix, scoring_dates, split, warehouse_window
from models.churn.evaluate import calibration_table, figures, truth_figures, truth_labels
from models.churn.labels import LabelRule
from models.churn.reasons import N_REASONS, top_reasons
from models.churn.train import Grid, fit
from models.runs import MODEL_RUNS_SCHEMA, model_runs_dir

log = logging.getLogger(__name__)

HELD_OUT_FILE = "held_out.parquet"
"""Beside the model: the evaluation's rows (customer, date, label, probability, reasons), for the notebook."""
FIGURES = ("auc", "average_precision", "precision_at_10pct", "recall_at_10pct", "lift_at_10pct")


def label_rule(settings: Settings) -> LabelRule:
    return LabelRule(
        horizon_days=settings.churn_horizon_days,
        balance_threshold=settings.churn_balance_threshold,
        activity_threshold=settings.churn_activity_threshold,
        stay_days=settings.churn_stay_days,
    )


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(f"no published warehouse at {settings.warehouse_path}: run `bankdw run` first")
    # the features are intermediate models: the published version's whole build holds them
    con = duckdb.connect(str(published_state_path(settings)), read_only=True, config=settings.duckdb_config())
    con.execute(f"set TimeZone = '{settings.timezone}'")
    return con


@dataclass(frozen=True)
class Evaluation:
    version: str
    figures: dict[str, float]
    calibration_path: Path | None
    waiting: str | None = None
    """Why there are no figures yet: no held-out date has its whole horizon in the warehouse."""


class NothingToEvaluate(ValueError):
    """No scoring date from the model's cut-off on has its whole horizon in the warehouse yet."""


def record_model_run(settings: Settings, row: dict[str, object], model: str = "churn") -> None:
    """One row of audit.model_runs, in the lake (columns absent from `row` are null)."""
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{model}-{row['action']}"
    row = {"run_id": run_id, "model": model, "ran_at": datetime.now(UTC), **row}
    table = pa.Table.from_pylist([row], schema=MODEL_RUNS_SCHEMA)
    write_atomically(table, model_runs_dir(settings.lake_dir) / f"{run_id}.parquet")


def _figure_columns(found: dict[str, float]) -> dict[str, object]:
    return {
        "eval_rows": int(found.get("rows", 0)),
        "eval_churners": int(found.get("churners", 0)),
        **{name: found.get(name) for name in (*FIGURES, "auc_vs_truth")},
    }


def train(settings: Settings, cutoff: date) -> Evaluation:
    """Fit a version on the scoring dates whose horizon ends before `cutoff`, store it, and
    evaluate it on the dates from the cut-off on."""
    t0 = time.monotonic()
    rule = label_rule(settings)
    with _connect(settings) as con:
        window = warehouse_window(con)
        dates = scoring_dates(window, settings.churn_min_history_days, settings.churn_score_interval_days)
        rows = labelled_rows(con, dates, rule)
    training, _ = split(rows, cutoff, rule.horizon_days)
    grid = Grid(
        risk_band_edges=list(settings.churn_risk_band_edges),
        score_interval_days=settings.churn_score_interval_days,
        min_history_days=settings.churn_min_history_days,
    )
    model = fit(training, cutoff, rule, grid)
    folder = store.save(settings.churn_models_dir, model)
    seconds = round(time.monotonic() - t0, 1)
    log.info(
        "trained churn model %s in %.1fs on %d rows (%d churners): %s",
        model.meta.version,
        seconds,
        model.meta.train_rows,
        model.meta.train_positives,
        folder,
    )
    try:
        evaluation = evaluate(settings, model.meta.version, rows=rows)
    except NothingToEvaluate as waiting:
        # the model is stored and usable by the night; its figures come once the data covers a horizon
        log.info("churn model %s stored; its evaluation waits: %s", model.meta.version, waiting)
        evaluation = Evaluation(model.meta.version, {}, None, waiting=str(waiting))
    record_model_run(
        settings,
        {
            "action": "train",
            "model_version": model.meta.version,
            "cutoff": cutoff,
            "data_fingerprint": model.meta.data_fingerprint,
            "libraries": json.dumps(model.meta.libraries),
            "seconds": seconds,
            "train_rows": model.meta.train_rows,
            "train_churners": model.meta.train_positives,
            **_figure_columns(evaluation.figures),
        },
    )
    return evaluation


def evaluate(
    settings: Settings, version: str = "latest", truth_dir: Path | None = None, rows: pd.DataFrame | None = None
) -> Evaluation:
    """Figures of a stored version on the warehouse's scoring dates from its cut-off on; the
    calibration table is written beside the model (`calibration.csv`)."""
    t0 = time.monotonic()
    standalone = rows is None  # not the evaluation that `train` records with its fit
    found_version = store.resolve_version(settings.churn_models_dir, version)
    if found_version is None:
        raise FileNotFoundError(
            f"no churn model trained in {settings.churn_models_dir}: run `bankdw models train churn`"
        )
    model = store.load(settings.churn_models_dir, found_version)
    rule = LabelRule(**{k: type(getattr(label_rule(settings), k))(v) for k, v in model.meta.label_rule.items()})
    cutoff = date.fromisoformat(model.meta.cutoff)
    with _connect(settings) as con:
        if rows is None:
            window = warehouse_window(con)
            # the version's own grid (older versions: the settings')
            history = model.meta.min_history_days
            dates = scoring_dates(
                window,
                settings.churn_min_history_days if history is None else history,
                model.meta.score_interval_days or settings.churn_score_interval_days,
            )
            rows = labelled_rows(con, [d for d in dates if d >= cutoff], rule)
        _, held_out = split(rows, cutoff, rule.horizon_days)
        if held_out.empty:
            ready = cutoff + timedelta(days=rule.horizon_days)
            raise NothingToEvaluate(
                f"no scoring date from the cut-off {cutoff} on has its {rule.horizon_days}-day horizon in the "
                f"warehouse yet: evaluation must wait until the warehouse holds {ready} (or train with an "
                "earlier --cutoff)"
            )
        x = matrix(held_out).to_numpy()
        probability = model.probability(x)
        churned = held_out["churned"].to_numpy(dtype=int)
        found = figures(churned, probability)
        if truth_dir is not None:
            found |= truth_figures(churned, probability, truth_labels(con, truth_dir, held_out, rule.horizon_days))
    path = settings.churn_models_dir / found_version / "calibration.csv"
    calibration_table(churned, probability).to_csv(path, index=False)
    reasons = top_reasons(x, model.contributions(x), model.meta.medians)
    predictions = held_out[["customer_key", "score_date", "churned"]].assign(
        churn_probability=probability,
        **{f"reason_{k + 1}": [r[k].text if len(r) > k else None for r in reasons] for k in range(N_REASONS)},
        **{
            f"reason_{k + 1}_feature": [r[k].feature if len(r) > k else None for r in reasons] for k in range(N_REASONS)
        },
    )
    predictions.to_parquet(path.with_name(HELD_OUT_FILE), index=False)
    if standalone:
        record_model_run(
            settings,
            {
                "action": "evaluate",
                "model_version": found_version,
                "cutoff": cutoff,
                "data_fingerprint": model.meta.data_fingerprint,
                "libraries": json.dumps(model.meta.libraries),
                "seconds": round(time.monotonic() - t0, 1),
                **_figure_columns(found),
            },
        )
    return Evaluation(found_version, found, path)
