"""What the gates found, in terms an operator can act on: which feed, which rule, which file and row.

A report can hold customer data (the example rows), so `write_json` is meant for the data
directory of a run, never for the repository.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from expectations.rules import Severity

REPORT_FILE = "gates.json"


@dataclass(frozen=True)
class CheckResult:
    """One expectation of one feed file's suite, as run on this call's batch."""

    feed: str
    expectation: str
    column: str | None
    severity: Severity
    success: bool
    unexpected_count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    """Up to 5 failing rows: `_source_file`, `_source_row` and the checked column(s)."""
    condition: str | None = None
    """The row condition the expectation applies under, e.g. "classification == 'LOSS'"."""
    note: str | None = None
    """Why there are no rows to show: a check that was skipped, could not run, or is table-level."""

    @property
    def label(self) -> str:
        where = f" where {self.condition}" if self.condition else ""
        return f"{self.expectation}({self.column or ''}){where}"

    @property
    def check_id(self) -> str:
        """`<feed>/<label>`: what gates.toml overrides match and audit.check_results keys on."""
        return f"{self.feed}/{self.label}"

    @property
    def outcome(self) -> str:
        """passed, warned (a failed warning) or failed (a failed blocking check)."""
        if self.success:
            return "passed"
        return "warned" if self.severity == "warning" else "failed"

    def summary_line(self) -> str:
        head = f"{self.severity.upper()} {self.feed}: {self.label}"
        if self.success:
            return f"{head} passed"
        if self.note:
            line = f"{head} {self.note}"
            return f"{line}, e.g. {_describe(self.examples[0])}" if self.examples else line
        if not self.unexpected_count:
            return f"{head} failed"
        line = f"{head} failed on {self.unexpected_count} row{'s' if self.unexpected_count != 1 else ''}"
        return f"{line}, e.g. {_describe(self.examples[0])}" if self.examples else line


@dataclass
class GateReport:
    """Every check of one `run_gates` call. The batches may enter the warehouse when there are
    no `blocking_failures`; `warnings` are reported and do not stop them."""

    results: list[CheckResult] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows validated per feed file."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per feed file (normalising and validating)."""

    @property
    def passed(self) -> list[CheckResult]:
        return [r for r in self.results if r.success]

    @property
    def failed(self) -> list[CheckResult]:
        """Every unsuccessful check, blocking or warning (a skipped reference check included)."""
        return [r for r in self.results if not r.success]

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.failed if r.severity == "blocking"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.failed if r.severity == "warning"]

    def summary_lines(self) -> list[str]:
        checks = len(self.results)
        verdict = "FAILED" if self.blocking_failures else "PASSED"
        head = (
            f"{verdict} gates on {len(self.rows)} feed file(s), {sum(self.rows.values())} rows, {checks} checks: "
            f"{len(self.blocking_failures)} blocking, {len(self.warnings)} warning(s)"
        )
        return [head] + [r.summary_line() for r in [*self.blocking_failures, *self.warnings]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "FAILED" if self.blocking_failures else "PASSED",
            "summary": self.summary_lines(),
            "rows": self.rows,
            "seconds": self.seconds,
            "results": [asdict(r) for r in self.results],
        }

    def write_json(self, report_dir: Path) -> Path:
        report_dir.mkdir(parents=True, exist_ok=True)
        path = report_dir / REPORT_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, default=_json_value) + "\n", encoding="utf-8")
        return path


def _describe(example: dict[str, Any]) -> str:
    values = ", ".join(f"{k}={_show(v)}" for k, v in example.items() if not k.startswith("_"))
    if example.get("_source_file") is None:  # a check of a system or a feed, not of a row
        return values
    return f"{example.get('_source_file')} row {example.get('_source_row')}: {values}"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(_json_value(value))


def _json_value(value: Any) -> Any:
    """Decimals stay exact (as text); dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
