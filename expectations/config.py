"""The gates' severities and thresholds, read from a TOML file (`expectations/gates.toml` by default).

Typed with pydantic so that a misspelt rule, an unknown severity or a negative limit stops
the run with a message naming the key, instead of silently gating with a default.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from expectations.rules import Severity

GATES_TOML = Path(__file__).resolve().parent / "gates.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    severity: Severity


class VolumeRule(Rule):
    trailing_days: int = Field(ge=1)
    min_history: int = Field(ge=1)
    tolerance: float = Field(gt=0)
    min_rows: int = Field(ge=0)


class Rules(_Strict):
    control_totals: Rule
    balance_chain: Rule
    end_of_day_balance: Rule
    future_postings: Rule
    volume: VolumeRule


class Freshness(_Strict):
    warn_after_days: int = Field(ge=0)
    block_after_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Freshness:
        if self.block_after_days < self.warn_after_days:
            raise ValueError("freshness.block_after_days must be at least warn_after_days")
        return self


class GatesConfig(_Strict):
    rules: Rules
    freshness: Freshness
    overrides: dict[str, Severity] = Field(default_factory=dict)

    def severity_of(self, check_id: str, default: Severity) -> Severity:
        """The configured severity of a suite expectation: the first matching override, else the suite's."""
        for pattern, severity in self.overrides.items():
            if fnmatchcase(check_id, pattern):
                return severity
        return default


def load_gates_config(path: Path = GATES_TOML) -> GatesConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return GatesConfig.model_validate(raw)
    except FileNotFoundError as exc:
        raise ValueError(f"gates configuration {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(f"gates configuration {path} is invalid: {exc}") from exc
