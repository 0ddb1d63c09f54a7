"""The feed gate's memory on one large feed file, validated whole and in slices (issue 20).

Stages (once, cached in `--work`) a synthetic web-event feed file of `--rows` rows over
`--days` business dates, laid out as the stage step leaves a run's staged rows, then gates it
with the pipeline's gate (`run_gates` over `StagedBatches`) in a process of its own per pass:
whole (`gate_slice_rows` 0), then sliced at each `--slice-rows`, the round repeated `--repeat`
times (alternated, as the machine's load drifts). Per pass
it prints the peak resident set of the gating process (psutil, sampled every 50 ms), the
seconds of the gate itself and of the whole process, and the load average; then whether the
reports (gates.json, seconds aside) are the same.

    .venv/bin/python bench/bench_gate_slices.py                          # 5 M events, 1 M a slice
    .venv/bin/python bench/bench_gate_slices.py --slice-rows 250000 2000000

Synthetic rather than simulated: the simulator's bank of 10,000 customers needs minutes to
generate and stage before the first measurement, and holds 1.4 M events in 20 days; this file
holds what a 100,000-customer bank's 30 days deliver (5.4 M), in seconds. Its values pass the
events' suite except a few repeated event ids (every 100,000th row repeats the one before,
as an at-least-once delivery does), so the uniqueness check has rows to report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil

from bankdw.config import PROJECT_ROOT
from extract.sql import literal

RUN = "20250201T013000000000Z"
FIRST_DAY = date(2025, 1, 6)
EVENT_TYPES = [
    "LOGIN",
    "LOGIN_FAILED",
    "LOGOUT",
    "PAGE_VIEW",
    "BALANCE_INQUIRY",
    "TRANSFER",
    "BILL_PAYMENT",
    "PRODUCT_VIEW",
    "APPLICATION_START",
    "APPLICATION_SUBMIT",
    "PROFILE_UPDATE",
    "SUPPORT_CHAT",
]


def stage(work: Path, rows: int, days: int) -> Path:
    """The lake whose staging area holds the synthetic events of run RUN (written once)."""
    lake = work / "lake"
    feed_dir = lake / "_staging" / RUN / "online_banking" / "events"
    done = feed_dir / f".rows-{rows}x{days}"
    if done.exists():
        return lake
    per_day = rows // days
    types = "[" + ", ".join(literal(t) for t in EVENT_TYPES) + "]"
    with duckdb.connect() as con:
        for n in range(days):
            day = FIRST_DAY + timedelta(days=n)
            folder = feed_dir / f"business_date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            count = per_day if n < days - 1 else rows - per_day * (days - 1)
            first = n * per_day
            con.execute(
                f"""
                copy (
                    select
                        'EV' || lpad(cast(case when i % 100000 = 99999 then i - 1 else i end as varchar), 10, '0')
                            as event_id,
                        timestamptz '{day.isoformat()} 00:00:00+08' + to_seconds((i - {first}) * 86000 // {count})
                            as event_ts,
                        case when i % 5 = 0 then null else 'U' || (i % 80000) end as user_id,
                        'S' || (i // 7) as session_id,
                        ['WEB', 'IOS', 'ANDROID'][1 + i % 3] as device,
                        {types}[1 + cast(hash(i) % 12 as bigint)] as event_type,
                        case when i % 3 = 0 then '/accounts/' || (i % 50) end as page,
                        case when i % 11 = 0 then 'SAV' end as product_code,
                        case when i % 13 = 0 then cast((i % 100000) / 100 as decimal(18, 4)) end as amount,
                        md5(cast(i % 500000 as varchar)) as ip_hash,
                        '5.' || (i % 7) as app_version,
                        'L1' as _load_id,
                        'online_banking/{day.isoformat()}/events-'
                            || lpad(cast((i - {first}) * 24 // {count} as varchar), 2, '0') || '.jsonl.gz'
                            as _source_file,
                        i - {first} + 1 as _source_row,
                        date '{day.isoformat()}' as _business_date,
                        timestamptz '2025-02-01 01:30:00+08' as _loaded_at
                    from range({first}, {first + count}) as t(i)
                ) to {literal(str(folder / "part-0.parquet"))}
                """
            )
    done.touch()
    return lake


def gate(work: Path, slice_rows: int, report_dir: Path) -> None:
    """One pass, in this process: gate the staged events, print the gate's seconds as JSON."""
    from bankdw.config import Settings
    from expectations.batches import StagedBatches
    from expectations.gates import run_gates
    from extract.contract import load_agreement
    from extract.lake import Lake

    settings = Settings(data_dir=work / "data")
    batches = StagedBatches(Lake(work / "lake"), RUN, load_agreement(), settings.duckdb_config())
    started = time.perf_counter()
    report = run_gates(batches, report_dir=report_dir, slice_rows=slice_rows)
    print(json.dumps({"gate_seconds": time.perf_counter() - started, "rows": sum(report.rows.values())}))


def measured_pass(work: Path, slice_rows: int, report_dir: Path) -> dict[str, float]:
    """Run one pass in a process of its own and sample its resident set until it ends."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    command = [sys.executable, __file__, "--work", str(work), "--gate", str(slice_rows), "--report", str(report_dir)]
    child = psutil.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                rss = child.memory_info().rss + sum(c.memory_info().rss for c in child.children(recursive=True))
            except psutil.Error:
                break
            peak = max(peak, rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"the pass with slice_rows={slice_rows} failed ({child.returncode})")
    figures = json.loads(out.strip().splitlines()[-1])
    return {
        "peak_mb": peak / 2**20,
        "gate_seconds": figures["gate_seconds"],
        "process_seconds": time.perf_counter() - started,
        "rows": figures["rows"],
        "load": load,
    }


def report_of(report_dir: Path) -> dict[str, object]:
    report = json.loads((report_dir / "gates.json").read_text(encoding="utf-8"))
    report.pop("seconds")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-gate")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--slice-rows", type=int, nargs="+", default=[1_000_000], help="one or more slice sizes")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--gate", type=int, help=argparse.SUPPRESS)  # a pass's own process
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gate is not None:
        gate(args.work, args.gate, args.report)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stage(args.work, args.rows, args.days)
    print(f"staged {args.rows:,} web events over {args.days} days in {time.perf_counter() - started:.0f} s")
    print("| pass | slice rows | peak resident MB | gate s | process s | load average |")
    print("|---|---:|---:|---:|---:|---:|")
    reports = []
    for n in range(1, args.repeat + 1):
        for name, slice_rows in [("whole", 0), *(("sliced", rows) for rows in args.slice_rows)]:
            report_dir = args.work / f"report-{slice_rows}-{n}"
            f = measured_pass(args.work, slice_rows, report_dir)
            shown = f"{slice_rows:,}" if slice_rows else "whole"
            print(
                f"| {name} {n} | {shown} | {f['peak_mb']:,.0f} | {f['gate_seconds']:.1f} | "
                f"{f['process_seconds']:.1f} | {f['load']:.1f} |",
                flush=True,
            )
            reports.append(report_of(report_dir))
    same = all(report == reports[0] for report in reports)
    print(f"gates.json the same in every pass (seconds aside): {same}; outcome {reports[0]['outcome']}")
    for line in reports[0]["summary"]:  # type: ignore[attr-defined]
        print(f"  {line}")


if __name__ == "__main__":
    main()
