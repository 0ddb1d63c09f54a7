"""What do event detection and lead generation cost a night? (issue 16, docs/crm.md)

Takes a published data directory (one that `make run` or bench/bench_nightly.py made: any size,
any history) and copies the whole build behind its published version (staging and
intermediate too) to scratch files. There it replays a night: the last `--days` business
dates (default 1) are made to look re-delivered by a load newer than the events' watermark,
so `dbt run` of the event rules and their mart recomputes exactly that night's window
(plus `event_lookback_days`), as the night itself did; then the leads resume at the same
window. Before that, the latest load of each date (int_business_date_loads) is built as a
night that brought no newer load builds it. Beside
it, measured in the same run on a copy of the same file: the same models rebuilt from the
whole history (`--full-refresh`, what every night cost before the rules were windowed), and
a reference, DuckDB scanning the postings and balances the rules read. It prints dbt's own
time for each model.

    .venv/bin/python bench/bench_crm.py --data data
    .venv/bin/python bench/bench_crm.py --data data/bench-nightly/long --repeat 3

The issue's figures are at 100,000 customers with 30 and 360 days loaded: two data dirs
bench/bench_nightly.py made (`--customers 100000 --short 30 --long 360`), one run each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from bankdw.config import Settings, load_settings
from bankdw.publish import published_state_path
from bankdw.warehouse import run_dbt
from extract.sql import literal

EVENT_MODELS = (
    "int_customer_deposits_daily",
    "int_customer_events_flows",
    "int_customer_events_balances",
    "int_customer_events_salary",
    "int_customer_events_accounts",
    "int_customer_events_loans",
    "int_customer_events_contacts",
    "int_customer_events_value",
    "int_customer_events",
    "fct_customer_events",
)
"""The customer events' rules (views) and their mart: what a night of the events builds
(tests/test_crm.py builds the same)."""
EVENTS = " ".join(EVENT_MODELS)
LEADS = "int_leads fct_leads"
LOADS = "int_business_date_loads"
REFERENCE_SQL = (
    "select count(*), sum(amount) from intermediate.int_transactions_flagged",
    "select count(*), sum(ledger_balance) from intermediate.int_account_balances_keyed",
)


def redeliver(con: duckdb.DuckDBPyConnection, dates: str, load_id: str) -> None:
    """Make the business dates matching SQL condition `dates` look re-delivered by load `load_id`
    (newer than every load the build saw, e.g. 'Z-...'): the events' watermark table
    (int_business_date_loads, a table) is swapped for a view that says so. Also tests/test_crm.py's."""
    con.execute("alter table intermediate.int_business_date_loads rename to int_business_date_loads_delivered")
    con.execute(
        "create view intermediate.int_business_date_loads as"
        f" select business_date, case when {dates} then {literal(load_id)} else load_id end as load_id"
        " from intermediate.int_business_date_loads_delivered"
    )


def redeliver_last(con: duckdb.DuckDBPyConnection, days: int) -> str:
    """Make the last `days` business dates look delivered by a load newer than any the build saw."""
    (last,) = con.sql("select max(business_date) from intermediate.int_business_date_loads").fetchone() or (None,)
    first = last - timedelta(days=days - 1)
    redeliver(con, f"business_date >= date {literal(first)}", "Z-bench")
    return f"{first} to {last}"


def timed_run(settings: Settings, target: Path, selector: str, *extra: str) -> dict[str, float]:
    outcome = run_dbt(settings, target, "run", "-s", *selector.split(), *extra, capture=True)
    if outcome.returncode != 0:
        sys.exit(outcome.stdout[-3000:])
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
    return {result["unique_id"].rsplit(".", 1)[-1]: result["execution_time"] for result in results["results"]}


def replay(data: Path, days: int, repeat: int) -> None:
    settings = load_settings(data_dir=data)
    timings: dict[str, dict[str, list[float]]] = {"night": {}, "full": {}, "reference": {}}
    with tempfile.TemporaryDirectory(prefix="bench-crm-") as scratch:
        for _ in range(repeat):
            for mode in ("night", "full"):
                # the published file's name: the views it holds name it by
                target = Path(scratch) / mode / "bank.duckdb"
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(published_state_path(settings), target)
                extra = ("--full-refresh",) if mode == "full" else ()
                # the latest load of each date: a night finds no newer load (reads no lake row)
                for model, took in timed_run(settings, target, LOADS, *extra).items():
                    timings[mode].setdefault(model, []).append(took)
                with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                    window = redeliver_last(con, days)
                    if mode == "night":
                        for sql in REFERENCE_SQL:
                            t0 = time.monotonic()
                            (rows, _) = con.sql(sql).fetchone() or (0, None)
                            scanned = f"scan {sql.split('from ')[1]} ({rows:,} rows)"
                            timings["reference"].setdefault(scanned, []).append(time.monotonic() - t0)
                        (customers,) = con.sql("select count(*) from marts.dim_customer").fetchone() or (0,)
                        print(f"{customers:,} customers; replaying a night that delivered {window}", flush=True)
                for selector in (EVENTS, LEADS):
                    for model, took in timed_run(settings, target, selector, *extra).items():
                        timings[mode].setdefault(model, []).append(took)
    print(f"{'model':32s} {'night s':>9s} {'full s':>9s}")
    for name, seconds in timings["night"].items():
        full = timings["full"].get(name, [float("nan")])
        print(f"{name:32s} {statistics.median(seconds):9.2f} {statistics.median(full):9.2f}")
    for mode in ("night", "full"):
        total = sum(statistics.median(s) for n, s in timings[mode].items() if not n.startswith("bankdw-on-run"))
        print(f"{'total (' + mode + ')':32s} {total:9.2f}")
    for name, seconds in timings["reference"].items():
        print(f"reference: {name}: {statistics.median(seconds):.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="a published data directory")
    parser.add_argument("--days", type=int, default=1, help="business dates the replayed night delivered")
    parser.add_argument("--repeat", type=int, default=1, help="nights to replay")
    args = parser.parse_args()
    replay(args.data, args.days, args.repeat)


if __name__ == "__main__":
    main()
