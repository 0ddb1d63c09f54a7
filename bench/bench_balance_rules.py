"""What the feed gate's two balance rules cost against the history in the lake (issue 20, flat
in history): `balance_chain` and `end_of_day_balance` (expectations/bank_rules.py) judging one
delivered day, over the rows `_bound_the_ledger` keeps and over the whole lake as they read it
before, beside DuckDB reading the day's balances and postings (the reference, same run).

    .venv/bin/python bench/bench_balance_rules.py --lake <data dir>/lake [--repeat 3]

The lake's latest balances and postings date plays the delivered day (its files are the staged
batch; the lake view holds them too, as a re-delivery's would). A lake stretched by
`bench/bench_crm.py --stretch-days N --keep DIR` (`DIR/data/lake`) gives a long history of a large
bank; its copied dates repeat their rows' lineage (`_source_file`, `_source_row`), so the whole
lake's roll-forward judges the copies of the day too: compare the failures there, not the
account-days judged (which a real lake's runs have the same).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

from expectations import bank_rules
from expectations.config import load_gates_config
from extract.sql import literal

FEEDS = (bank_rules.TRANSACTIONS, bank_rules.BALANCES)


def connect(lake: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection with the rules' `staged_` and `lake_` views: the day the lake's latest."""
    con = duckdb.connect(config={"threads": 2, "memory_limit": "3GB"})
    day = ""
    for feed in FEEDS:
        system, name = feed.split(".")
        folder = lake / system / name
        day = max(p.name for p in folder.glob("business_date=*"))
        view = bank_rules._view_name(feed)
        staged = literal(str(folder / day / "*.parquet"))
        con.execute(f"create view staged_{view} as select * from read_parquet({staged})")
        con.execute(f"create view lake_{view} as select * from {bank_rules._read(str(folder / '*' / '*.parquet'))}")
    return con, day.removeprefix("business_date=")


def judge(lake: Path, bounded: bool) -> tuple[float, list[tuple[str, int, str | None]]]:
    con, _ = connect(lake)
    config = load_gates_config()
    began = time.perf_counter()
    if bounded:
        bank_rules._bound_the_ledger(con, set(FEEDS))
    else:  # the whole lake, as the rules read it before
        for feed in FEEDS:
            view = bank_rules._view_name(feed)
            con.execute(f"create temp view {bank_rules.LEDGER_PREFIX}{view} as select * from lake_{view}")
    results = [bank_rules._balance_chain(con, config), bank_rules._end_of_day_balance(con, config)]
    took = time.perf_counter() - began
    con.close()
    return took, [(r.expectation, r.unexpected_count, r.note) for r in results]


def reference(lake: Path) -> float:
    """DuckDB reading the day's balances and postings, whole."""
    con, _ = connect(lake)
    began = time.perf_counter()
    for feed in FEEDS:
        con.sql(f"select count(*), sum(hash(columns(*))) from staged_{bank_rules._view_name(feed)}").fetchall()
    took = time.perf_counter() - began
    con.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", type=Path, required=True, help="a data dir's lake")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bounded-only", action="store_true", help="skip the whole lake (minutes at a year)")
    args = parser.parse_args()
    con, day = connect(args.lake)
    con.close()
    dates = len(list((args.lake / "core_banking" / "balances").glob("business_date=*")))
    print(f"{args.lake}: {dates} balance dates, the delivered day {day}", flush=True)
    timings: dict[str, list[float]] = {"reference": [], "bounded": [], "whole lake": []}
    found: dict[str, list[tuple[str, int, str | None]]] = {}
    for _ in range(args.repeat):
        timings["reference"].append(reference(args.lake))
        for mode in ("bounded", "whole lake"):
            if mode == "whole lake" and args.bounded_only:
                continue
            took, found[mode] = judge(args.lake, mode == "bounded")
            timings[mode].append(took)
            print(f"  {mode}: {took:.2f} s", flush=True)
    ref = statistics.median(timings["reference"])
    print(f"{'':12s} {'median s':>9s} {'x ref':>7s}")
    for mode, seconds in timings.items():
        if seconds:
            print(f"{mode:12s} {statistics.median(seconds):9.2f} {statistics.median(seconds) / ref:7.1f}")
    for mode, results in found.items():
        for rule, failures, note in results:
            print(f"{mode}: {rule}: {failures} failing; {note}")
    if len(found) == 2:
        same = [(r, n) for r, n, _ in found["bounded"]] == [(r, n) for r, n, _ in found["whole lake"]]
        print(f"the same failures both ways: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
