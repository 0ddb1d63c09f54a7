"""Does a nightly run cost the same however much history is already loaded?

Simulates one bank over `--long + --nights` days, then loads two warehouses from it: one
with `--short` days of history, one with `--long` days, each in one initial pass (one
build). Each then runs the same kind of night `--nights` times: one new business date of
all three systems, loaded, gated, built incrementally and published. It prints every
night's time per step and the ratio of the long bank's median night to the short one's;
the target is a ratio within 1.3 (issue 20: flat within 30% between 30 and 360 days). Then the
models whose night grew most: dbt's own seconds per model (its log in each data dir, the night's
`dbt build`), the median over the nights of each bank, long against short.

The nights' dates follow from the history: from the default start (Monday 6 January 2025), 30
days put the short bank's nights on 5 to 7 February and 360 days the long bank's on 1 to 3
January; `--short 26` puts the short bank's on the first days of a month too, after a complete
month, as the long bank's are (a month's first night recomputes the month before).

    .venv/bin/python bench/bench_nightly.py                      # 1,000 customers, 30 vs 360 days
    .venv/bin/python bench/bench_nightly.py --customers 300 --long 120 --nights 2
    .venv/bin/python bench/bench_nightly.py --customers 10000 --short 26 --top 20

The simulated landing area is kept in `--work` (default data/bench-nightly) and reused by
later runs with the same size and seed. dbt's lines, splink's and every step's detail go to
`<work>/bench-<customers>.log`; the terminal gets a line per load and night.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import DateSelection, run
from bankdw.reporting.progress import output_to_log
from bankdw.reporting.run_report import RunReport
from simulator import SimulationConfig, simulate

START = date(2025, 1, 6)
STEPS = ("stage", "gate", "commit", "build", "warehouse_gate", "publish")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NODE_SECONDS = re.compile(r"\d+ of \d+ (?:OK|ERROR|WARN)\w* .*? model ([\w.]+) \.* \[\w+ in ([\d.]+)s\]")


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


def model_seconds(settings: Settings) -> dict[str, float]:
    """dbt's own seconds for each model of the latest `dbt build` in the data dir's dbt log (and
    the files dbt rotated it into), by relation name."""
    logs = sorted((settings.root / "dbt" / "logs").glob("dbt.log*"), key=lambda path: path.stat().st_mtime)
    text = ANSI.sub("", "".join(path.read_text(encoding="utf-8", errors="replace") for path in logs))
    builds = [part for part in text.split("Running with dbt=") if "'invocation_command': 'dbt build" in part[:5000]]
    return {name: float(seconds) for name, seconds in NODE_SECONDS.findall(builds[-1])} if builds else {}


def measure(
    work: Path, source: Path, history: int, nights: int, log: Path
) -> tuple[list[RunReport], list[dict[str, float]]]:
    """The bank of `history` days loaded in one pass, then `nights` nights: their reports and
    each night's seconds per model. The runs' own output goes to `log`."""
    settings = bank(work, f"bank-{history}d", source)
    t0 = time.monotonic()
    with output_to_log(log, quiet=True):
        initial = check(run(settings, DateSelection(last=START + timedelta(days=history - 1))), "initial load")
    print(
        f"{history:>4} days: initial load of {len(initial.deliveries_loaded)} deliveries in one pass "
        f"({initial.build_mode}) {time.monotonic() - t0:.0f}s; warehouse {warehouse_mb(settings):.0f} MB, "
        f"{fact_rows(settings):,} postings",
        flush=True,
    )
    reports, models = [], []
    for night in range(nights):
        day = START + timedelta(days=history + night)
        with output_to_log(log, quiet=True):
            report = check(run(settings, DateSelection(first=day, last=day)), f"night {day}")
        steps = "  ".join(f"{s} {report.step_seconds.get(s, 0):6.1f}" for s in STEPS)
        print(f"      night {day} ({report.build_mode}): {report.seconds:6.1f}s   {steps}", flush=True)
        reports.append(report)
        models.append(model_seconds(settings))
    return reports, models


def median_seconds(nights: list[dict[str, float]]) -> dict[str, float]:
    """Each model's median seconds over the nights (0 for a night it did not build in)."""
    names = set().union(*nights) if nights else set()
    return {name: statistics.median(night.get(name, 0.0) for night in nights) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--short", type=int, default=30, help="days of history of the small bank")
    parser.add_argument("--long", type=int, default=360, help="days of history of the large bank")
    parser.add_argument("--nights", type=int, default=3, help="nights measured on each bank")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--top", type=int, default=15, help="models printed, those whose night grew most")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-nightly")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    source = landing(args.work, args.customers, args.long + args.nights, args.seed)
    log = args.work / f"bench-{args.customers}.log"
    print(f"dbt's lines and every step's detail: {log}", flush=True)
    measured = {h: measure(args.work, source, h, args.nights, log) for h in (args.short, args.long)}
    results = {h: reports for h, (reports, _) in measured.items()}
    models = {h: median_seconds(nights) for h, (_, nights) in measured.items()}
    medians = {h: statistics.median(r.seconds for r in reports) for h, reports in results.items()}
    ratio = medians[args.long] / medians[args.short]
    verdict = "flat (within 30%)" if ratio <= 1.3 else "NOT flat"
    print(
        f"\nmedian night: {medians[args.short]:.1f}s with {args.short} days loaded, "
        f"{medians[args.long]:.1f}s with {args.long} days: ratio {ratio:.2f}, {verdict}"
    )
    short, long = models[args.short], models[args.long]
    print(
        f"\ndbt's seconds per model, median night: {sum(short.values()):.1f}s in all with {args.short} days, "
        f"{sum(long.values()):.1f}s with {args.long}; the {args.top} that grew most:"
    )
    grown = sorted(set(short) | set(long), key=lambda name: long.get(name, 0.0) - short.get(name, 0.0), reverse=True)
    for name in grown[: args.top]:
        before, after = short.get(name, 0.0), long.get(name, 0.0)
        print(f"  {before:7.2f} {after:7.2f} {after - before:+7.2f}  {name}")
    summary = {
        "customers": args.customers,
        "median_seconds": medians,
        "ratio": round(ratio, 3),
        "nights": {h: [r.step_seconds for r in reports] for h, reports in results.items()},
        "model_seconds": models,
    }
    (args.work / "result.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
