"""Writing each day's deliveries, with the defects of the delivery itself.

A source system sometimes re-sends a date it already delivered: the first extract ran
before the day was complete, and a corrected, complete delivery with a new manifest follows
one to three days later (feeds/README.md). The first version is kept in
`_truth/superseded/<system>/<date>/` so that a test can load it, then the correction, and
check that the correction replaces it. On request only, a delivery's manifest never arrives,
or a file is cut short in transit after its manifest was written.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from .config import SimulationConfig
from .days import DAY, to_date
from .formats import timestamps
from .randomness import Sampler
from .truth import DefectLog
from .writer import LandedFile, write_delivery

EXTRACTED_AT = {"core_banking": 3900, "online_banking": 1200, "call_center": 2700}
"""Seconds after the next midnight at which each system extracts a business date."""
SYSTEMS = tuple(EXTRACTED_AT)
DAILY_FILE = {"core_banking": "transactions.csv", "call_center": "calls.csv"}
"""The file whose last rows a first, incomplete extract misses."""
RESENT_AFTER = 1800
"""A corrected delivery is sent half an hour after that day's regular extract."""


@dataclass(frozen=True)
class Plan:
    """What happens to one delivery: sent complete, or first without some rows and re-sent on
    `resend_day`; with or without its manifest; with a file truncated in transit or not."""

    system: str
    day: int
    resend_day: int | None = None
    manifest: bool = True
    truncated: bool = False


class Courier:
    """Decides each delivery's defects (in the main thread, so that runs are reproducible) and
    writes deliveries as planned (in the workers)."""

    def __init__(self, config: SimulationConfig, end: int, tz: ZoneInfo, log: DefectLog) -> None:
        self.config, self.end, self.tz, self.log = config, end, tz, log
        self.sampler = Sampler(config.seed, "deliveries")
        self.superseded = config.truth_dir / "superseded"

    def plan(self, day: int) -> list[Plan]:
        """The plans of the three systems' deliveries for `day`."""
        d, rng = self.config.defects, self.sampler.rng
        plans = {s: Plan(s, day) for s in SYSTEMS}
        candidates = np.arange(len(SYSTEMS)) if day < self.end else np.arange(0)
        for i in self.sampler.pick("redelivered_date", candidates, d.redelivered_dates).tolist():
            lag = min(int(rng.integers(1, 4)), self.end - day)
            plans[SYSTEMS[i]] = replace(plans[SYSTEMS[i]], resend_day=day + lag)
        for i in self.sampler.pick("missing_manifest", np.arange(len(SYSTEMS)), d.missing_manifests).tolist():
            plans[SYSTEMS[i]] = replace(plans[SYSTEMS[i]], manifest=False)
        for i in self.sampler.pick("truncated_file", np.arange(len(SYSTEMS)), d.truncated_files).tolist():
            plans[SYSTEMS[i]] = replace(plans[SYSTEMS[i]], truncated=True)
        return list(plans.values())

    def extracted_at(self, system: str, day: int, later: int = 0) -> str:
        wall = (day + 1) * DAY + EXTRACTED_AT[system] + later
        return str(timestamps(np.array([wall]), self.tz)[0].as_py())

    def send(self, plan: Plan, render: Callable[[], list[LandedFile]]) -> list[LandedFile]:
        """Render and write one delivery as planned; returns the complete files for a re-send, and
        otherwise only their names and rows (a written delivery's bytes are not held on to)."""
        files = render()
        sent = self._incomplete(plan, files) if plan.resend_day is not None else files
        if plan.truncated:
            self._truncate(plan, sent)
        else:
            self._write(plan, sent, self.extracted_at(plan.system, plan.day), manifest=plan.manifest)
        if plan.resend_day is not None:
            return files
        return [LandedFile(f.name, b"", f.rows) for f in files]

    def resend(self, plan: Plan, first: Future[list[LandedFile]]) -> None:
        """The corrected delivery: the first version moves to the answer key, the complete one lands."""
        assert plan.resend_day is not None
        files = first.result()  # the first version is written (its task was submitted days before)
        folder = self.config.out / plan.system / to_date(plan.day).isoformat()
        keep = self.superseded / plan.system / to_date(plan.day).isoformat()
        if keep.exists():
            shutil.rmtree(keep)
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, keep)
        extracted = self.extracted_at(plan.system, plan.resend_day, RESENT_AFTER)
        self._write(plan, files, extracted, manifest=plan.manifest)

    def _write(self, plan: Plan, files: list[LandedFile], extracted_at: str, manifest: bool) -> Path:
        return write_delivery(
            self.config.out, plan.system, to_date(plan.day), extracted_at, files, with_manifest=manifest
        )

    def _incomplete(self, plan: Plan, files: list[LandedFile]) -> list[LandedFile]:
        """The first, incomplete extract: the day's last postings or calls, or its last hour of web
        events, had not reached the extract yet."""
        key = np.array([f"{plan.system}/{to_date(plan.day).isoformat()}"])
        resent = to_date(plan.resend_day or plan.day).isoformat()
        hours = sorted(f.name for f in files if f.name.startswith("events-"))
        if plan.system == "online_banking" and hours:
            self.log.add(
                "redelivered_date", plan.system, np.array([plan.day]), hours[-1], key,
                f"first delivered without {hours[-1]}; the corrected, complete delivery was re-sent on "
                f"{resent} with a new manifest",
            )  # fmt: skip
            return [f for f in files if f.name != hours[-1]]
        daily = [f for f in files if f.name == DAILY_FILE.get(plan.system) and f.rows > 1]
        if not daily:
            return files
        target = daily[0]
        missing = max(1, target.rows // 50)
        self.log.add(
            "redelivered_date", plan.system, np.array([plan.day]), target.name, key,
            f"first delivered without its last {missing} of {target.rows} rows; the corrected, complete "
            f"delivery was re-sent on {resent} with a new manifest",
            np.array([target.rows - missing + 2]),
        )  # fmt: skip
        return [_cut_rows(target, missing) if f is target else f for f in files]

    def _truncate(self, plan: Plan, files: list[LandedFile]) -> None:
        """Write the delivery with its manifest, then cut its largest file short (as in transit)."""
        files = [f.whole() for f in files]
        folder = self._write(plan, files, self.extracted_at(plan.system, plan.day), manifest=plan.manifest)
        target = max(files, key=lambda f: (len(f.content), f.name))
        kept = len(target.content) * 2 // 3
        (folder / target.name).write_bytes(target.content[:kept])
        self.log.add(
            "truncated_file",
            plan.system,
            np.array([plan.day]),
            target.name,
            np.array([f"{plan.system}/{to_date(plan.day).isoformat()}"]),
            f"cut at byte {kept} of {len(target.content)}; the manifest says {target.rows} rows",
        )
        if not plan.manifest:
            self._record_missing(plan)

    def record(self, plan: Plan) -> None:
        """The answer-key entry of a delivery without manifest (written by the main thread)."""
        if not plan.manifest and not plan.truncated:
            self._record_missing(plan)

    def _record_missing(self, plan: Plan) -> None:
        self.log.add(
            "missing_manifest",
            plan.system,
            np.array([plan.day]),
            "_manifest.json",
            np.array([f"{plan.system}/{to_date(plan.day).isoformat()}"]),
            "the delivery's files arrived, its manifest never did",
        )


def _cut_rows(landed: LandedFile, missing: int) -> LandedFile:
    """The file without its last `missing` data rows, control totals reduced by what they held."""
    content = landed.whole().content
    end = len(content)
    for _ in range(missing):
        end = content.rindex(b"\n", 0, end - 1) + 1 if end > 1 else end
    dropped = content[end:]
    totals = landed.control_totals
    if totals:
        header = content[: content.index(b"\n")].decode()
        rows = list(csv.DictReader(io.StringIO(header + "\n" + dropped.decode(), newline="")))
        totals = {
            column: _plain(Decimal(total) - sum((Decimal(r[column]) for r in rows if r[column]), Decimal(0)))
            for column, total in totals.items()
        }
    return LandedFile(landed.name, content[:end], landed.rows - missing, totals)


def _plain(value: Decimal) -> str:
    return f"{value:.2f}"
