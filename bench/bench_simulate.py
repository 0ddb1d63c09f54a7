"""Benchmark of the synthetic bank: rows per second per feed, wall and CPU time, peak memory.

    .venv/bin/python bench/bench_simulate.py --customers 100000 --days 365

The target (issue 3): 100,000 customers over 365 days in under 10 minutes on 2 cores with
under 4 GB of memory. On a shared machine the wall time depends on the other load, so the
CPU time (user + system) is printed too: with two cores, wall time cannot drop below half of it.
The bank is written to a temporary folder, removed afterwards unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import click

from bankdw.simulate import SimulationConfig, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, help="Write here (default: a temporary folder, removed afterwards).")
    parser.add_argument("--keep", action="store_true", help="Keep what was written.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    root = args.out or Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    try:
        config = SimulationConfig(
            out=root / "landing", customers=args.customers, days=args.days, start=date(2025, 11, 1), seed=args.seed
        )
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        summary = simulate(config)
        wall, cpu = time.perf_counter() - wall_before, time.process_time() - cpu_before
        written = sum(p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file())
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    click.echo(f"\nsimulate: {args.customers:,} customers x {args.days} days (seed {args.seed})")
    click.echo(f"{'feed':<36}{'rows':>14}{'rows/s (wall)':>16}{'rows/s (CPU)':>16}")
    per_system: dict[str, int] = defaultdict(int)
    for (system, name), rows in sorted(summary.rows.items()):
        per_system[system] += rows
        click.echo(f"{system + '/' + name:<36}{rows:>14,}{rows / wall:>16,.0f}{rows / cpu:>16,.0f}")
    total = sum(summary.rows.values())
    click.echo(f"{'all feeds':<36}{total:>14,}{total / wall:>16,.0f}{total / cpu:>16,.0f}")
    click.echo(f"customer-days per second (wall): {args.customers * args.days / wall:,.0f}")
    click.echo(f"wall time: {wall:,.1f} s   CPU time (user + system): {cpu:,.1f} s   peak RSS: {peak_mb:,.0f} MB")
    click.echo(f"written: {written / 2**30:,.2f} GiB in {len(summary.deliveries):,} deliveries")


if __name__ == "__main__":
    main()
