"""What do event detection and lead generation cost a night? (issue 16, docs/crm.md)

Takes a published data directory (one that `make run` or bench/bench_nightly.py made: any size,
any history) and copies the whole build behind its published version (staging and
intermediate too) to scratch files. There it replays a night: the last `--days` business
dates (default 1) are made to look re-delivered by a load newer than the events' watermark,
so `dbt run` of the event rules and their mart recomputes exactly that night's window (from
the earliest day a fact of those dates happened on, less `event_lookback_days`), as the night
itself did; then the leads resume at the same
window. Before that, the latest load of each date (int_business_date_loads) is built as a
night that brought no newer load builds it. Beside
it, measured in the same run on a copy of the same file: the same models rebuilt from the
whole history (`--full-refresh`, what every night cost before the rules were windowed), and
a reference, DuckDB scanning the postings and balances the rules read. It prints dbt's own
time for each model, and stops with an error when the night's events or leads are not those of
the full rebuild (night_against_full).

    .venv/bin/python bench/bench_crm.py --data data
    .venv/bin/python bench/bench_crm.py --data data/bench-nightly/long --repeat 3

The issue's figures are at 100,000 customers with 30 and 360 days loaded. Loading a year of
100,000 customers takes hours on two cores, so `--stretch-days N` makes the history N days
long from a shorter bank: in a scratch data dir whose lake links the bank's own files, the
dated feeds the rules and leads read (STRETCHED_FEEDS) get copies of the bank's dates, each
block of copies as many days earlier as the bank holds, every date and time in them moved
back with it (their load ids kept: older than the night's). The tables built from those
feeds that the rules read are built again from the stretched lake (STRETCHED_TABLES), the
customers' first versions start with the history, then the events and leads are rebuilt
whole (the "full" column) and the night is replayed from that build. Copies, not customers:
the same 100,000 customers' behaviour repeated, so reads, windows and joins do the work of
that much history, but no new behaviour (an event at a block's edge fires in every block).

    .venv/bin/python bench/bench_crm.py --data <a 100,000-customer bank> --stretch-days 30
    .venv/bin/python bench/bench_crm.py --data <a 100,000-customer bank> --stretch-days 360

Stretching and rebuilding a year takes minutes; `--keep DIR` keeps them, and the next run with
the same DIR replays only the night (its "full" column then empty), e.g. to compare two
checkouts' nights on the same history one after the other. A DIR whose full rebuild was removed
(`DIR/full`) keeps its lake and rebuilds the whole history, e.g. to time the rules with other
settings (`BANKDW_*` in the environment) on the same history.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
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
    "int_salary_credits",
    "int_customer_events_salary",
    "int_customer_events_accounts",
    "int_customer_events_loans",
    "int_customer_events_contacts",
    "int_customer_events_value",
    "int_churn_risk_bands",
    "int_customer_events_churn",
    "int_customer_events",
    "fct_customer_events",
)
"""The customer events' rules (views), the salary credits and churn bands they read (tables), the
table where they run and their mart: what a night of the events builds (tests/test_crm.py builds
the same)."""
EVENTS = " ".join(EVENT_MODELS)
LEADS = "int_lead_customer_facts int_lead_candidates int_leads fct_leads"
"""What a night of the leads builds: the views of the facts and candidates it reads (so that a
checked-out change to them is the one timed, not the kept build's), the leads and their mart."""
LOADS = "int_business_date_loads"
REFERENCE_SQL = (
    "select count(*), sum(amount) from intermediate.int_transactions_flagged",
    "select count(*), sum(ledger_balance) from intermediate.int_account_balances_keyed",
)
NIGHT_REFERENCE_SQL = (
    "select count(*), sum(amount) from intermediate.int_transactions_flagged where posting_date = ?",
    "select count(*), sum(ledger_balance) from intermediate.int_account_balances_keyed where business_date = ?",
)
"""The rows of the night's date alone: what a night brings, whatever the history."""
STRETCHED_FEEDS = (
    "core_banking/balances",
    "core_banking/transactions",
    "core_banking/accounts",
    "core_banking/loans",
    "call_center/calls",
    "online_banking/events",
)
"""The lake's dated feeds the rules, the leads and the latest load of each date read (through
their staging views); the customers', parties' and users' snapshots are read by tables the
bench does not build again, and stay the bank's own."""
COPIED_IDS = ("txn_id", "reversed_txn_id", "event_id", "call_id")
"""The ids of a posting, a reversal's posting, a web event and a call: made unique per copied block."""
STRETCHED_TABLES = "int_web_events_deduplicated"
"""The tables built from the stretched feeds that the rules read, built again after the stretch."""


def redeliver(con: duckdb.DuckDBPyConnection, dates: str, load_id: str) -> None:
    """Make the business dates matching SQL condition `dates` look re-delivered by load `load_id`
    (newer than every load the build saw, e.g. 'Z-...'): the events' watermark table
    (int_business_date_loads, a table) is swapped for a view that says so. Also tests/test_crm.py's."""
    con.execute("alter table intermediate.int_business_date_loads rename to int_business_date_loads_delivered")
    con.execute(
        "create view intermediate.int_business_date_loads as"
        f" select * replace (case when {dates} then {literal(load_id)} else load_id end as load_id)"
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


def stretch_lake(lake: Path, into: Path, days: int) -> str:
    """A lake at `into` whose history is `days` days long, from `lake`'s (see the module's doc):
    every file of `lake` linked, the dated feeds' dates copied in blocks, each block as many
    days earlier as `lake` holds, the oldest only as far back as `days` reach (30 days from a
    20-day bank: 10 of its dates copied once). Says what it made."""
    shutil.copytree(lake, into, copy_function=os.link)
    dates = sorted(
        date.fromisoformat(p.name.split("=", 1)[1]) for p in (lake / STRETCHED_FEEDS[0]).glob("business_date=*")
    )
    span = (dates[-1] - dates[0]).days + 1
    blocks = max(0, -(-days // span) - 1)
    earliest = dates[-1] - timedelta(days=days - 1)
    written = 0
    with duckdb.connect() as con:
        for feed in STRETCHED_FEEDS:
            for partition in sorted((lake / feed).glob("business_date=*")):
                day = date.fromisoformat(partition.name.split("=", 1)[1])
                for source in sorted(partition.glob("*.parquet")):
                    read = f"read_parquet({literal(str(source))}, hive_partitioning = false)"
                    columns = con.sql(f"describe select * from {read}").fetchall()
                    for block in range(1, blocks + 1):
                        back = block * span
                        if day - timedelta(days=back) < earliest:
                            continue
                        moved = ", ".join(
                            [
                                f"{name} - {back} as {name}"
                                if kind == "DATE"
                                else f"cast({name} - interval {back} day as {kind}) as {name}"
                                for name, kind, *_ in columns
                                # when the lake wrote a row is not the row's time
                                if (kind == "DATE" or kind.startswith("TIMESTAMP")) and name != "_loaded_at"
                            ]
                            # a copy is another posting, event or call: its own id (a reversal's
                            # copy cancels its own block's posting; web events stay distinct)
                            + [f"{name} || '~{block}' as {name}" for name, *_ in columns if name in COPIED_IDS]
                        )
                        out = into / feed / f"business_date={day - timedelta(days=back)}" / source.name
                        out.parent.mkdir(parents=True, exist_ok=True)
                        select = f"select * replace ({moved})" if moved else "select *"
                        con.execute(f"copy ({select} from {read}) to {literal(str(out))} (format parquet)")
                        written += 1
    first = min(dates[0], earliest)  # the blocks reach back to `earliest` whenever it is before the bank
    return (
        f"{len(dates)} dates from {dates[0]}, {blocks} block(s) of {span} days copied before them"
        f" ({written} files): history from {first}"
    )


def stretched_data_dir(settings: Settings, root: Path, days: int) -> Settings:
    """A data dir at `root` for the bench: the stretched lake and a copy of dbt's folder (its
    parse) beside it; the warehouse files are the bench's own copies."""
    print(stretch_lake(settings.lake_dir, root / "lake", days), flush=True)
    shutil.copytree(settings.root / "dbt", root / "dbt")
    return load_settings(data_dir=root)


def start_with_the_history(con: duckdb.DuckDBPyConnection) -> None:
    """The customers' first versions start with the stretched history, so that a window before
    the bank's first date finds each customer's RM and branch as the bank's first day does."""
    (first,) = con.sql("select min(business_date) from intermediate.int_account_balances_keyed").fetchone() or (None,)
    con.execute(
        "update intermediate.int_customer_versions set valid_from = ?"
        " where valid_from = (select min(valid_from) from intermediate.int_customer_versions)",
        [first],
    )


def rebuild_whole(
    settings: Settings, published: Path, full: Path, stretch_days: int | None, timings: dict[str, list[float]]
) -> None:
    """`full`: a copy of the published build whose latest loads, rules, events and leads are
    rebuilt from the whole history (after the stretched feeds' tables, on a stretched lake)."""
    shutil.copyfile(published, full)
    if stretch_days:
        timed_run(settings, full, STRETCHED_TABLES, "--full-refresh")
        with duckdb.connect(str(full), config=settings.duckdb_config()) as con:
            start_with_the_history(con)
    for selector in (LOADS, EVENTS, LEADS):
        for model, took in timed_run(settings, full, selector, "--full-refresh").items():
            timings.setdefault(model, []).append(took)


def replay(data: Path, days: int, repeat: int, stretch_days: int | None, keep: Path | None = None) -> None:
    settings = load_settings(data_dir=data)
    published = published_state_path(settings)
    timings: dict[str, dict[str, list[float]]] = {"night": {}, "full": {}, "reference": {}}
    (settings.root / "tmp").mkdir(exist_ok=True)
    # beside the data dir's lake: a stretched lake links its files
    with contextlib.ExitStack() as stack:
        if keep is None:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-crm-", dir=settings.root / "tmp"))
        else:
            scratch = str(keep)
            keep.mkdir(parents=True, exist_ok=True)
        kept_build = keep is not None and (keep / "full" / "bank.duckdb").exists()
        if stretch_days and keep is not None and (keep / "data" / "lake").is_dir():
            settings = load_settings(data_dir=Path(scratch) / "data")
            kept = "lake and full rebuild" if kept_build else "lake (rebuilding the whole history)"
            print(f"the stretched {kept} kept in {keep}: replaying the night", flush=True)
        elif stretch_days:
            settings = stretched_data_dir(settings, Path(scratch) / "data", stretch_days)
        for _ in range(repeat):
            # the published file's name: the views it holds name it by
            full, night = (Path(scratch) / mode / "bank.duckdb" for mode in ("full", "night"))
            for target in (full, night):
                target.parent.mkdir(exist_ok=True)
            if not kept_build:
                rebuild_whole(settings, published, full, stretch_days, timings["full"])
            # a night after it: the latest load of each date finds no newer load (reads no lake
            # row), then the last dates look re-delivered
            shutil.copyfile(full, night)
            for model, took in timed_run(settings, night, LOADS).items():
                timings["night"].setdefault(model, []).append(took)
            with duckdb.connect(str(night), config=settings.duckdb_config()) as con:
                window = redeliver_last(con, days)
                (last,) = con.sql("select max(business_date) from intermediate.int_business_date_loads").fetchone() or (
                    None,
                )
                for sql, parameters in [(sql, []) for sql in REFERENCE_SQL] + [
                    (sql, [last]) for sql in NIGHT_REFERENCE_SQL
                ]:
                    t0 = time.monotonic()
                    (rows, _) = con.execute(sql, parameters).fetchone() or (0, None)
                    scanned = f"scan {sql.split('from ')[1].replace('?', str(last))} ({rows:,} rows)"
                    timings["reference"].setdefault(scanned, []).append(time.monotonic() - t0)
                (customers,) = con.sql("select count(*) from marts.dim_customer").fetchone() or (0,)
                (first,) = con.sql(
                    "select min(business_date) from intermediate.int_business_date_loads"
                ).fetchone() or (None,)
                print(
                    f"{customers:,} customers, history from {first}; replaying a night that delivered {window}",
                    flush=True,
                )
            for selector in (EVENTS, LEADS):
                for model, took in timed_run(settings, night, selector).items():
                    timings["night"].setdefault(model, []).append(took)
            with duckdb.connect(str(night), config=settings.duckdb_config()) as con:
                (events, leads) = con.sql(
                    "select (select count(*) from marts.fct_customer_events), (select count(*) from marts.fct_leads)"
                ).fetchone() or (0, 0)
                print(f"after the night: {events:,} events, {leads:,} leads", flush=True)
                differences = night_against_full(con, full)
            if differences:
                sys.exit(f"the night's marts are not the full rebuild's: {differences}")
    print(f"{'model':32s} {'night s':>9s} {'full s':>9s}")
    for name, seconds in timings["night"].items():
        full_seconds = timings["full"].get(name, [float("nan")])
        print(f"{name:32s} {statistics.median(seconds):9.2f} {statistics.median(full_seconds):9.2f}")
    for mode in ("night", "full"):
        total = sum(statistics.median(s) for n, s in timings[mode].items() if not n.startswith("bankdw-on-run"))
        print(f"{'total (' + mode + ')':32s} {total:9.2f}")
    for name, seconds in timings["reference"].items():
        print(f"reference: {name}: {statistics.median(seconds):.2f}s")


COMPARED_MARTS = {
    "marts.fct_customer_events": "* exclude (detected_in_run)",
    "marts.fct_leads": "*",
}
"""The marts a replayed night must leave as the full rebuild of the same lake does (the run
that detected an event is the night's, not the rebuild's)."""


def rows_only_in_one(con: duckdb.DuckDBPyConnection, table: str, columns: str = "*") -> list[int]:
    """Rows of `table` in the open night's build (`bank`) not in the attached full rebuild
    (`full_build`), and the other way round. Also tests/test_crm.py's."""
    counts = []
    for a, b in (("bank", "full_build"), ("full_build", "bank")):
        query = f"select count(*) from (select {columns} from {a}.{table} except all select {columns} from {b}.{table})"
        (count,) = con.sql(query).fetchone() or (0,)
        counts.append(int(count))
    return counts


def night_against_full(con: duckdb.DuckDBPyConnection, full: Path) -> dict[str, tuple[int, int]]:
    """The rows of each mart of COMPARED_MARTS only in the night's build and only in the full
    rebuild's (`full`), where they differ: a night that cost less by reading less must find what
    the whole history does (the check that found a night's spurious large flows, CHANGELOG)."""
    con.execute(f"attach {literal(str(full))} as full_build (read_only)")
    differences: dict[str, tuple[int, int]] = {}
    for mart, columns in COMPARED_MARTS.items():
        only_night, only_full = rows_only_in_one(con, mart, columns)
        print(f"{mart}: {only_night:,} rows only in the night, {only_full:,} only in the full rebuild", flush=True)
        if only_night or only_full:
            differences[mart] = (only_night, only_full)
    con.execute("detach full_build")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="a published data directory")
    parser.add_argument("--days", type=int, default=1, help="business dates the replayed night delivered")
    parser.add_argument("--repeat", type=int, default=1, help="nights to replay")
    parser.add_argument("--stretch-days", type=int, help="days of history to time on (copies: see above)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="a scratch folder to keep (beside the data dir's lake: on its file system); a second run with the"
        " same folder replays the night on the kept stretched lake and full rebuild",
    )
    args = parser.parse_args()
    replay(args.data, args.days, args.repeat, args.stretch_days, args.keep)


if __name__ == "__main__":
    main()
