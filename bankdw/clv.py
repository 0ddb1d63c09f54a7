"""The lifetime value model's commands: train a version on the published warehouse up to a
cut-off, back-test it on the months after, and record both in `audit.model_runs`.

The model itself is `models/clv/` (docs/models.md); this module joins it to the settings, the
published warehouse and the audit log, as bankdw/churn.py does for churn.
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
from models.clv import store
from models.clv.evaluate import decile_table, figures
from models.clv.fit import FitRule, fit
from models.clv.history import complete_contributions, month_of, monthly_history
from models.clv.predict import predict

log = logging.getLogger(__name__)

BACKTEST_MONTHS = 12
"""The back-test compares at most this many complete months after the cut-off."""
HELD_OUT_FILE = "held_out.parquet"
"""Beside the model: each customer's predicted and actual contribution after the cut-off, for the notebook."""
DECILES_FILE = "deciles.csv"


def fit_rule(settings: Settings) -> FitRule:
    return FitRule(
        margin_window_months=settings.clv_margin_window_months,
        margin_prior_months=settings.clv_margin_prior_months,
        min_segment_customers=settings.clv_min_segment_customers,
    )


@dataclass(frozen=True)
class Backtest:
    version: str
    figures: dict[str, float]
    deciles: pd.DataFrame
    deciles_path: Path


def train(settings: Settings, cutoff: date) -> Backtest:
    """Fit a version on the months before the cut-off's month, store it, and back-test it."""
    t0 = time.monotonic()
    with _connect(settings) as con:
        history = monthly_history(con)
    model = fit(history, cutoff, fit_rule(settings))
    folder = store.save(settings.clv_models_dir, model)
    seconds = round(time.monotonic() - t0, 2)
    log.info("trained clv model %s in %.2fs on %d customers: %s", model.version, seconds, model.train_customers, folder)
    backtest = evaluate(settings, model.version, record=False)
    record_model_run(settings, _row("train", model, seconds, backtest), model="clv")
    return backtest


def evaluate(settings: Settings, version: str = "latest", record: bool = True) -> Backtest:
    """Predict the complete months after the version's cut-off (at most BACKTEST_MONTHS) and
    compare with the contribution each customer made; the decile table and the per-customer
    rows are written beside the model."""
    t0 = time.monotonic()
    found = store.resolve_version(settings.clv_models_dir, version, setting="clv_model_version")
    if found is None:
        raise FileNotFoundError(f"no clv model trained in {settings.clv_models_dir}: run `bankdw models train clv`")
    model = store.load(settings.clv_models_dir, found)
    start = month_of(date.fromisoformat(model.cutoff))
    with _connect(settings) as con:
        history = monthly_history(con)
        actuals = complete_contributions(con)
    after = actuals[actuals["month_start"] >= start]
    months = sorted(after["month_start"].unique())[:BACKTEST_MONTHS]
    if not months:
        raise ValueError(
            f"no complete month from the cut-off {model.cutoff} on is in the warehouse yet: nothing to "
            "back-test (train with an earlier --cutoff)"
        )
    predicted = predict(history, model, start, {"backtest": len(months)}, settings.clv_discount_rate, 1)
    made = after[after["month_start"].isin(months)].groupby("customer_key")["contribution"].sum()
    rows = predicted.assign(actual=predicted["customer_key"].map(made).fillna(0.0))
    p, a = rows["expected_contribution_backtest"].to_numpy(), rows["actual"].to_numpy()
    found_figures = {"months": float(len(months))} | figures(p, a)
    deciles = decile_table(p, a)
    folder = settings.clv_models_dir / found
    deciles.to_csv(folder / DECILES_FILE, index=False)
    rows.to_parquet(folder / HELD_OUT_FILE, index=False)
    backtest = Backtest(found, found_figures, deciles, folder / DECILES_FILE)
    if record:
        record_model_run(settings, _row("evaluate", model, round(time.monotonic() - t0, 2), backtest), model="clv")
    return backtest


def _row(action: str, model: store.ClvModel, seconds: float, backtest: Backtest) -> dict[str, object]:
    return {
        "action": action,
        "model_version": model.version,
        "cutoff": date.fromisoformat(model.cutoff),
        "data_fingerprint": model.data_fingerprint,
        "libraries": json.dumps(model.libraries),
        "seconds": seconds,
        "train_rows": model.train_customers,
        "eval_rows": int(backtest.figures["customers"]),
        "spearman": backtest.figures["spearman"],
        "mean_absolute_error": backtest.figures["mean_absolute_error"],
        "figures": json.dumps(
            {
                "figures": backtest.figures,
                "retention": model.retention,
                "margin": model.margin,
                "deciles": backtest.deciles.to_dict(orient="records"),
            }
        ),
    }
