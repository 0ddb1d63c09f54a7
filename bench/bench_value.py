"""What do the value marts and the lifetime value model cost a night? (issue 14, docs/models.md)

Takes a published data directory (any size; the issue's figure is at 100,000 customers, e.g.
one bench/bench_nightly.py loaded), copies its warehouse to a scratch file and rebuilds there,
with `dbt run`, the value models (features, pyramid, RFM, migration, their marts) and the
lifetime value scores; it prints dbt's own time for each. Beside them, measured in the same
run on the same file: the lifetime value model's fit and score in Python, and a reference,
DuckDB scanning the fact tables the value models read (balances, postings), so a figure can be
read against what the machine does in the time.

    .venv/bin/python bench/bench_value.py --data data

The value marts are rebuilt whole each night today (not yet incremental by month).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from bankdw.config import load_settings
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


def bench(data: Path) -> None:
    settings = load_settings(data_dir=data)
    with tempfile.TemporaryDirectory(prefix="bench-value-") as scratch:
        target = Path(scratch) / "bank.duckdb"
        shutil.copyfile(published_state_path(settings), target)  # the whole build: intermediate models too
        with duckdb.connect(str(target), config=settings.duckdb_config()) as con:
            (customers,) = con.sql("select count(*) from marts.dim_customer").fetchone() or (0,)
            print(f"customers: {customers}", flush=True)
            for sql in REFERENCE_SQL:
                t0 = time.monotonic()
                (rows, _) = con.sql(sql).fetchone() or (0, None)
                print(f"reference scan: {time.monotonic() - t0:.2f}s ({rows:,} rows: {sql.split('from ')[1]})")
            clv_in_python(con)
        outcome = run_dbt(settings, target, "run", "-s", *VALUE_MODELS.split(), capture=True)
        if outcome.returncode != 0:
            sys.exit(outcome.stdout[-3000:])
        results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
        total = 0.0
        for result in results["results"]:
            name = result["unique_id"].rsplit(".", 1)[-1]
            total += result["execution_time"]
            print(f"dbt {name}: {result['execution_time']:.2f}s")
        print(f"dbt value models total: {total:.2f}s")


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
    args = parser.parse_args()
    bench(args.data)


if __name__ == "__main__":
    main()
