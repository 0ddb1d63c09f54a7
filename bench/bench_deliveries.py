"""Many small deliveries: what the stage step costs per delivery beyond the work of its rows.

Simulates a small bank over many business days once (cached in `--work`), then times the
real stage step (`bankdw.pipeline.stage_step`) over every delivery of that landing area,
beside the reference measured in the same run: DuckDB alone converting the same files to
Parquet in one pass per feed file (all deliveries of a feed read by one `read_csv` or
`read_ndjson` call, written by one `COPY`). The figure of issue 20 is the per-delivery
overhead, (stage - reference) / deliveries; its target is under 20 ms.

Beside the wall-clock seconds it prints the CPU seconds of each (the process's user and system
time, all threads): on a shared machine other jobs stretch the wall clock of whichever pass
they overlap, while the CPU seconds a pass needs vary much less.

    .venv/bin/python bench/bench_deliveries.py                                # 200 customers x 120 days
    .venv/bin/python bench/bench_deliveries.py --customers 2000 --days 70     # the suite's value_bank size
    .venv/bin/python bench/bench_deliveries.py --landing <a landing area>      # deliveries already there
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
from bench_nightly import bank, landing

from bankdw.config import PROJECT_ROOT
from bankdw.pipeline import stage_step
from extract.contract import load_agreement
from extract.landing import MANIFEST_NAME
from extract.sql import literal


def files_by_feed(source: Path) -> tuple[dict[str, list[Path]], int]:
    """Every delivered data file, grouped by feed (system and file name without hour), and the
    number of deliveries (dated folders with a manifest)."""
    agreement = load_agreement()
    by_feed: dict[str, list[Path]] = defaultdict(list)
    deliveries = 0
    for manifest in sorted(source.glob(f"*/*/{MANIFEST_NAME}")):
        deliveries += 1
        system = manifest.parent.parent.name
        for path in sorted(manifest.parent.iterdir()):
            feed = agreement.feed_for(system, path.name) if path.name != MANIFEST_NAME else None
            if feed is not None:
                by_feed[feed.qualified_name].append(path)
    return by_feed, deliveries


def reference(by_feed: dict[str, list[Path]]) -> tuple[float, float, int]:
    """(seconds, CPU seconds, rows) for DuckDB alone converting every file to Parquet, one pass per feed file."""
    rows = 0
    with tempfile.TemporaryDirectory() as out:
        t0, cpu0 = time.monotonic(), time.process_time()
        con = duckdb.connect()
        for n, paths in enumerate(by_feed.values()):
            # ignore_errors: the simulated systems send a few broken lines, which the pipeline quarantines
            reader = "read_ndjson" if ".jsonl" in paths[0].name else "read_csv"
            files = "[" + ", ".join(literal(str(p)) for p in paths) + "]"
            target = Path(out) / f"{n}.parquet"
            con.execute(
                f"copy (select * from {reader}({files}, ignore_errors = true, filename = true)) "
                f"to {literal(str(target))} (format parquet, compression zstd)"
            )
            rows += int(con.sql(f"select count(*) from read_parquet({literal(str(target))})").fetchall()[0][0])
        con.close()
        return time.monotonic() - t0, time.process_time() - cpu0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-deliveries")
    parser.add_argument("--repeat", type=int, default=1, help="stage runs (each on a fresh data dir)")
    parser.add_argument("--landing", type=Path, help="time this landing area (read only) instead of simulating")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    source = args.landing or landing(args.work, args.customers, args.days, args.seed)
    by_feed, deliveries = files_by_feed(source)
    n_files = sum(len(p) for p in by_feed.values())
    for _ in range(args.repeat):
        ref_seconds, ref_cpu, rows = reference(by_feed)
        settings = bank(args.work, "bank-given" if args.landing else f"bank-{args.customers}x{args.days}", source)
        t0, cpu0 = time.monotonic(), time.process_time()
        report = stage_step(settings)
        stage_seconds, stage_cpu = time.monotonic() - t0, time.process_time() - cpu0
        overhead_ms = 1000 * (stage_seconds - ref_seconds) / deliveries
        overhead_cpu_ms = 1000 * (stage_cpu - ref_cpu) / deliveries
        print(
            f"{source}: {deliveries:,} deliveries, {n_files:,} files, "
            f"{rows:,} rows ({len(by_feed)} feed files); {len(report.deliveries_refused)} refused\n"
            f"  reference (DuckDB, one conversion per feed file): {ref_seconds:7.2f}s ({ref_cpu:.2f} CPU s)\n"
            f"  stage step:                                       {stage_seconds:7.2f}s ({stage_cpu:.2f} CPU s)\n"
            f"  overhead per delivery: {overhead_ms:.1f} ms (target: under 20 ms); "
            f"in CPU time {overhead_cpu_ms:.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
