"""The campaign response model's commands: train a version on the published warehouse with a
cut-off, evaluate it on the contacts after, and record both in `audit.model_runs`.

The model itself is `models/campaign/` (docs/models.md); this module joins it to the settings,
the published warehouse and the audit log, as bankdw/churn.py does for churn.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from bankdw.churn import _connect, record_model_run
from bankdw.config import Settings
from models.campaign import store
from models.campaign.evaluate import response_calibration, response_figures
from models.campaign.features import labelled_rows, matrix
from models.campaign.fit import fit, split
from models.churn.store import resolve_version

log = logging.getLogger(__name__)

MODEL = "response"
HELD_OUT_FILE = "held_out.parquet"
"""Beside the model: the held-out contacts with their propensity and outcome."""
CALIBRATION_FILE = "calibration.csv"
FIGURES = ("auc", "average_precision", "precision_at_10pct", "recall_at_10pct", "lift_at_10pct")


@dataclass(frozen=True)
class Evaluation:
    version: str
    figures: dict[str, float]
    calibration_path: Path


def train(settings: Settings, cutoff: date) -> Evaluation:
    """Fit a version on the contacts first called before `cutoff`, store it, evaluate it on
    the contacts from the cut-off on."""
    t0 = time.monotonic()
    with _connect(settings) as con:
        rows = labelled_rows(con)
    training, _ = split(rows, cutoff)
    model = fit(training, cutoff, settings.response_min_conversions)
    folder = store.save(settings.response_models_dir, model)
    seconds = round(time.monotonic() - t0, 1)
    log.info(
        "trained response model %s in %.1fs on %d contacts (%d conversions): %s",
        model.meta.version,
        seconds,
        model.meta.train_rows,
        model.meta.train_positives,
        folder,
    )
    evaluation = evaluate(settings, model.meta.version, rows=rows)
    record_model_run(settings, _row("train", model.meta, seconds, evaluation), model=MODEL)
    return evaluation


def evaluate(settings: Settings, version: str = "latest", rows: pd.DataFrame | None = None) -> Evaluation:
    """Figures of a stored version on the contacts from its cut-off on; the calibration table
    and the held-out rows are written beside the model."""
    t0 = time.monotonic()
    standalone = rows is None  # not the evaluation that `train` records with its fit
    found = resolve_version(settings.response_models_dir, version, setting="response_model_version")
    if found is None:
        raise FileNotFoundError(
            f"no response model trained in {settings.response_models_dir}: run `bankdw models train response`"
        )
    model = store.load(settings.response_models_dir, found)
    cutoff = date.fromisoformat(model.meta.cutoff)
    if rows is None:
        with _connect(settings) as con:
            rows = labelled_rows(con)
    _, held_out = split(rows, cutoff)
    if held_out.empty or held_out["converted"].nunique() < 2:
        raise ValueError(
            f"the warehouse holds {len(held_out)} campaign contacts from the cut-off {cutoff} on, "
            f"{int(held_out['converted'].sum()) if len(held_out) else 0} of them converted: nothing to evaluate "
            "yet (train with an earlier --cutoff)"
        )
    probability = model.probability(matrix(held_out).to_numpy())
    converted = held_out["converted"].to_numpy(dtype=int)
    folder = settings.response_models_dir / found
    response_calibration(converted, probability).to_csv(folder / CALIBRATION_FILE, index=False)
    held_out[["campaign_id", "customer_key", "as_of", "converted"]].assign(propensity=probability).to_parquet(
        folder / HELD_OUT_FILE, index=False
    )
    evaluation = Evaluation(found, response_figures(converted, probability), folder / CALIBRATION_FILE)
    if standalone:
        record_model_run(settings, _row("evaluate", model.meta, round(time.monotonic() - t0, 1), evaluation), MODEL)
    return evaluation


def _row(action: str, meta: store.ResponseMeta, seconds: float, evaluation: Evaluation) -> dict[str, object]:
    found = evaluation.figures
    return {
        "action": action,
        "model_version": meta.version,
        "cutoff": date.fromisoformat(meta.cutoff),
        "data_fingerprint": meta.data_fingerprint,
        "libraries": json.dumps(meta.libraries),
        "seconds": seconds,
        "train_rows": meta.train_rows,
        "train_churners": meta.train_positives,
        "eval_rows": int(found["contacts"]),
        "eval_churners": int(found["conversions"]),
        **{name: found.get(name) for name in FIGURES},
        "figures": json.dumps(found),
    }
