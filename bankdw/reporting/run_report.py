"""The run's report: what every step of a run learned, kept as `<data>/runs/<run_id>.json`.

The steps of `bankdw.pipeline` pass each other nothing but the run id: each loads the report,
adds what it did and saves it, so the steps run alike in one process (`bankdw run`) or as
separate Airflow tasks. The terminal summary (`terminal`) and the run page (`run_page`)
are written from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bankdw.config import Settings
from extract.load import DeliveryOutcome


@dataclass
class RunReport:
    run_id: str
    started_at: str
    outcome: str = "RUNNING"  # RUNNING, SUCCESS, NOTHING_TO_DO, REFUSED (some deliveries), FAILED
    step: str = "stage"
    business_date: str | None = None  # the run's business date: freshness is judged against it
    deliveries_loaded: list[str] = field(default_factory=list)
    deliveries_refused: dict[str, list[str]] = field(default_factory=dict)
    deliveries_waiting: list[str] = field(default_factory=list)
    deliveries_held: dict[str, list[str]] = field(default_factory=dict)
    """Deliveries the feed gate held back (`blocking_holds = "system"`), with the blocking checks
    that held them: not loaded, still pending, gated again by the next run."""
    systems_blocked: dict[str, list[str]] = field(default_factory=dict)
    """Per source system, the blocking checks that failed on it this run (a held delivery's, or a
    silent system's freshness): the run exits 2 while any system is blocked."""
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the run did not do and why, by design rather than by a check (e.g. no churn model trained)."""
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0
    failures: list[str] = field(default_factory=list)
    resolved: bool = False  # the resolve step wrote this run's identity (the run will build)
    built: bool = False
    build_mode: str | None = None  # "incremental" or "full refresh"
    warehouse_tested: bool = False  # the new file passed the warehouse gates (dbt tests)
    published: str | None = None
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)

    def hold(self, label: str, checks: list[str], audit_rows: list[dict[str, Any]]) -> None:
        """Record that the gate held delivery `label` back (`checks`: why); what staging counted
        for it (`audit_rows`, its files' rows) leaves the run's loaded figures."""
        self.deliveries_held[label] = checks
        if label in self.deliveries_loaded:
            self.deliveries_loaded.remove(label)
        for row in audit_rows:
            feed = f"{row['system']}.{row['feed']}"
            counts = self.rows.get(feed)
            if counts is not None:
                counts["delivered"] -= int(row["rows_delivered"] or 0)
                counts["loaded"] -= int(row["rows_loaded"] or 0)
                counts["quarantined"] -= int(row["rows_quarantined"] or 0)
                if not any(counts.values()):  # nothing else of the run delivered that file
                    del self.rows[feed]

    @staticmethod
    def path(settings: Settings, run_id: str) -> Path:
        return settings.runs_dir / f"{run_id}.json"

    def save(self, settings: Settings) -> None:
        path = self.path(settings, self.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, settings: Settings, run_id: str) -> RunReport:
        return cls(**json.loads(cls.path(settings, run_id).read_text(encoding="utf-8")))

    @classmethod
    def latest(cls, settings: Settings) -> RunReport | None:
        reports = sorted(settings.runs_dir.glob("*.json")) if settings.runs_dir.is_dir() else []
        return cls(**json.loads(reports[-1].read_text(encoding="utf-8"))) if reports else None

    def record_outcomes(self, outcomes: list[DeliveryOutcome]) -> None:
        empty: dict[str, list[str]] = {}
        for outcome in outcomes:
            if outcome.refused:
                self.deliveries_refused[outcome.delivery.label] = outcome.problems
                continue
            self.deliveries_loaded.append(outcome.delivery.label)
            for f in outcome.files:
                counts = self.rows.setdefault(f"{f.system}.{f.feed}", {"delivered": 0, "loaded": 0, "quarantined": 0})
                counts["delivered"] += f.rows_delivered
                counts["loaded"] += f.rows_loaded
                counts["quarantined"] += f.rows_quarantined
                if f.rows_delivered == 0:
                    empty.setdefault(f"{f.system}.{f.feed}", []).append(f.source_file)
                if f.extra_columns:
                    self.warnings.append(
                        f"{f.source_file}: column(s) not in the agreement, kept: {', '.join(f.extra_columns)}"
                    )
        # What staging saw without judging it (the agreement allows an empty file), once per feed file.
        for feed, files in empty.items():
            self.notes.append(
                f"{feed}: {len(files)} file(s) delivered empty (header only), e.g. {files[0]}; loaded as no rows"
            )
