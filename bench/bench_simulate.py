"""Benchmark of the synthetic bank: rows per second per feed, wall and CPU time, peak memory.

    .venv/bin/python bench/bench_simulate.py --customers 100000 --days 365

The target (issue 3): 100,000 customers over 365 days in under 10 minutes on 2 cores with
under 4 GB of memory. On a shared machine the wall time depends on the other load, so the
CPU time (user + system) is printed too: with two cores, wall time cannot drop below half of it.
The bank is written to a temporary folder, removed afterwards unless `--keep` is given;
without `--keep`, deliveries more than a week old are removed while the run goes on (a year
of a 100,000-customer bank is about 37 GB of files), after they were written and counted.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import click

from simulator import SimulationConfig, simulate


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
        sweeper = None if args.keep else Sweeper(root / "landing")
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        summary = simulate(config)
        wall, cpu = time.perf_counter() - wall_before, time.process_time() - cpu_before
        if sweeper is not None:
            sweeper.stop()
        written = (sweeper.removed if sweeper else 0) + sum(
            p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file()
        )
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
    click.echo(
        f"CPU per business day (the build included): {cpu / args.days:,.2f} s   "
        f"CPU / wall: {cpu / wall:,.2f} (cores kept busy)"
    )
    click.echo(f"written: {written / 2**30:,.2f} GiB in {len(summary.deliveries):,} deliveries")


class Sweeper:
    """Removes complete deliveries a week older than the newest one, every few seconds, so that
    a long benchmark never holds more than a week of files (corrections come within three days)."""

    def __init__(self, landing: Path) -> None:
        self.landing, self.removed = landing, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.done.wait(5):
            folders = [f for f in self.landing.glob("*/*") if (f / "_manifest.json").exists()]
            if not folders:
                continue
            newest = max(date.fromisoformat(f.name) for f in folders)
            for folder in folders:
                if (newest - date.fromisoformat(folder.name)).days > 7:
                    self.removed += sum(p.stat().st_size for p in folder.iterdir())
                    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
