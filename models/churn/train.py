"""Fit the churn model: LightGBM, class imbalance weighted, probabilities calibrated.

Why LightGBM rather than scikit-learn's HistGradientBoosting: both are histogram gradient
boosting and score alike on tables of this shape, but LightGBM computes each prediction's exact
per-feature contributions itself (`pred_contrib`, TreeSHAP), which the reasons need; with
HistGradientBoosting they would take the `shap` package and numba. scikit-learn still does what
it is best at here: the calibration's logistic regression and the metrics.

Imbalance: churners are a few percent of the rows, so positives are weighted by the ratio of
negatives to positives (`scale_pos_weight`); that inflates the raw scores, which is why they
are calibrated. Calibration: a sigmoid of the raw score (log-odds), p = 1 / (1 + exp(-(a * raw
+ b))), fitted by logistic regression of the labels on out-of-fold raw scores, the folds being
contiguous blocks of scoring dates (a fold never predicts its own dates).

Why a sigmoid (Platt scaling) and not isotonic regression, used before: isotonic regression is
a step function, and with a few hundred churners it has a few dozen steps. Every customer on a
step got the same probability: on the suite's bank 3,636 held-out rows had 16 distinct
probabilities, so the ranking the booster learned was thrown away within each step (the AUC,
the top decile, the top 20 at risk and the nightly ranks were decided by ties). A sigmoid with
a positive slope keeps the booster's order exactly, has two parameters to fit on few positives
(scikit-learn's calibration guide: isotonic regression overfits below about a thousand
calibration rows, the case of the positives here), and corrects what the weighting does to the
raw score (a shift of its log-odds). A slope fitted at or below zero (out-of-fold scores with no
signal, as the simulator's random campaign outcomes) is set to 0: every row gets the base rate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import lightgbm
import numpy as np
import pandas as pd
import sklearn
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from models.churn.dataset import matrix
from models.churn.features import FEATURE_NAMES
from models.churn.labels import LabelRule
from models.churn.store import ModelMeta, StoredModel

CALIBRATION_FOLDS = 3
PARAMS: dict[str, object] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "n_jobs": 1,
    "deterministic": True,
    "random_state": 0,
    "verbose": -1,
}


class NotEnoughHistory(ValueError):
    """Too few labelled rows or churners before the cut-off to fit a model."""


def _classifier(y: np.ndarray) -> LGBMClassifier:
    positives = int(y.sum())
    return LGBMClassifier(**PARAMS, scale_pos_weight=(len(y) - positives) / max(positives, 1))


def date_folds(dates: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    unique = np.array(sorted(dates.unique()))
    blocks = np.array_split(unique, min(CALIBRATION_FOLDS, len(unique)))
    folds = []
    for block in blocks:
        test = dates.isin(set(block)).to_numpy()
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return folds


def fingerprint(train: pd.DataFrame, cutoff: date, rule: LabelRule) -> str:
    """sha256 of the training rows (keys, features, labels), the cut-off and the label rule."""
    digest = hashlib.sha256(f"{cutoff}|{rule}".encode())
    ordered = train.sort_values(["score_date", "customer_key"])[
        ["customer_key", "score_date", *FEATURE_NAMES, "churned"]
    ]
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


CALIBRATION = "sigmoid"
"""Named in the version's hash: a version fitted with isotonic points before is another model."""


def version_tag(data_fingerprint: str, libs: dict[str, str]) -> str:
    """The hash in a version's name: the same data, libraries and calibration give the same name."""
    return hashlib.sha256(f"{data_fingerprint}|{sorted(libs.items())}|{CALIBRATION}".encode()).hexdigest()[:12]


def libraries() -> dict[str, str]:
    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__}


@dataclass(frozen=True)
class Sigmoid:
    """p = 1 / (1 + exp(-(slope * raw score + intercept))), the raw score in log-odds."""

    slope: float
    intercept: float


def sigmoid_calibration(raw: np.ndarray, y: np.ndarray) -> Sigmoid:
    """Logistic regression of the labels on the raw scores, unpenalised; a slope at or below 0
    (scores with no signal, or against it) gives every row the base rate instead."""
    fitted = LogisticRegression(C=np.inf).fit(raw.reshape(-1, 1), y)
    slope = float(fitted.coef_[0, 0])
    if slope > 0:
        return Sigmoid(slope, float(fitted.intercept_[0]))
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    return Sigmoid(0.0, float(np.log(rate / (1 - rate))))


def calibrated_fit(
    folded: LGBMClassifier,
    final: LGBMClassifier,
    x: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[LGBMClassifier, Sigmoid]:
    """`final` fitted on every row, and the sigmoid calibration of the labels on `folded`'s
    out-of-fold raw scores (each fold predicted by a model that never saw its dates)."""
    out_of_fold = np.zeros(len(y))
    for fit_rows, predict_rows in folds:
        fold = clone(folded).fit(x.iloc[fit_rows], y[fit_rows])
        out_of_fold[predict_rows] = fold.predict(x.iloc[predict_rows], raw_score=True)
    return final.fit(x, y), sigmoid_calibration(out_of_fold, y)


@dataclass(frozen=True)
class Grid:
    """What the night and the evaluation need besides the booster: kept in the version."""

    risk_band_edges: list[float]
    score_interval_days: int
    min_history_days: int


def fit(
    train: pd.DataFrame, cutoff: date, rule: LabelRule, grid: Grid | None = None, min_positives: int = 5
) -> StoredModel:
    """A calibrated model of `train` (labelled rows whose horizon ended before the cut-off)."""
    y = train["churned"].to_numpy(dtype=int)
    if int(y.sum()) < min_positives or train["score_date"].nunique() < CALIBRATION_FOLDS:
        raise NotEnoughHistory(
            f"{int(y.sum())} churners on {train['score_date'].nunique()} scoring dates whose horizon of "
            f"{rule.horizon_days} days ends before the cut-off {cutoff}: at least {min_positives} churners on "
            f"{CALIBRATION_FOLDS} dates are needed (an earlier --cutoff needs more history; a shorter "
            "churn_horizon_days or churn_score_interval_days gives more rows)"
        )
    x = matrix(train)
    final, calibration = calibrated_fit(_classifier(y), _classifier(y), x, y, date_folds(train["score_date"]))
    data_fingerprint = fingerprint(train, cutoff, rule)
    libs = libraries()
    tag = version_tag(data_fingerprint, libs)
    meta = ModelMeta(
        version=f"{cutoff.isoformat()}-{tag}",
        cutoff=cutoff.isoformat(),
        data_fingerprint=data_fingerprint,
        libraries=libs,
        features=list(FEATURE_NAMES),
        medians={name: float(x[name].median()) if x[name].notna().any() else 0.0 for name in FEATURE_NAMES},
        calibration_slope=calibration.slope,
        calibration_intercept=calibration.intercept,
        horizon_days=rule.horizon_days,
        label_rule={k: float(v) for k, v in vars(rule).items()},
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        train_rows=len(train),
        train_positives=int(y.sum()),
        risk_band_edges=list(grid.risk_band_edges) if grid else None,
        score_interval_days=grid.score_interval_days if grid else None,
        min_history_days=grid.min_history_days if grid else None,
    )
    return StoredModel(meta, final.booster_)
