"""What do the value marts and the lifetime value model cost a night? (issue 14, docs/models.md)

Takes a published data directory (any size; the issue's figure is at 100,000 customers, e.g.
one bench/bench_nightly.py loaded), copies its warehouse to a scratch file and builds there,
with `dbt run`, the whole value chain and the lifetime value scores three ways, `--repeat`
times in turn (the modes alternate within each round, so the machine's load falls on each):

- a full refresh;
- a night: the last business date looks delivered again by a newer load (the postings' and
  sessions' views are wrapped to say so), so the inputs by account and web user
  (VALUE_INPUTS, incremental by the lake's loads) rewrite the current month, and the chain
  (VALUE_CHAIN: relationships, activity, features, pyramid, RFM, migration, their marts,
  incremental by month, docs/customer_value.md) finds nothing new before it;
- a late night: the same, after a late delivery changed the month before the last complete one
  for a hundred customers (`late_delivery`: what the chain reads changed in place, as such a
  night leaves it).

It prints dbt's own time for each model, the median of the rounds, and for each mode the
CPU-seconds of its dbt processes (dbt's own start and parse included) with the load average:
on a shared machine the CPU-seconds move less with the other processes than the seconds do.
Beside them, measured in the same rounds on the same file: the lifetime value model's fit and
score in Python, and a reference, DuckDB scanning the fact tables the value models read
(balances, postings), so a figure can be read against what the machine does in the time.

    .venv/bin/python bench/bench_value.py --data data [--repeat 3] [--stretch 52 3 --chain-only]

`--stretch C H` times a bank too small to show a trend on more customer-months: before the
builds, what the chain reads is copied C times under other customer keys (accounts, holders,
web users' resolution, contribution, activity, the customers' current versions and attributes)
and the history H times (the calendar, contribution and activity by month, each copy as many
months earlier as the bank holds: four for the suite's value bank, one for a bank of ten days),
so the chain sees about C x H times the customer-months of the bank, its latest month still the
current one. `--stretch 1 12` on a 100,000-customer bank of a month: its own customers and
inputs, a year of history. Copies, not customers: the same figures under other keys,
so joins, windows and ranks do the work they would on that many rows. The inputs by account and
user are built from the lake (the bank as loaded, not stretched); after each of their runs the
copies of their rows are made again from what they wrote, outside the timed runs.
`--chain-only` leaves out the lifetime value scores (which read the stretched rows too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from bankdw.config import Settings, load_settings
from bankdw.publish import published_state_path
from bankdw.warehouse import run_dbt
from models.clv.fit import FitRule, NotEnoughHistory, fit
from models.clv.history import monthly_history
from models.clv.score import score

REFERENCE_SQL = (
    "select count(*), sum(ledger_balance) from intermediate.int_account_balances_keyed",
    "select count(*), sum(amount) from intermediate.int_transactions_flagged",
)


VALUE_CHAIN = (
    "int_customer_relationships_monthly",
    "int_customer_activity_monthly",
    "int_customer_value_features_monthly",
    "int_customer_value_monthly",
    "int_customer_rfm_monthly",
    "int_customer_tier_migration_monthly",
    "fct_customer_value_monthly",
    "fct_customer_rfm_monthly",
    "fct_customer_tier_migration_monthly",
)
"""The customer x month chain incremental by month, and its marts (tests/test_customer_value.py);
its inputs by account and web user, incremental by the lake's loads, are VALUE_INPUTS."""
VALUE_INPUTS = ("int_account_activity_monthly", "int_web_user_activity_monthly")
MODES = ("full refresh", "night", "late night")


def late_delivery(con: duckdb.DuckDBPyConnection, month: date, customers: int) -> None:
    """What a late delivery for `month` leaves in the tables the value chain reads:
    `customers` customers' contribution (int_customer_profitability_monthly, rebuilt whole each
    night) and postings of that month changed; the month of int_account_activity_monthly
    rewritten as its night would (every row of the month written by a newer run)."""
    touched = (
        "(select customer_key from intermediate.int_customer_activity_monthly"
        f" order by customer_key limit {int(customers)})"
    )
    con.execute(
        "update intermediate.int_customer_profitability_monthly set contribution = contribution + 5000,"
        f" economic_profit = economic_profit + 5000 where month_start = ? and customer_key in {touched}",
        [month],
    )
    con.execute(
        "update intermediate.int_account_activity_monthly set"
        " n_postings = n_postings + case when account_id in (select account_id from"
        f" intermediate.int_accounts_resolved where customer_key in {touched}) then 40 else 0 end,"
        " built_in_run = strftime(now() at time zone 'UTC', '%Y%m%dT%H%M%S%fZ') where month_start = ?",
        [month],
    )


def shifted(column: str, months_back: int) -> str:
    """`column` (a date) moved `months_back` months back."""
    return f"cast({column} - to_months({months_back}) as date)"


def copied_key(column: str, copy: int) -> str:
    return column if copy == 0 else f"{column} || '~{copy}'"


@dataclass(frozen=True)
class Stretch:
    """`customers` copies under other keys, `histories` copies of the history, each
    `months_apart` months (the bank's own months) before the one after it."""

    customers: int
    histories: int
    months_apart: int


def copies(table: str, stretch: Stretch, replaced: Callable[[int, int], str], where: str = "") -> str:
    """Every copy of `table`'s rows (`where`) but the original, `replaced(copy, months_back)`
    giving the columns each copy changes."""
    return " union all ".join(
        f"select * replace ({replaced(copy, history * stretch.months_apart)}) from intermediate.{table} {where}"
        for copy in range(stretch.customers)
        for history in range(stretch.histories)
        if (copy, history) != (0, 0)
    )


def account_activity_copy(copy: int, months_back: int) -> str:
    return (
        f"{copied_key('account_id', copy)} as account_id, {shifted('month_start', months_back)} as month_start,"
        f" {shifted('last_posting_date', months_back)} as last_posting_date,"
        # a copy of an earlier month is never newer than what the chain read
        f" {'built_in_run' if months_back == 0 else repr('')} as built_in_run"
    )


def user_activity_copy(copy: int, months_back: int) -> str:
    return (
        f"{copied_key('user_id', copy)} as user_id, {shifted('month_start', months_back)} as month_start,"
        f" {shifted('last_session_date', months_back)} as last_session_date,"
        f" {'built_in_run' if months_back == 0 else repr('')} as built_in_run"
    )


ACTIVITY_COPIES = {
    "int_account_activity_monthly": ("account_id", account_activity_copy),
    "int_web_user_activity_monthly": ("user_id", user_activity_copy),
}
"""The inputs by account and user, which their own runs build from the lake: copied again after each."""


def stretch_activity(con: duckdb.DuckDBPyConnection, stretch: Stretch, first_month: date) -> None:
    """The copies of the account and user activity made again from the bank's own rows (the
    account or user without a copy's suffix, from the bank's first month)."""
    for table, (key, replaced) in ACTIVITY_COPIES.items():
        con.execute(f"delete from intermediate.{table} where {key} like '%~%' or month_start < ?", [first_month])
        rows = copies(table, stretch, replaced)
        con.execute(f"insert into intermediate.{table} {rows}")


def stretch_bank(con: duckdb.DuckDBPyConnection, stretch: Stretch, first_month: date) -> None:
    """What the chain reads copied under other keys and its history copied earlier (see the
    module's doc and Stretch)."""
    for history in range(1, stretch.histories):
        months_back = history * stretch.months_apart
        # the calendar's months (two days of a longer month can land on one: one kept)
        con.execute(
            "insert into intermediate.int_calendar_days select * replace ("
            f"{shifted('date_day', months_back)} as date_day, {shifted('month_start', months_back)} as month_start,"
            f" last_day({shifted('month_start', months_back)}) as month_end)"
            " from intermediate.int_calendar_days where month_start >= ?"
            f" qualify row_number() over (partition by {shifted('date_day', months_back)} order by date_day) = 1",
            [first_month],
        )
    keys = "account_id || '~{copy}' as account_id, customer_key || '~{copy}' as customer_key"
    for table in ("int_accounts_resolved", "int_account_holders_weighted"):
        rows = copies(table, replace(stretch, histories=1), lambda copy, _: keys.format(copy=copy))
        if rows:
            con.execute(f"insert into intermediate.{table} {rows}")
    rows = copies(
        "int_customer_xref",
        replace(stretch, histories=1),
        lambda copy, _: f"source_key || '~{copy}' as source_key, customer_key || '~{copy}' as customer_key",
        "where source_table = 'users'",
    )
    if rows:
        con.execute(f"insert into intermediate.int_customer_xref {rows}")
    rows = copies(
        "int_customer_profitability_monthly",
        stretch,
        lambda copy, months_back: (
            f"{copied_key('customer_key', copy)} as customer_key, {shifted('month_start', months_back)} as month_start"
        ),
    )
    con.execute(f"create temp table stretched as {rows}")
    con.execute("insert into intermediate.int_customer_profitability_monthly select * from stretched")
    con.execute("drop table stretched")
    # from the bank's own rows only (a copy of a copy would double the table with every copy)
    for table, where in (
        ("int_customer_versions", "where is_current and customer_key not like '%~%'"),
        ("int_customer_attributes", "where customer_key not like '%~%'"),
    ):
        for copy in range(1, stretch.customers):
            con.execute(
                f"insert into intermediate.{table} select * replace (customer_key || '~{copy}' as customer_key)"
                f" from intermediate.{table} {where}"
            )
    stretch_activity(con, stretch, first_month)


REDELIVERED = {
    "int_transactions_flagged": ("_load_id", "posting_date"),
    "int_web_sessions_keyed": ("load_id", "session_date"),
}
"""The views of postings and sessions the inputs read, and their load and date columns."""
NEWER_LOAD = "Z-bench"


def deliver_last_date_again(con: duckdb.DuckDBPyConnection) -> None:
    """Wraps the postings' and sessions' views so that the last business date looks delivered by
    a load newer than any the build saw (NEWER_LOAD): a night of the inputs rewrites its month."""
    (last,) = con.sql("select max(posting_date) from intermediate.int_transactions_flagged").fetchone() or (None,)
    for view, (load, day) in REDELIVERED.items():
        con.execute(f"alter view intermediate.{view} rename to {view}_delivered")
        con.execute(
            f"create view intermediate.{view} as select * replace (case when {day} >= date '{last}'"
            f" then '{NEWER_LOAD}' else {load} end as {load}) from intermediate.{view}_delivered"
        )


def forget_newer_load(con: duckdb.DuckDBPyConnection) -> None:
    """The inputs' rows of the last date as if its newer load had not been read (the load of the
    table's other rows instead): the next night reads the date again."""
    for table in ACTIVITY_COPIES:
        con.execute(
            f"update intermediate.{table} set load_id = (select max(kept.load_id) from intermediate.{table} as kept"
            f" where kept.load_id <> '{NEWER_LOAD}') where load_id = '{NEWER_LOAD}'"
        )


def timed_run(settings: Settings, target: Path, models: list[str], *extra: str) -> tuple[dict[str, float], float]:
    """dbt's own seconds for each of `models` built on `target`, and the CPU-seconds of the dbt
    process (its start and parse too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome = run_dbt(settings, target, "run", "-s", *models, *extra, capture=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if outcome.returncode != 0:
        sys.exit(outcome.stdout[-3000:])
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {result["unique_id"].rsplit(".", 1)[-1]: result["execution_time"] for result in results["results"]}, cpu


def written_months(con: duckdb.DuckDBPyConnection) -> str:
    """For each table of the chain with a run column, the first month its latest run wrote and
    how many customer-months it wrote."""
    written = []
    for table in VALUE_CHAIN:
        if table.startswith("int_"):
            first, rows = con.sql(
                f"select min(month_start), count(*) from intermediate.{table}"
                f" where built_in_run = (select max(built_in_run) from intermediate.{table})"
            ).fetchone() or (None, 0)
            written.append(f"{table.removeprefix('int_customer_')} from {first} ({rows:,})")
    return "; ".join(written)


def bench(data: Path, repeat: int, copied: tuple[int, int] | None, chain_only: bool) -> None:
    chain = list(VALUE_CHAIN) if chain_only else [*VALUE_CHAIN, "int_clv_scores", "fct_customer_lifetime_value"]
    settings = load_settings(data_dir=data)
    timings: dict[str, dict[str, list[float]]] = {mode: {} for mode in (*MODES, "reference")}
    cpu: dict[str, dict[str, list[float]]] = {mode: {"inputs": [], "chain": []} for mode in MODES}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-value-") as scratch:
        target = Path(scratch) / "bank.duckdb"
        shutil.copyfile(published_state_path(settings), target)  # the whole build: intermediate models too
        with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
            (customers,) = con.sql("select count(*) from marts.dim_customer").fetchone() or (0,)
            (months,) = con.sql(
                "select list(distinct month_start order by month_start) from intermediate.int_customer_value_monthly"
            ).fetchone() or ([],)
            deliver_last_date_again(con)
        print(f"customers: {customers}, months: {len(months)}", flush=True)
        # the bank's inputs built by this code once (a published file of an older one lacks columns)
        timed_run(settings, target, list(VALUE_INPUTS), "--full-refresh")
        # each copy of the history as many months before the one after it as the bank holds
        stretched = Stretch(copied[0], copied[1], len(months)) if copied else None
        first_month = months[0]
        if stretched:
            with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                stretch_bank(con, stretched, first_month)
                (months,) = con.sql(
                    "select list(distinct month_start order by month_start)"
                    " from intermediate.int_customer_profitability_monthly"
                ).fetchone() or ([],)
        late_month = months[-3] if len(months) >= 3 else months[0]
        for _ in range(repeat):
            for mode in MODES:
                loads.append(os.getloadavg()[0])
                extra = ("--full-refresh",) if mode == "full refresh" else ()
                with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                    forget_newer_load(con)
                night, seconds = timed_run(settings, target, list(VALUE_INPUTS), *extra)
                cpu[mode]["inputs"].append(seconds)
                with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                    if stretched:
                        stretch_activity(con, stretched, first_month)
                    if mode == "late night":
                        late_delivery(con, late_month, 100)
                built, seconds = timed_run(settings, target, chain, *extra)
                cpu[mode]["chain"].append(seconds)
                for model, took in (night | built).items():
                    timings[mode].setdefault(model, []).append(took)
                with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                    print(f"{mode}: the months each table's run wrote: {written_months(con)}", flush=True)
                    if mode == "full refresh":
                        (rows,) = con.sql(
                            "select count(*) from intermediate.int_customer_relationships_monthly"
                        ).fetchone() or (0,)
                        (keys,) = con.sql(
                            "select count(distinct customer_key) from intermediate.int_customer_relationships_monthly"
                        ).fetchone() or (0,)
                        print(f"the chain's customer-months: {rows:,} ({keys:,} customer keys)", flush=True)
                        if not chain_only:
                            clv_in_python(con)
                    for sql in REFERENCE_SQL:
                        t0 = time.monotonic()
                        con.sql(sql).fetchone()
                        timings["reference"].setdefault(sql.split("from ")[1], []).append(time.monotonic() - t0)
                loads.append(os.getloadavg()[0])
    if stretched:
        print(
            f"stretched: {stretched.customers} x the customers, {stretched.histories} x the history"
            f" (copies {stretched.months_apart} month(s) apart)"
        )
    print(f"late night: a late delivery changed {late_month} for 100 customers")
    print(f"load average (1 min) around the runs: {min(loads):.1f} to {max(loads):.1f}")
    print(f"median of {repeat} round(s), dbt's seconds per model: " + " | ".join(MODES) + " | night / full")
    totals: dict[str, dict[str, float]] = {}
    for model in [*VALUE_INPUTS, *chain]:
        medians = {mode: statistics.median(timings[mode][model]) for mode in MODES}
        for group, members in (("inputs", VALUE_INPUTS), ("chain", VALUE_CHAIN), ("all", (*VALUE_INPUTS, *chain))):
            if model in members:
                for mode in MODES:
                    totals.setdefault(group, dict.fromkeys(MODES, 0.0))[mode] += medians[mode]
        ratio = medians["night"] / medians["full refresh"]
        print(f"dbt {model}: " + " | ".join(f"{medians[mode]:.2f}" for mode in MODES) + f" | {ratio:.2f}")
    for group, label in (
        ("inputs", "the inputs by account and user (the bank as loaded)"),
        ("chain", "the chain (relationships, activity, four models, three marts)"),
        ("all", "all of them"),
    ):
        sums = totals[group]
        print(
            f"dbt total, {label}: "
            + " | ".join(f"{sums[mode]:.2f}" for mode in MODES)
            + f" | {sums['night'] / sums['full refresh']:.2f}"
        )
    for group in ("inputs", "chain"):
        medians = {mode: statistics.median(cpu[mode][group]) for mode in MODES}
        print(
            f"CPU-seconds of the dbt process, {group} (median): "
            + " | ".join(f"{medians[mode]:.1f}" for mode in MODES)
            + f" | {medians['night'] / medians['full refresh']:.2f}"
        )
    for scan, samples in timings["reference"].items():
        print(f"reference scan of {scan}: {statistics.median(samples):.2f}s (median of {len(samples)}, same rounds)")


def clv_in_python(con: duckdb.DuckDBPyConnection) -> None:
    """The lifetime value model's fit and score, timed; a bank too short to fit (NotEnoughHistory:
    a bench bank of a month or two) is said to be, and the dbt models are still timed."""
    t0 = time.monotonic()
    history = monthly_history(con)
    last = max(history["month_start"])
    try:
        model = fit(history, last, FitRule(6, 3.0, 30))
    except NotEnoughHistory as short:
        print(f"clv fit (python): not timed, {short}")
        return
    fitted = time.monotonic() - t0
    (latest,) = con.sql("select max(business_date) from intermediate.int_account_balances_keyed").fetchone() or (
        date.today(),
    )
    t0 = time.monotonic()
    scored = score(con, model, latest, 0.10, 60)
    print(f"clv fit (python): {fitted:.2f}s on {len(history):,} customer-months")
    print(f"clv score (python): {time.monotonic() - t0:.2f}s, {scored.num_rows:,} customers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="a published data directory")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three builds (medians printed)")
    parser.add_argument("--stretch", type=int, nargs=2, metavar=("CUSTOMERS", "HISTORIES"), help="copies to time on")
    parser.add_argument("--chain-only", action="store_true", help="the seven value models, not the lifetime value")
    args = parser.parse_args()
    bench(args.data, args.repeat, tuple(args.stretch) if args.stretch else None, args.chain_only)


if __name__ == "__main__":
    main()
