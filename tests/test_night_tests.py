"""The warehouse gate of an incremental night reads the rows the night wrote (docs/quality.md,
dbt_project/macros/night_tests.sql), and still fails on them; a full refresh reads whole tables.

On the shared bank's second night (`published_nights`: built incrementally, started from the
history's build), rows are planted in its build file: a broken rule in the night's rows (a
duplicated posting, a daily balance without its account, a balance that does not roll forward)
and a broken rule in older rows (a duplicated call, a loan day with negative days past due, a
balance two older days do not roll forward to and from, outside the night's scope). No new bank
and no new night: the gate runs on a copy of the published file.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import Settings, by_hand_dbt_vars, load_settings
from bankdw.pipeline import warehouse_gate_step
from bankdw.publish import published_state_path
from bankdw.reporting.run_report import RunReport
from bankdw.warehouse import BuildFailed, build_path, night_tested_since
from expectations.history import checks_dir
from tests.conftest import dbt_on
from tests.nights import Nights

pytestmark = pytest.mark.slow

NIGHT_STAGING_BREAK = "unique_combination_of_columns_stg_core_banking__branches_branch_id__snapshot_date"
OLD_STAGING_BREAK = "unique_combination_of_columns_stg_core_banking__relationship_managers_rm_id__snapshot_date"
MONTH_END = "assert_month_end_balances_reconcile_to_feed"
NIGHT_BREAKS = {
    "unique_fct_transactions_txn_id",
    "not_null_int_account_balances_daily_filled_account_id",
    NIGHT_STAGING_BREAK,
    MONTH_END,
}
"""The scoped tests that the rows planted among the night's rows break."""
OLD_BREAKS = {
    "unique_fct_calls_call_id",
    "unique_combination_of_columns_fct_loan_daily_business_date__account_id",
    "accepted_range_fct_loan_daily_days_past_due__0",
    OLD_STAGING_BREAK,
}
"""The scoped tests that the rows planted among older rows break. (Whole-table reconciliations
may fail on either: they read every row, every night.)"""
ROLL_FORWARD = "assert_balances_roll_forward"
NIGHT_ROLL_FORWARD_BREAKS, OLD_ROLL_FORWARD_BREAKS = 2, 2
"""The account-days that do not roll forward: among the night's, the duplicated posting's and a
balance one more than it should be; among older ones, a balance one more than it should be and
the day after it, which starts from it (docs/quality.md: the test judges a night from the
night's first date on, each account from its last older balance)."""


CANDIDATES_UNIQUE = "unique_combination_of_columns_int_lead_candidates_customer_key__candidate_date"
"""int_lead_candidates' uniqueness: whole on a full refresh; on a night int_leads checks its candidates."""


def planted_night(nights: Nights, root: Path) -> tuple[Settings, str]:
    """A copy of the bank whose build area holds night 2's build with the planted rows, and the
    lake version that build started from."""
    shutil.copytree(nights.settings.root, root / "data")
    settings = load_settings(data_dir=root / "data")
    target = build_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(published_state_path(settings), target)  # the whole build, staging and intermediate too
    with duckdb.connect(str(target)) as con:
        [(since, mode)] = con.sql("select started_from_lake_version, build_mode from audit.warehouse_build").fetchall()
        assert mode == "incremental" and since is not None
        # the night's rows: a posting booked twice, a filled balance day without its account
        night_posting = (
            "select * from marts.fct_transactions where load_id > ? and amount <> 0 and (account_id, posting_date) in"
            " (select (account_id, business_date) from marts.fct_account_balance_daily) order by txn_id limit 1"
        )
        assert con.execute(night_posting, [since]).fetchall()
        con.execute(f"insert into marts.fct_transactions {night_posting}", [since])
        con.execute(
            "insert into intermediate.int_account_balances_daily_filled select * replace (null as account_id) "
            "from intermediate.int_account_balances_daily_filled where as_of_load_id > ? limit 1",
            [since],
        )
        # older rows, which the night did not write: a call twice, a loan day twice and overdue by -1 day
        old_call = "select * from marts.fct_calls where load_id <= ? limit 1"
        old_loan_day = "select * replace (-1 as days_past_due) from marts.fct_loan_daily where load_id <= ? limit 1"
        assert con.execute(old_call, [since]).fetchall() and con.execute(old_loan_day, [since]).fetchall()
        con.execute(f"insert into marts.fct_calls {old_call}", [since])
        con.execute(f"insert into marts.fct_loan_daily {old_loan_day}", [since])
        plant_roll_forward_breaks(con, since)
        # a month end of the month the night rebuilt, a cent away from the feed (the month-end
        # reconciliation judges the months from the night's first delivered date's on)
        con.execute(
            "update marts.fct_account_balance_monthly set ledger_balance = ledger_balance + 0.01 "
            "where (month_start, account_id) in (select (month_start, account_id) from marts.fct_account_balance_monthly "
            "where load_id > ? and is_open_at_month_end order by account_id limit 1)",
            [since],
        )
        con.execute("checkpoint")
    # and in the lake the staging views read: a branch twice in the night's delivery, a relationship
    # manager twice in an older one
    plant_duplicate_row(settings.lake_dir / "core_banking" / "branches", since, night=True)
    plant_duplicate_row(settings.lake_dir / "core_banking" / "relationship_managers", since, night=False)
    return settings, since


def plant_duplicate_row(feed: Path, since: str, night: bool) -> None:
    """Rewrite one business date's file of `feed` in the lake with its first row twice: a file the
    night's loads wrote (`night`), or one an older load wrote."""
    for path in sorted(feed.glob("business_date=*/*.parquet")):
        [(load_id, rows)] = duckdb.execute(
            "select max(_load_id), count(*) from read_parquet(?)", [str(path)]
        ).fetchall()
        if rows and (load_id > since) == night:
            doubled = path.with_name(".doubled.parquet")
            duckdb.execute(
                "copy (select * from read_parquet($1) union all (select * from read_parquet($1) limit 1)) to '"
                + str(doubled).replace("'", "''")
                + "' (format parquet)",
                [str(path)],
            )
            doubled.replace(path)
            return
    raise AssertionError(f"no {'night' if night else 'older'} file with rows in {feed}")


def plant_roll_forward_breaks(con: duckdb.DuckDBPyConnection, since: str) -> None:
    """NIGHT_ROLL_FORWARD_BREAKS account-days of the night and OLD_ROLL_FORWARD_BREAKS older ones
    that do not roll forward, besides the doubled posting planted before (the first of the night's)."""
    [(night_first, night_last)] = con.execute(
        "select min(business_date), max(business_date) from marts.fct_account_balance_daily where load_id > ?",
        [since],
    ).fetchall()
    [(doubled_account, doubled_day)] = con.execute(
        "select any_value(account_id), any_value(posting_date) from marts.fct_transactions where load_id > ?"
        " group by txn_id having count(*) > 1",
        [since],
    ).fetchall()
    # the doubled posting (not zero, on a day its account has a balance) breaks that account-day only
    assert night_first <= doubled_day <= night_last, (doubled_day, night_first, night_last)
    # a night's balance one more than the day before's plus the postings since
    [(night_account,)] = con.execute(
        "select min(account_id) from marts.fct_account_balance_daily"
        " where load_id > ? and business_date = ? and account_id <> ?",
        [since, night_last, doubled_account],
    ).fetchall()
    # an older balance one more, on the history's second date: it and the day after it break, both
    # before the night's first date
    [(old_day, next_day)] = con.execute(
        "select min(business_date) + 1, min(business_date) + 2 from marts.fct_account_balance_daily"
    ).fetchall()
    assert next_day < night_first, (next_day, night_first)
    [(old_account,)] = con.execute(
        "select min(account_id) from marts.fct_account_balance_daily where business_date = ? and account_id in"
        " (select account_id from marts.fct_account_balance_daily where business_date = ?)",
        [old_day, next_day],
    ).fetchall()
    for account, day in ((night_account, night_last), (old_account, old_day)):
        changed = con.execute(
            "update marts.fct_account_balance_daily set ledger_balance = ledger_balance + 1"
            " where account_id = ? and business_date = ?",
            [account, day],
        ).fetchall()
        assert changed == [(1,)], (account, day)


def failures_of(results: list[dict[str, object]], test: str) -> object:
    """What dbt counted as a test's failures (the rows its fail_calc counts)."""
    [node] = [node for node in results if str(node["unique_id"]).split(".")[2] == test]
    return node["failures"]


def view_test_filter(
    results: list[dict[str, Any]], test: str = CANDIDATES_UNIQUE, view: str = "int_lead_candidates"
) -> str:
    """What a passing test of a view read of it (its where, as compiled): `false` where the
    night's rows are checked elsewhere, `true` on a full refresh."""
    [node] = [node for node in results if str(node["unique_id"]).split(".")[2] == test]
    assert node["status"] == "pass", node["status"]
    found = re.search(rf"from \S+{view}\S* where (\w+)\)", " ".join(str(node["compiled_code"]).split()))
    assert found, node["compiled_code"]
    return found.group(1)


FACT_VIEW_UNIQUE = ("unique_int_transactions_flagged_txn_id", "int_transactions_flagged")
"""A test of a fact's rows as a view: on a night the fact tests the night's rows (dbt_project.yml)."""


def failing(results: list[dict[str, object]]) -> set[str]:
    """The names of the tests that failed (a test's unique id's third part); a warning is not a failure."""
    return {str(node["unique_id"]).split(".")[2] for node in results if node["status"] in ("fail", "error")}


def test_a_nights_gate_fails_on_the_nights_rows_and_does_not_read_older_ones(
    published_nights: Nights, tmp_path: Path
) -> None:
    # given night 2's build, with rules broken in the night's rows and in older rows
    settings, since = planted_night(published_nights, tmp_path)
    assert settings.warehouse_test_scope == "night"  # the default
    assert night_tested_since(settings, build_path(settings)) == since
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-nighttest"
    RunReport(run_id=run_id, started_at=datetime.now(UTC).isoformat(), built=True).save(settings)
    # (dbt's log of the gate alone: the earlier commands' logs, and dbt's rotated ones, removed)
    for log in (settings.root / "dbt" / "logs").glob("dbt.log*"):
        log.unlink()
    # when the night's warehouse gate runs
    with pytest.raises(BuildFailed) as failed:
        warehouse_gate_step(settings, run_id)
    # then it fails on the night's broken rows ...
    assert failed.value.result is not None
    failed_tests = failing(failed.value.result.test_results)
    assert failed_tests >= NIGHT_BREAKS, failed_tests
    # ... and the scoped tests of the tables with broken older rows passed: they did not read them
    assert not failed_tests & OLD_BREAKS, failed_tests
    # the roll-forward judged the night's account-days, each from its older balance, and not the older ones
    assert ROLL_FORWARD in failed_tests
    assert failures_of(failed.value.result.test_results, ROLL_FORWARD) == NIGHT_ROLL_FORWARD_BREAKS
    # the leads' candidates (a view) were not computed for their test: int_leads checked the night's
    assert view_test_filter(failed.value.result.test_results) == "false"
    # nor the facts' views: the facts tested the night's rows
    assert view_test_filter(failed.value.result.test_results, *FACT_VIEW_UNIQUE) == "false"
    # the staging test read the night's delivery, with its one doubled branch, and no older one
    assert failures_of(failed.value.result.test_results, NIGHT_STAGING_BREAK) == 1
    # the gate named the scope once for its command: no test asked the build for it (on Spark a job each)
    logged = [log.read_text(encoding="utf-8") for log in (settings.root / "dbt" / "logs").glob("dbt.log*")]
    assert "Running with dbt" in "".join(logged)
    assert not [log for log in logged if "started_from_lake_version" in log]
    # and the check history keeps every test of the gate, each with its outcome
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    data_tests = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    checks = dict(
        duckdb.sql(
            "select check_id, outcome from read_parquet(?)",
            params=[str(checks_dir(settings.lake_dir) / f"{run_id}.warehouse.parquet")],
        ).fetchall()
    )
    assert set(checks) == data_tests
    assert {check_id.split(".")[2] for check_id, outcome in checks.items() if outcome == "failed"} == failed_tests


def test_a_full_refresh_tests_whole_tables_and_finds_the_older_rows(published_nights: Nights, tmp_path: Path) -> None:
    # given the same planted build, marked as a full refresh marks it (it started from nothing)
    settings, _ = planted_night(published_nights, tmp_path)
    target = build_path(settings)
    with duckdb.connect(str(target)) as con:
        con.execute("update audit.warehouse_build set started_from_lake_version = null, build_mode = 'full refresh'")
    assert night_tested_since(settings, target) is None
    # when the tests of the tables with broken older rows run, as the gate runs them
    done = dbt_on(
        settings,
        target,
        "test",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        f"fct_calls fct_loan_daily {ROLL_FORWARD} int_lead_candidates stg_core_banking__relationship_managers "
        "int_transactions_flagged",
    )
    # then they read every row, the older ones too, and fail on them
    assert done.returncode == 1, done.stdout[-2000:]
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    assert failing(results["results"]) >= OLD_BREAKS | {ROLL_FORWARD}, failing(results["results"])
    assert failures_of(results["results"], ROLL_FORWARD) == NIGHT_ROLL_FORWARD_BREAKS + OLD_ROLL_FORWARD_BREAKS
    # and the leads' candidates are tested whole
    assert view_test_filter(results["results"]) == "true"
    assert view_test_filter(results["results"], *FACT_VIEW_UNIQUE) == "true"


def test_a_dbt_test_without_the_gates_scope_asks_the_build_for_it(published_nights: Nights, tmp_path: Path) -> None:
    # given the planted night's build, and the settings' vars (warehouse_test_scope night)
    settings, _ = planted_night(published_nights, tmp_path)
    # when a `dbt test` not run by the gate (BANKDW_NIGHT_TESTED_SINCE unset) tests a table with a
    # break in the night's rows and one with a break in older rows
    done = dbt_on(
        settings,
        build_path(settings),
        "test",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "fct_transactions fct_calls",
    )
    # then each test asked the build for the night's watermark and read the night's rows only
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    assert done.returncode == 1, done.stdout[-2000:]
    failed = failing(results["results"])
    assert "unique_fct_transactions_txn_id" in failed and "unique_fct_calls_call_id" not in failed, failed


def test_by_hand_dbt_tests_whole_tables() -> None:
    # a `dbt test` by hand reads the vars block of dbt_project.yml: whole tables, whatever file it tests
    assert by_hand_dbt_vars()["warehouse_test_scope"] == "whole"
    assert load_settings().warehouse_test_scope == "night"
