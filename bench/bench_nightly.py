"""Does a nightly run cost the same however much history is already loaded?

Simulates one bank over `--long + --nights` days, then loads two warehouses from it: one
with `--short` days of history, one with `--long` days, each in one initial pass (one
build). Each then runs the same kind of night `--nights` times: one new business date of
all three systems, loaded, gated, built incrementally and published. It prints every
night's time per step and the ratio of the long bank's median night to the short one's;
the target is a ratio within 1.3 (issue 4: flat within 30% between 30 and 360 days).

    .venv/bin/python bench/bench_nightly.py                      # 1,000 customers, 30 vs 360 days
    .venv/bin/python bench/bench_nightly.py --customers 300 --long 120 --nights 2

The simulated landing area is kept in `--work` (default data/bench-nightly) and reused by
later runs with the same size and seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import DateSelection, run
from bankdw.reporting.run_report import RunReport
from simulator import SimulationConfig, simulate

START = date(2025, 1, 6)
STEPS = ("stage", "gate", "commit", "build", "warehouse_gate", "publish")


def landing(work: Path, customers: int, days: int, seed: int, start: date = START) -> Path:
    """The simulated bank's landing area from `start`, simulated once per size, seed and start."""
    out = work / f"landing-{customers}x{days}-seed{seed}"
    if start != START:
        out = out.with_name(f"{out.name}-{start}")
    done = out / ".complete"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.monotonic()
        simulate(SimulationConfig(out=out, customers=customers, days=days, start=start, seed=seed))
        done.write_text("ok", encoding="utf-8")
        print(f"simulated {customers:,} customers x {days} days in {time.monotonic() - t0:.0f}s", flush=True)
    return out


def bank(work: Path, name: str, source: Path) -> Settings:
    """A fresh data dir whose landing area is the simulated one (read only by the pipeline)."""
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "landing").symlink_to(source.resolve(), target_is_directory=True)
    return load_settings(data_dir=root)


def warehouse_mb(settings: Settings) -> float:
    return settings.warehouse_path.stat().st_size / 1e6


def fact_rows(settings: Settings) -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return int(con.sql("select count(*) from marts.fct_transactions").fetchall()[0][0])


def check(report: RunReport, what: str) -> RunReport:
    if report.outcome not in ("SUCCESS", "REFUSED"):
        sys.exit(f"{what}: the run ended {report.outcome}: {report.failures[:3]}")
    return report


def measure(work: Path, source: Path, history: int, nights: int) -> list[RunReport]:
    settings = bank(work, f"bank-{history}d", source)
    t0 = time.monotonic()
    initial = check(run(settings, DateSelection(last=START + timedelta(days=history - 1))), "initial load")
    print(
        f"{history:>4} days: initial load of {len(initial.deliveries_loaded)} deliveries in one pass "
        f"({initial.build_mode}) {time.monotonic() - t0:.0f}s; warehouse {warehouse_mb(settings):.0f} MB, "
        f"{fact_rows(settings):,} postings",
        flush=True,
    )
    reports = []
    for night in range(nights):
        day = START + timedelta(days=history + night)
        report = check(run(settings, DateSelection(first=day, last=day)), f"night {day}")
        steps = "  ".join(f"{s} {report.step_seconds.get(s, 0):6.1f}" for s in STEPS)
        print(f"      night {day} ({report.build_mode}): {report.seconds:6.1f}s   {steps}", flush=True)
        reports.append(report)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--short", type=int, default=30, help="days of history of the small bank")
    parser.add_argument("--long", type=int, default=360, help="days of history of the large bank")
    parser.add_argument("--nights", type=int, default=3, help="nights measured on each bank")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-nightly")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    source = landing(args.work, args.customers, args.long + args.nights, args.seed)
    results = {h: measure(args.work, source, h, args.nights) for h in (args.short, args.long)}
    medians = {h: statistics.median(r.seconds for r in reports) for h, reports in results.items()}
    ratio = medians[args.long] / medians[args.short]
    verdict = "flat (within 30%)" if ratio <= 1.3 else "NOT flat"
    print(
        f"\nmedian night: {medians[args.short]:.1f}s with {args.short} days loaded, "
        f"{medians[args.long]:.1f}s with {args.long} days: ratio {ratio:.2f}, {verdict}"
    )
    summary = {
        "customers": args.customers,
        "median_seconds": medians,
        "ratio": round(ratio, 3),
        "nights": {h: [r.step_seconds for r in reports] for h, reports in results.items()},
    }
    (args.work / "result.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
