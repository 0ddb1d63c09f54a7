"""What do event detection and lead generation cost a night? (issue 16, docs/crm.md)

Takes a published data directory (one that `make run` or bench/bench_nightly.py made: any size,
any history), copies its warehouse to a scratch file, and replays the latest night of the
events: the events the latest load detected are deleted, so the mart's watermark falls back to
the load before and `dbt run` recomputes exactly the window that night's load touched (plus
`event_lookback_days`), as the night itself did. Then it rebuilds the leads (rebuilt whole
every night today). It prints dbt's own time for each model.

    .venv/bin/python bench/bench_crm.py --data data
    .venv/bin/python bench/bench_crm.py --data data/bench-nightly/long --repeat 3

A bank loaded in one pass has one load for all its dates: its "latest night" is then the whole
history, the worst case. The 100,000-customer figures of the issue come from a bank that
bench/bench_nightly.py loaded night by night (`--customers 100000 --short 30 --long 360`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import duckdb

from bankdw.config import load_settings
from bankdw.warehouse import run_dbt


def replay(data: Path, repeat: int) -> None:
    settings = load_settings(data_dir=data)
    with tempfile.TemporaryDirectory(prefix="bench-crm-") as scratch:
        # the published file's name: the views it holds name it by
        target = Path(scratch) / "bank.duckdb"
        timings: dict[str, list[float]] = {}
        for _ in range(repeat):
            shutil.copyfile(settings.warehouse_path, target)
            with duckdb.connect(str(target)) as con:
                window = con.sql(
                    """
                    select count(*), min(event_date), max(event_date)
                    from marts.fct_customer_events
                    where detected_in_run = (select max(detected_in_run) from marts.fct_customer_events)
                    """
                ).fetchone() or (0, None, None)
                con.execute(
                    "delete from marts.fct_customer_events"
                    " where detected_in_run = (select max(detected_in_run) from marts.fct_customer_events)"
                )
                (n_events,) = con.sql("select count(*) from marts.fct_customer_events").fetchone() or (0,)
            print(f"replaying the latest night: {window[0]:,} events dated {window[1]} to {window[2]}", flush=True)
            print(f"events kept from earlier nights: {n_events:,}", flush=True)
            for selector in ("fct_customer_events", "int_leads fct_leads"):
                outcome = run_dbt(settings, target, "run", "-s", *selector.split(), capture=True)
                if outcome.returncode != 0:
                    sys.exit(outcome.stdout[-3000:])
                results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
                for result in results["results"]:
                    name = result["unique_id"].rsplit(".", 1)[-1]
                    timings.setdefault(name, []).append(result["execution_time"])
        for name, seconds in timings.items():
            runs = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"{name:24s} median {statistics.median(seconds):6.1f}s  (runs: {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="a published data directory")
    parser.add_argument("--repeat", type=int, default=1, help="nights to replay")
    args = parser.parse_args()
    replay(args.data, args.repeat)


if __name__ == "__main__":
    main()
