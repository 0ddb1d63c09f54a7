"""Trained churn models in the data directory, one folder per version, never in git.

A version folder `<churn_models_dir>/<version>/` holds the LightGBM booster as text
(`model.txt`), the calibration (a sigmoid of the booster's raw score; the isotonic points of
versions stored before) and everything that identifies the fit
(`model.json`: cut-off, data fingerprint, library versions, features, the training medians
the reasons compare with, the label rule, the risk band edges and the scoring grid). A night
scores with what the version says, not with its own churn settings. The version's name is the cut-off and a hash of the
fingerprint and the libraries: the same data and libraries give the same name. No pickle: a
model is read back by the library that wrote it, whatever Python objects have become since.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # imported where a model is loaded: the nightly run asks only whether one exists
    import lightgbm

MODEL_FILE, META_FILE = "model.txt", "model.json"


@dataclass(frozen=True)
class ModelMeta:
    version: str
    cutoff: str
    data_fingerprint: str
    libraries: dict[str, str]
    features: list[str]
    medians: dict[str, float]
    horizon_days: int
    label_rule: dict[str, float]
    trained_at: str
    train_rows: int
    train_positives: int
    risk_band_edges: list[float] | None = None
    """Probabilities from which the night calls a score MEDIUM, then HIGH: set at training
    (setting churn_risk_band_edges then), so a night scores as the model was trained whatever
    its own settings; None in versions stored before it was kept (the night's setting applies)."""
    score_interval_days: int | None = None
    """The scoring grid the model was trained and is evaluated on (None: older versions)."""
    min_history_days: int | None = None
    calibration_slope: float | None = None
    """The calibration p = 1 / (1 + exp(-(slope * raw score + intercept))) (models/churn/train.py);
    None in versions stored before it, which map the raw probability by `calibration_x`/`_y`."""
    calibration_intercept: float | None = None
    calibration_x: list[float] = field(default_factory=list)
    """The isotonic calibration's points (raw probability x, calibrated y) of versions stored
    before the sigmoid; empty in the versions after it."""
    calibration_y: list[float] = field(default_factory=list)


class Calibrated(Protocol):
    """What the calibration reads of a churn or response model's metadata."""

    @property
    def calibration_x(self) -> list[float]: ...
    @property
    def calibration_y(self) -> list[float]: ...
    @property
    def calibration_slope(self) -> float | None: ...
    @property
    def calibration_intercept(self) -> float | None: ...


def calibrated_probability(booster: lightgbm.Booster, x: np.ndarray, meta: Calibrated) -> np.ndarray:
    """The calibrated probabilities of a churn or response model's rows `x`."""
    if meta.calibration_slope is None or meta.calibration_intercept is None:
        # isotonic points of a version stored before the sigmoid (ties along its flat steps)
        return np.asarray(np.interp(booster.predict(x), meta.calibration_x, meta.calibration_y))
    # imported here, as lightgbm: every nightly build loads this module, most nights score nothing
    from scipy.special import expit

    raw = np.asarray(booster.predict(x, raw_score=True), dtype=float)
    return np.asarray(expit(meta.calibration_slope * raw + meta.calibration_intercept))


@dataclass(frozen=True)
class StoredModel:
    meta: ModelMeta
    booster: lightgbm.Booster

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated churn probabilities of the rows of `x` (features in `meta.features` order)."""
        return calibrated_probability(self.booster, x, self.meta)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's contribution to each row's raw score (log-odds, exact TreeSHAP);
        the last column, the expected value, is dropped."""
        return np.asarray(self.booster.predict(x, pred_contrib=True))[:, :-1]


def save(models_dir: Path, model: StoredModel) -> Path:
    return save_booster(models_dir, model.meta.version, model.booster, asdict(model.meta))


def save_booster(models_dir: Path, version: str, booster: lightgbm.Booster, meta: dict[str, object]) -> Path:
    """Write a LightGBM model's version folder (`model.txt`, `model.json`) whole, by a rename;
    the response model (models/campaign/store.py) is stored the same way."""
    folder = models_dir / version
    tmp = models_dir / f".{version}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(tmp / MODEL_FILE))
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if folder.exists():  # the same data and libraries: the same model, written again
        for old in folder.iterdir():
            old.unlink()
        folder.rmdir()
    tmp.rename(folder)
    return folder


def versions(models_dir: Path) -> list[str]:
    """Trained versions, oldest first by training time."""
    if not models_dir.is_dir():
        return []
    metas = [json.loads(p.read_text(encoding="utf-8")) for p in models_dir.glob(f"*/{META_FILE}")]
    return [m["version"] for m in sorted(metas, key=lambda m: m["trained_at"])]


def resolve_version(models_dir: Path, wanted: str, setting: str = "churn_model_version") -> str | None:
    """The version named (`latest`: the newest trained), or None when no model is trained
    (any model stored as `<version>/model.json` with `version` and `trained_at`)."""
    found = versions(models_dir)
    if wanted == "latest":
        return found[-1] if found else None
    if wanted not in found:
        raise FileNotFoundError(f"model version {wanted!r} is not in {models_dir} (setting {setting})")
    return wanted


def load(models_dir: Path, version: str) -> StoredModel:
    folder = models_dir / version
    import lightgbm

    meta = ModelMeta(**json.loads((folder / META_FILE).read_text(encoding="utf-8")))
    return StoredModel(meta, lightgbm.Booster(model_file=str(folder / MODEL_FILE)))
