"""The gates' severities and thresholds, read from a TOML file (`expectations/gates.toml` by default).

Typed with pydantic so that a misspelt rule, an unknown severity or a negative limit stops
the run with a message naming the key, instead of silently gating with a default.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from expectations.rules import Severity

GATES_TOML = Path(__file__).resolve().parent / "gates.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    severity: Severity


class ToleranceRule(Rule):
    """A balance rule: account-days whose difference is within `amount_tolerance` pass; beyond
    it they break, and the rule fails (at its severity) when the breaking account-days are more
    than `share_tolerance` of the account-days judged."""

    amount_tolerance: Decimal = Field(ge=0)
    share_tolerance: float = Field(ge=0, le=1)


class ReconciliationRule(Rule):
    """A warehouse reconciliation against what the bank booked, where the warehouse's own model
    of a figure may differ from the bank's by policy (day counts, rounding, fees waived): within
    `share_tolerance` of the booked figure it passes; beyond, the rule's severity applies."""

    share_tolerance: float = Field(ge=0, le=1)


class Floor(_Strict):
    """A regulatory floor: a loan more than `above_days_past_due` days past due is classified at
    least `at_least`."""

    above_days_past_due: int = Field(ge=0)
    at_least: str


class LoanClassificationRule(Rule):
    floors: tuple[Floor, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> LoanClassificationRule:
        days = [floor.above_days_past_due for floor in self.floors]
        if days != sorted(set(days)):
            raise ValueError("rules.loan_classification.floors must rise strictly in above_days_past_due")
        return self


class VolumeRule(Rule):
    trailing_days: int = Field(ge=1)
    min_history: int = Field(ge=1)
    tolerance: float = Field(gt=0)
    min_rows: int = Field(ge=0)


class ImpossibleDatesRule(Rule):
    """No date or timestamp of a delivered row after its delivery's business date by more than
    `slack_days` (timestamps read as dates in the bank's time zone); columns that look ahead by
    nature (`<system>.<file>.<column>`, e.g. a maturity date) are `exempt`."""

    slack_days: int = Field(ge=0)
    exempt: tuple[str, ...] = ()


class Rules(_Strict):
    control_totals: Rule
    balance_chain: ToleranceRule
    end_of_day_balance: ToleranceRule
    future_postings: Rule
    impossible_dates: ImpossibleDatesRule
    complete_lists: Rule
    reporting_currency: Rule
    loan_classification: LoanClassificationRule
    volume: VolumeRule
    interest_reconciliation: ReconciliationRule


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
    blocking_holds: Literal["system", "run"] = "system"
    """What a blocking failure at the feed gate holds back: `system`, the deliveries of the system
    it concerns from the failing date on (the other systems load and publish, the run exits 2, the
    held deliveries stay pending and are gated again by every run until they pass); `run`, every
    delivery of the run (nothing loads, the run fails)."""
    data_docs: Literal["problems", "all"] = "problems"
    """Which feed files get a GX Data Docs page per run: those where an expectation failed
    (`problems`), or every one (`all`). Rendering a page costs about half a second per file
    per night whatever its size; the run page and `audit.check_results` list every check anyway."""

    def severity_of(self, check_id: str, default: Severity) -> Severity:
        """The configured severity of a suite expectation: the first matching override, else the suite's."""
        for pattern, severity in self.overrides.items():
            if fnmatchcase(check_id, pattern):
                return severity
        return default

    def dbt_vars(self) -> dict[str, dict[str, str | float]]:
        """What the warehouse tests of the same facts read (the dbt var `gates`): per rule its
        dbt severity (`error` or `warn`) and, for the balance rules and reconciliations, the tolerances;
        for impossible dates, the slack (how early the customer events read the calls they key)."""
        rendered: dict[str, dict[str, str | float]] = {}
        for name in type(self.rules).model_fields:
            rule = getattr(self.rules, name)
            entry: dict[str, str | float] = {"severity": "error" if rule.severity == "blocking" else "warn"}
            if isinstance(rule, ToleranceRule):
                entry |= {"amount_tolerance": str(rule.amount_tolerance), "share_tolerance": rule.share_tolerance}
            elif isinstance(rule, ReconciliationRule):
                entry |= {"share_tolerance": rule.share_tolerance}
            elif isinstance(rule, ImpossibleDatesRule):
                entry |= {"slack_days": rule.slack_days}
            rendered[name] = entry
        return rendered


def load_gates_config(path: Path = GATES_TOML) -> GatesConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return GatesConfig.model_validate(raw)
    except FileNotFoundError as exc:
        raise ValueError(f"gates configuration {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(f"gates configuration {path} is invalid: {exc}") from exc
