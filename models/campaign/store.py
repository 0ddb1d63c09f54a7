"""Trained response models in the data directory, one folder per version, never in git.

As the churn model's (models/churn/store.py): the LightGBM booster as text (`model.txt`) and
`model.json` (cut-off, data fingerprint, library versions, features, the calibration). No
pickle. The version's name is the cut-off and a hash of the fingerprint, the libraries and the
calibration; `models.churn.store.versions` and `resolve_version` find versions of either model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.churn.store import META_FILE, MODEL_FILE, calibrated_probability, save_booster

if TYPE_CHECKING:  # imported where a model is loaded: the nightly run asks only whether one exists
    import lightgbm


@dataclass(frozen=True)
class ResponseMeta:
    version: str
    cutoff: str
    data_fingerprint: str
    libraries: dict[str, str]
    features: list[str]
    trained_at: str
    train_rows: int
    train_positives: int
    train_campaigns: int
    calibration_slope: float | None = None
    """As the churn model's (models/churn/store.py); None: isotonic points (versions stored before)."""
    calibration_intercept: float | None = None
    calibration_x: list[float] = field(default_factory=list)
    """Isotonic points of versions stored before the sigmoid (as the churn model's); empty after."""
    calibration_y: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ResponseModel:
    meta: ResponseMeta
    booster: lightgbm.Booster

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities that a contact converts (features in `meta.features` order)."""
        return calibrated_probability(self.booster, x, self.meta)


def save(models_dir: Path, model: ResponseModel) -> Path:
    return save_booster(models_dir, model.meta.version, model.booster, asdict(model.meta))


def load(models_dir: Path, version: str) -> ResponseModel:
    import lightgbm

    folder = models_dir / version
    meta = ResponseMeta(**json.loads((folder / META_FILE).read_text(encoding="utf-8")))
    return ResponseModel(meta, lightgbm.Booster(model_file=str(folder / MODEL_FILE)))
