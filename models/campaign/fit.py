"""Fit the response model: LightGBM, imbalance weighted, probabilities calibrated, as churn's
(models/churn/train.py says why LightGBM), with a time-based split around a cut-off.

Training rows are the contacts whose first call was before the cut-off (their outcome was
known by then); held-out rows are the contacts whose features date from the cut-off on, so no
week of the evaluation is seen in training. Conversions are fewer than churners and may carry
little signal: the trees are smaller and need more rows per leaf than churn's, so that noise
is not learned, and the sigmoid calibration on out-of-fold scores (folds: contiguous blocks
of as-of weeks) pulls the probabilities back to the rates observed (to the base rate for
every contact when the out-of-fold scores carry no signal).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier

from models.campaign.features import FEATURE_NAMES, matrix
from models.campaign.store import ResponseMeta, ResponseModel
from models.churn.train import CALIBRATION_FOLDS, calibrated_fit, date_folds, libraries, version_tag

PARAMS: dict[str, object] = {
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
    "n_jobs": 1,
    "deterministic": True,
    "random_state": 0,
    "verbose": -1,
}


class NotEnoughCampaigns(ValueError):
    """Too few contacts, conversions or weeks before the cut-off to fit a model."""


def split(rows: pd.DataFrame, cutoff: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows) around the cut-off."""
    train = rows[rows["first_call_date"].map(lambda d: d < cutoff)]
    held_out = rows[rows["as_of"].map(lambda d: d >= cutoff)]
    return train.reset_index(drop=True), held_out.reset_index(drop=True)


def _classifier(y: np.ndarray) -> LGBMClassifier:
    positives = int(y.sum())
    return LGBMClassifier(**PARAMS, scale_pos_weight=(len(y) - positives) / max(positives, 1))


def fingerprint(train: pd.DataFrame, cutoff: date) -> str:
    """sha256 of the training rows (keys, features, labels) and the cut-off."""
    digest = hashlib.sha256(f"{cutoff}".encode())
    ordered = train.sort_values(["as_of", "campaign_id", "customer_key"])[
        ["campaign_id", "customer_key", "as_of", *FEATURE_NAMES, "converted"]
    ]
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def fit(train: pd.DataFrame, cutoff: date, min_positives: int) -> ResponseModel:
    """A calibrated model of the contacts in `train` (first called before the cut-off)."""
    y = train["converted"].to_numpy(dtype=int)
    weeks = train["as_of"].nunique()
    if int(y.sum()) < min_positives or weeks < CALIBRATION_FOLDS:
        raise NotEnoughCampaigns(
            f"{int(y.sum())} conversions in {len(train)} campaign contacts over {weeks} weeks before the cut-off "
            f"{cutoff}: at least {min_positives} conversions (setting response_min_conversions) over "
            f"{CALIBRATION_FOLDS} weeks are needed (a later --cutoff gives more)"
        )
    final, calibration = calibrated_fit(_classifier(y), _classifier(y), matrix(train), y, date_folds(train["as_of"]))
    data_fingerprint = fingerprint(train, cutoff)
    libs = libraries()
    tag = version_tag(data_fingerprint, libs)
    meta = ResponseMeta(
        version=f"{cutoff.isoformat()}-{tag}",
        cutoff=cutoff.isoformat(),
        data_fingerprint=data_fingerprint,
        libraries=libs,
        features=list(FEATURE_NAMES),
        calibration_slope=calibration.slope,
        calibration_intercept=calibration.intercept,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        train_rows=len(train),
        train_positives=int(y.sum()),
        train_campaigns=int(train["campaign_id"].nunique()),
    )
    return ResponseModel(meta, final.booster_)
