"""Trained lifetime value models in the data directory, one folder per version, never in git.

A version is a handful of numbers (retention and mean margin per value tier) and what
identifies the fit, written as `model.json`; its name is the cut-off and a hash of the data
fingerprint and the libraries. Versions are listed and resolved as churn's are.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from models.churn.store import META_FILE, resolve_version, versions

__all__ = ["ClvModel", "load", "resolve_version", "save", "versions"]


@dataclass(frozen=True)
class ClvModel:
    version: str
    cutoff: str
    data_fingerprint: str
    libraries: dict[str, str]
    retention: dict[str, float]
    """Monthly retention by value tier at the last month before the cut-off; `*`: pooled."""
    margin: dict[str, float]
    """Mean monthly contribution by value tier; `*`: all tiers."""
    margin_window_months: int
    margin_prior_months: float
    trained_at: str
    train_customers: int
    train_months: int

    def retention_of(self, tier: str) -> float:
        return self.retention.get(tier, self.retention["*"])

    def margin_of(self, tier: str) -> float:
        return self.margin.get(tier, self.margin["*"])


def save(models_dir: Path, model: ClvModel) -> Path:
    folder = models_dir / model.version
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{META_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(model), indent=2), encoding="utf-8")
    tmp.replace(folder / META_FILE)
    return folder


def load(models_dir: Path, version: str) -> ClvModel:
    return ClvModel(**json.loads((models_dir / version / META_FILE).read_text(encoding="utf-8")))
