"""Where does a night's time go at bank scale, against what DuckDB alone needs?

Simulates one bank of `--customers` customer records over `--days + 1` business days (or
reuses it: cached in `--work` per size and seed), loads the first `--days` days in one
initial pass, then runs one night (the next business date, all three systems). Each pass
runs the pipeline's steps one by one (stage, gate, commit, resolve, build, warehouse tests,
publish) and prints per step the time, the delivered rows per second, and the peak memory
(resident set of this process and all its children, dbt included, sampled every 50 ms).

Beside each pass it prints the reference measured in the same run: DuckDB alone converting
the same delivered files to Parquet (one connection, one `COPY` per file, CSV and JSON
lines read with DuckDB's own sniffers, skipping lines they cannot read). The machine is shared, so the ratio to the
reference is the figure to compare between runs, not the seconds. Last come the 15
slowest dbt nodes of each pass's build and its 15 slowest warehouse tests (from dbt's
run_results.json).

    .venv/bin/python bench/bench_scale.py                        # 10,000 and 100,000 customers
    .venv/bin/python bench/bench_scale.py --customers 10000 --days 20
    .venv/bin/python bench/bench_scale.py --customers 1000000 --days 2 --work /big/disk

Every pass's figures are also written to `<work>/result-<customers>x<days>.json`. The terminal
shows a line per step as it ends; dbt's, splink's and the steps' own lines go to
`<work>/bench-<customers>x<days>.log`.

A large bank's initial load takes longer than the night it prepares: `--keep-initial` keeps a
copy of the data dir as the initial load left it (`<work>/bank-<customers>x<days>.initial`),
and `--night-only` starts from that copy instead of loading again. The night is a night only
when the dbt project is the one that built the copy (else the build is a full refresh: the
pass prints the build's mode); run the bench from a checkout nobody edits meanwhile.

    .venv/bin/python bench/bench_scale.py --customers 100000 --days 30 --keep-initial
    .venv/bin/python bench/bench_scale.py --customers 100000 --days 30 --night-only
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import duckdb
import psutil

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.dbt_session import dbt_session
from bankdw.pipeline import (
    BuildFailed,
    DateSelection,
    GateFailed,
    build_step,
    commit_step,
    gate_step,
    publish_step,
    resolve_step,
    stage_step,
    warehouse_gate_step,
)
from bankdw.reporting.progress import output_to_log
from bankdw.reporting.run_report import RunReport
from extract.landing import MANIFEST_NAME
from extract.sql import literal
from simulator import SimulationConfig, simulate

START = date(2025, 1, 6)
SLOWEST = 15


@dataclass
class StepFigures:
    step: str
    seconds: float
    peak_mb: float
    rows_per_second: float


@dataclass
class PassFigures:
    name: str
    delivered_rows: int
    reference_seconds: float
    reference_peak_mb: float
    outcome: str = ""
    build_mode: str = ""
    steps: list[StepFigures] = field(default_factory=list)
    slowest_nodes: list[tuple[str, float]] = field(default_factory=list)
    slowest_tests: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def peak_mb(self) -> float:
        return max((s.peak_mb for s in self.steps), default=0.0)


class PeakMemory:
    """The largest resident set of this process plus all its children, sampled in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._me = psutil.Process()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        total = 0
        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a child that ended between listing and reading
                continue
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 1e6


@contextmanager
def measured() -> Iterator[tuple[PeakMemory, list[float]]]:
    elapsed: list[float] = []
    with PeakMemory() as memory:
        t0 = time.monotonic()
        yield memory, elapsed
        elapsed.append(time.monotonic() - t0)


def landing(work: Path, customers: int, days: int, seed: int) -> Path:
    """The simulated bank's landing area, simulated once per size and seed."""
    out = work / f"landing-{customers}x{days}-seed{seed}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.monotonic()
        simulate(SimulationConfig(out=out, customers=customers, days=days, start=START, seed=seed))
        (out / ".complete").write_text("ok", encoding="utf-8")
        print(f"simulated {customers:,} customers x {days} days in {time.monotonic() - t0:.0f}s", flush=True)
    return out


def delivered_files(source: Path, first: date, last: date) -> list[Path]:
    """Every data file the systems delivered for business dates first..last (manifests aside)."""
    return sorted(
        path
        for system in source.iterdir()
        if system.is_dir()
        for folder in system.iterdir()
        if folder.is_dir() and first <= date.fromisoformat(folder.name) <= last
        for path in folder.iterdir()
        if path.is_file() and path.name != MANIFEST_NAME
    )


def reference(files: list[Path]) -> tuple[float, float, int]:
    """(seconds, peak MB, rows) for DuckDB alone converting `files` to Parquet."""
    rows = 0
    with tempfile.TemporaryDirectory() as out, measured() as (memory, elapsed):
        con = duckdb.connect()
        for n, path in enumerate(files):
            # ignore_errors: the simulated systems send a few broken lines, which the pipeline quarantines
            reader = "read_ndjson" if ".jsonl" in path.name else "read_csv"
            target = Path(out) / f"{n}.parquet"
            con.execute(
                f"copy (select * from {reader}({literal(str(path))}, ignore_errors = true)) to {literal(str(target))}"
            )
            rows += int(con.sql(f"select count(*) from read_parquet({literal(str(target))})").fetchall()[0][0])
        con.close()
    return elapsed[0], memory.mb, rows


def bank(work: Path, name: str, source: Path) -> Settings:
    """A fresh data dir whose landing area is the simulated one (read only by the pipeline)."""
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "landing").symlink_to(source.resolve(), target_is_directory=True)
    return load_settings(data_dir=root)


def restore(source: Path, target: Path) -> Settings:
    """`target` made a copy of the data dir `source` (its landing area stays a link)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    return load_settings(data_dir=target)


def run_pass(
    settings: Settings, name: str, first: date, last: date, source: Path, terminal: TextIO, rebuild: bool = False
) -> PassFigures:
    """One run of the pipeline over first..last, step by step, beside its reference; a line per
    step on `terminal`. `rebuild`: as `bankdw run --rebuild` (identity resolved again, every model
    built afresh)."""
    ref_seconds, ref_peak, rows = reference(delivered_files(source, first, last))
    figures = PassFigures(name, rows, round(ref_seconds, 2), round(ref_peak))
    print(f"  {name}: reference {ref_seconds:.1f}s", file=terminal, flush=True)
    steps: list[tuple[str, Callable[[str], RunReport]]] = [
        ("gate", lambda run_id: gate_step(settings, run_id)),
        ("commit", lambda run_id: commit_step(settings, run_id)),
        ("resolve", lambda run_id: resolve_step(settings, run_id, rebuild)),
        ("build", lambda run_id: build_step(settings, run_id, rebuild)),
        ("warehouse tests", lambda run_id: warehouse_gate_step(settings, run_id)),
        ("publish", lambda run_id: publish_step(settings, run_id)),
    ]
    with measured() as (memory, elapsed):
        report = stage_step(settings, DateSelection(first=first, last=last))
    figures.steps.append(StepFigures("stage", round(elapsed[0], 2), round(memory.mb), round(rows / elapsed[0])))
    print(f"  {name}: stage {elapsed[0]:.1f}s", file=terminal, flush=True)
    run_results = settings.root / "dbt" / "target" / "run_results.json"
    with dbt_session(settings):  # as `bankdw run`: the build and its tests in one dbt process
        for step, call in steps:
            with measured() as (memory, elapsed):
                try:
                    report = call(report.run_id)
                except (GateFailed, BuildFailed) as exc:  # what stopped the run is printed with its figures
                    figures.outcome = f"FAILED at {step}: {exc}"
            figures.steps.append(StepFigures(step, round(elapsed[0], 2), round(memory.mb), round(rows / elapsed[0])))
            print(f"  {name}: {step} {elapsed[0]:.1f}s", file=terminal, flush=True)
            if step == "build" and run_results.exists():
                figures.build_mode = report.build_mode or ""
                figures.slowest_nodes = slowest_nodes(run_results)
            if step == "warehouse tests" and run_results.exists():
                figures.slowest_tests = slowest_nodes(run_results)
            if figures.outcome:
                break
    figures.outcome = figures.outcome or report.outcome
    return figures


def slowest_nodes(run_results: Path) -> list[tuple[str, float]]:
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    timed = sorted(((r["unique_id"], float(r["execution_time"])) for r in results), key=lambda r: -r[1])
    return [(node, round(seconds, 2)) for node, seconds in timed[:SLOWEST]]


def print_pass(customers: int, figures: PassFigures) -> None:
    ref = figures.reference_seconds
    print(
        f"\n{customers:,} customers, {figures.name}: {figures.delivered_rows:,} delivered rows, "
        f"outcome {figures.outcome}, build {figures.build_mode or 'not run'}\n"
        f"  reference (DuckDB converts the same files to Parquet): {ref:.1f}s, peak {figures.reference_peak_mb:,.0f} MB"
    )
    print(f"  {'step':<16}{'seconds':>9}{'x ref':>8}{'rows/s':>12}{'peak MB':>10}")
    for s in figures.steps:
        print(f"  {s.step:<16}{s.seconds:>9.1f}{s.seconds / ref:>8.2f}{s.rows_per_second:>12,.0f}{s.peak_mb:>10,.0f}")
    total = figures.seconds
    rate = figures.delivered_rows / total if total else 0
    print(f"  {'total':<16}{total:>9.1f}{total / ref:>8.2f}{rate:>12,.0f}{figures.peak_mb:>10,.0f}")
    if figures.slowest_nodes:
        print(f"  the {SLOWEST} slowest dbt nodes of this build:")
        for node, seconds in figures.slowest_nodes:
            print(f"    {seconds:8.2f}s  {node}")
    if figures.slowest_tests:
        print(f"  the {SLOWEST} slowest warehouse tests:")
        for node, seconds in figures.slowest_tests:
            print(f"    {seconds:8.2f}s  {node}")
    sys.stdout.flush()


def measure(
    work: Path, customers: int, days: int, seed: int, keep_initial: bool = False, night_only: bool = False
) -> list[PassFigures]:
    source = landing(work, customers, days + 1, seed)
    name = f"bank-{customers}x{days}"
    kept = work / f"{name}.initial"
    if night_only:
        if not kept.is_dir():
            raise SystemExit(f"--night-only: no initial load kept in {kept} (run once with --keep-initial)")
        settings = restore(kept, work / name)
    else:
        settings = bank(work, name, source)
    last_loaded, night = START + timedelta(days=days - 1), START + timedelta(days=days)
    passes = []
    log = work / f"bench-{customers}x{days}.log"
    print(f"{customers:,} customers x {days} days (dbt, splink and every step's detail: {log})", flush=True)
    initial = (f"initial load of {days} days", START, last_loaded)
    for pass_name, first, last in ([] if night_only else [initial]) + [("one night", night, night)]:
        with output_to_log(log, quiet=True) as terminal:
            figures = run_pass(settings, pass_name, first, last, source, terminal)
        print_pass(customers, figures)
        passes.append(figures)
        if pass_name != "one night" and keep_initial:
            restore(settings.root, kept)
            print(f"  kept the initial load in {kept}", flush=True)
    result = work / f"result-{customers}x{days}{'-night' if night_only else ''}.json"
    result.write_text(json.dumps([asdict(p) for p in passes], indent=2), encoding="utf-8")
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=20, help="days of history of the initial load")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-scale")
    parser.add_argument("--keep-initial", action="store_true", help="keep the data dir after the initial load")
    parser.add_argument("--night-only", action="store_true", help="run the night from the kept initial load")
    args = parser.parse_args()
    # as `bankdw run`: the steps' own lines, with their times, go to the log file with dbt's
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for customers in args.customers:
        measure(args.work, customers, args.days, args.seed, args.keep_initial, args.night_only)


if __name__ == "__main__":
    main()
