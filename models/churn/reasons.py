"""Why a customer's churn score is high: the three features that push it up most, in words.

The contributions are the model's own (LightGBM `pred_contrib`, exact TreeSHAP, in log-odds of
the raw score; the calibration is monotone, so what raises the raw score raises the
probability). A feature is given as a reason only when it pushes the score up and the
customer's value differs from the training median, and the reason says on which side: "no
salary or pension credited for 48 days (above the usual 21)". tests/test_churn.py checks that
every reason's value is on the side it claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.churn.features import FEATURES, Feature

N_REASONS = 3


@dataclass(frozen=True)
class Reason:
    feature: str
    contribution: float
    text: str
    above_usual: bool


def _format(feature: Feature, value: float) -> str:
    if feature.unit == "money":
        return f"{value:,.0f}"
    if feature.unit == "share":
        return f"{value:+.0%}" if feature.name.startswith("balance_change") else f"{value:.0%}"
    if feature.unit == "ratio":
        return f"{value:.0%}"
    if feature.unit == "score":
        return f"{value:.2f}"
    return f"{value:.0f}"


def describe(feature: Feature, value: float, median: float) -> str:
    side = "above" if value > median else "below"
    return f"{feature.reason.format(value=_format(feature, value))} ({side} the usual {_format(feature, median)})"


def top_reasons(values: np.ndarray, contributions: np.ndarray, medians: dict[str, float]) -> list[list[Reason]]:
    """For each row of `values` (features in FEATURES order) its up to three reasons, strongest first."""
    found: list[list[Reason]] = []
    for row, contrib in zip(values, contributions, strict=True):
        reasons: list[Reason] = []
        for i in np.argsort(-contrib):
            feature, value, push = FEATURES[i], float(row[i]), float(contrib[i])
            if push <= 0 or len(reasons) == N_REASONS:
                break
            median = medians[feature.name]
            if math.isnan(value) or value == median:
                continue
            reasons.append(Reason(feature.name, push, describe(feature, value, median), value > median))
        found.append(reasons)
    return found
