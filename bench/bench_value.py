"""What do the value marts and the lifetime value model cost a night? (issue 14, docs/models.md)

Takes a published data directory (any size; the issue's figure is at 100,000 customers, e.g.
one bench/bench_nightly.py loaded), copies its warehouse to a scratch file and builds there,
with `dbt run`, the value models (features, pyramid, RFM, migration, their marts) and the
lifetime value scores three ways, `--repeat` times in turn: a full refresh; a night that
changes nothing before the current month (the chain is incremental by month,
docs/customer_value.md); and a night after a late delivery changed the month before the last
complete one for a hundred customers (`late_delivery`: what the chain reads changed in place,
as such a night leaves it). It prints dbt's own time for each model, the median of the
rounds. Beside them, measured in the same run on the same file: the lifetime value model's fit
and score in Python, and a reference, DuckDB scanning the fact tables the value models read
(balances, postings), so a figure can be read against what the machine does in the time.

    .venv/bin/python bench/bench_value.py --data data [--repeat 3] [--stretch 10 6 --chain-only]

`--stretch C H` times a bank too small to show a trend on more customer-months: before the
builds, the tables the chain reads (relationships, contribution, activity by customer and month,
the customers' current versions and attributes) are copied C times under other customer keys
and their history H times, each copy four months earlier (its months complete), so the chain
sees C x H times the customer-months of the bank, its latest month still the current one.
`--chain-only` leaves out the lifetime value scores (which read the stretched rows too).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from bankdw.config import Settings, load_settings
from bankdw.publish import published_state_path
from bankdw.warehouse import run_dbt
from models.clv.fit import FitRule, NotEnoughHistory, fit
from models.clv.history import monthly_history
from models.clv.score import score

VALUE_MODELS = (
    "int_customer_value_features_monthly int_customer_value_monthly int_customer_rfm_monthly "
    "int_customer_tier_migration_monthly fct_customer_value_monthly fct_customer_rfm_monthly "
    "fct_customer_tier_migration_monthly int_clv_scores fct_customer_lifetime_value"
)
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


STRETCHED = {
    "int_customer_relationships_monthly": (
        "month_start - to_months({shift}) as month_start, last_day(month_start - to_months({shift})) as month_end,"
        " case when {shift} = 0 then reference_date else last_day(month_start - to_months({shift})) end"
        " as reference_date, is_complete_month or {shift} > 0 as is_complete_month,"
        " lapsed_on - to_months({shift}) as lapsed_on"
    ),
    "int_customer_profitability_monthly": "month_start - to_months({shift}) as month_start",
    "int_customer_activity_monthly": (
        "month_start - to_months({shift}) as month_start, last_activity_date - to_months({shift}) as last_activity_date"
    ),
}
"""What stretch() moves back with each copy of the history, besides the customer key."""


def stretch(con: duckdb.DuckDBPyConnection, customers: int, histories: int) -> None:
    """The chain's inputs copied `customers` times under other keys and their history
    `histories` times, each copy four months earlier (see the module's doc)."""

    def key(copy: int) -> str:
        return "customer_key" if copy == 0 else f"customer_key || '~{copy}'"

    for table, moved in STRETCHED.items():
        copies = " union all ".join(
            f"select * replace ({key(copy)} as customer_key, {moved.format(shift=4 * history)})"
            f" from intermediate.{table}"
            for copy in range(customers)
            for history in range(histories)
            if (copy, history) != (0, 0)
        )
        con.execute(f"create temp table stretched as {copies}")
        con.execute(f"insert into intermediate.{table} select * from stretched")
        con.execute("drop table stretched")
    for table, where in (("int_customer_versions", "where is_current"), ("int_customer_attributes", "")):
        for copy in range(1, customers):
            con.execute(
                f"insert into intermediate.{table} select * replace (customer_key || '~{copy}' as customer_key)"
                f" from intermediate.{table} {where}"
            )


def timed_run(settings: Settings, target: Path, models: list[str], *extra: str) -> dict[str, float]:
    """dbt's own seconds for each of `models` built on `target`."""
    outcome = run_dbt(settings, target, "run", "-s", *models, *extra, capture=True)
    if outcome.returncode != 0:
        sys.exit(outcome.stdout[-3000:])
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
    return {result["unique_id"].rsplit(".", 1)[-1]: result["execution_time"] for result in results["results"]}


def bench(data: Path, repeat: int, stretched: tuple[int, int] | None, chain_only: bool) -> None:
    models = list(VALUE_CHAIN) if chain_only else VALUE_MODELS.split()
    settings = load_settings(data_dir=data)
    timings: dict[str, dict[str, list[float]]] = {mode: {} for mode in (*MODES, "reference")}
    with tempfile.TemporaryDirectory(prefix="bench-value-") as scratch:
        target = Path(scratch) / "bank.duckdb"
        shutil.copyfile(published_state_path(settings), target)  # the whole build: intermediate models too
        with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
            (customers,) = con.sql("select count(*) from marts.dim_customer").fetchone() or (0,)
            (months,) = con.sql(
                "select list(distinct month_start order by month_start) from intermediate.int_customer_value_monthly"
            ).fetchone() or ([],)
            if stretched:
                stretch(con, *stretched)
                (rows,) = con.sql(
                    "select count(*) from intermediate.int_customer_relationships_monthly"
                ).fetchone() or (0,)
                print(
                    f"stretched: {stretched[0]} x the customers, {stretched[1]} x the history: {rows:,} customer-months"
                )
            print(f"customers: {customers}, months: {len(months)}", flush=True)
            if not chain_only:
                clv_in_python(con)
        late_month = months[-3] if len(months) >= 3 else months[0]
        for _ in range(repeat):
            for mode in MODES:
                if mode == "late night":
                    with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                        late_delivery(con, late_month, 100)
                night = timed_run(settings, target, models, *(("--full-refresh",) if mode == "full refresh" else ()))
                for model, seconds in night.items():
                    timings[mode].setdefault(model, []).append(seconds)
                with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
                    for sql in REFERENCE_SQL:
                        t0 = time.monotonic()
                        con.sql(sql).fetchone()
                        timings["reference"].setdefault(sql.split("from ")[1], []).append(time.monotonic() - t0)
    print(f"late night: a late delivery changed {late_month} for 100 customers")
    print(f"median of {repeat} round(s), dbt's seconds per model: " + " | ".join(MODES) + " | night / full")
    totals = dict.fromkeys(MODES, 0.0)
    for model in models:
        medians = {mode: statistics.median(timings[mode][model]) for mode in MODES}
        for mode in MODES:
            totals[mode] += medians[mode]
        ratio = medians["night"] / medians["full refresh"]
        print(f"dbt {model}: " + " | ".join(f"{medians[mode]:.2f}" for mode in MODES) + f" | {ratio:.2f}")
    print("dbt value models total: " + " | ".join(f"{totals[mode]:.2f}" for mode in MODES))
    chain = {mode: sum(statistics.median(timings[mode][model]) for model in VALUE_CHAIN) for mode in MODES}
    print("dbt value chain (the seven) total: " + " | ".join(f"{chain[mode]:.2f}" for mode in MODES))
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
