"""Loads that lose nothing and count nothing twice (issue 4), end to end on a tiny bank.

One bank is loaded the hard way: runs killed while staging, while committing and while
dbt builds; then a night that brings new dates, a corrected re-delivery of an earlier
date (its postings withdrawn and booked on the next date), a re-delivery of another that
withdraws all its web events and calls (issue 20), and an unchanged re-delivery, built
incrementally. A second bank gets the same final
landing area in one clean pass and a full refresh. Their marts must be identical, and the
audit must balance for every file.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import RunInProgress, run
from bankdw.publish import published_state_path
from bankdw.reporting.run_report import RunReport
from bankdw.warehouse import published_lake_version
from extract.landing import MANIFEST_NAME, Manifest
from tests.conftest import read_csv, simulate_bank, write_csv, write_manifest

pytestmark = pytest.mark.slow
# six days across a month's end (27 November to 2 December), so that the night, in December,
# changes a month it does not restart from: the monthly models are incremental by month
START, DAYS, FIRST_NIGHTS = date(2026, 11, 27), 6, 5
CORRECTED_DAY = 4  # the re-delivered date: START + 4, loaded in the first nights
WITHDRAWN_DAY = 1  # a date whose events and calls a re-delivery withdraws, all of them
SYSTEMS = ("core_banking", "online_banking", "call_center")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def run_killed(data_dir: str, point: str) -> None:
    """`bankdw run` in this process, SIGKILLed at `point` (called in a child process)."""
    import extract.lake
    import extract.load
    from bankdw import pipeline

    if point == "stage":  # in the middle of converting the landed files
        convert = extract.load.convert_feed
        calls = [0]

        def convert_then_die(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == 8:
                _die()
            return convert(*args, **kwargs)

        extract.load.convert_feed = convert_then_die  # type: ignore[assignment]
    elif point == "commit":  # after a few partitions were swapped into the lake, before the audit
        commit, replace = extract.lake.Lake.commit, Path.replace
        swaps = [-1]

        def replace_then_die(self: Path, target: Any) -> Path:
            # quarantine partitions come first: die at the third partition of a feed
            if swaps[0] >= 0 and "_quarantine" not in self.parts and "business_date=" in self.name:
                swaps[0] += 1
                if swaps[0] == 3:
                    _die()
            return replace(self, target)

        def counting_commit(self: extract.lake.Lake, *args: Any) -> None:
            swaps[0] = 0
            commit(self, *args)

        Path.replace = replace_then_die  # type: ignore[method-assign]
        extract.lake.Lake.commit = counting_commit  # type: ignore[method-assign]
    elif point == "build":  # while dbt writes the new warehouse file
        from bankdw.warehouse import build_path

        root = Path(data_dir)
        built = build_path(load_settings(data_dir=root))
        wal = built.with_name(f"{built.name}.wal")

        def kill_when_dbt_writes() -> None:
            # the build file is first a copy of the published state, which the pipeline writes
            # itself before dbt starts; then dbt writes, through the file's write-ahead log
            while not (_size(built) > 2_000_000 and _size(wal) > 0):
                time.sleep(0.05)
            working = processes_working_in(root, patience=0)
            (root.parent / WORKING_AT_BUILD_KILL).write_text(json.dumps(working), encoding="utf-8")
            _die()

        threading.Thread(target=kill_when_dbt_writes, daemon=True).start()
    pipeline.run(load_settings(data_dir=Path(data_dir)))


WORKING_AT_BUILD_KILL = "working-at-build-kill.json"
"""What worked in the data dir when the run killed while dbt builds died (`processes_working_in`)."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def kill_run(settings: Settings, point: str) -> None:
    code = f"from tests.test_loads import run_killed; run_killed({str(settings.root)!r}, {point!r})"
    # the output to a file, not a pipe: a pipe's reader waits for every process that holds it, a
    # dbt the killed run left working included, and would hide it from `processes_working_in`
    output = settings.root.parent / f"killed-{point}.log"
    with output.open("w", encoding="utf-8") as out:
        done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=out, stderr=out, timeout=600)
    assert done.returncode == -signal.SIGKILL, output.read_text(encoding="utf-8")[-3000:]


def processes_working_in(folder: Path, patience: float = 10.0) -> list[str]:
    """The command lines of the processes still working in `folder` (their current directory, as
    dbt's is the data dir), once they have had `patience` seconds to end (Linux's /proc)."""
    deadline = time.monotonic() + patience
    while True:
        working = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cwd").resolve() == folder.resolve():
                    working.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
            except OSError:  # ended meanwhile, or not ours to read
                continue
        if not working or time.monotonic() > deadline:
            return working
        time.sleep(0.2)


def deliver(source: Path, landing: Path, days: range) -> None:
    for day in days:
        for system in SYSTEMS:
            folder = source / system / (START + timedelta(days=day)).isoformat()
            if folder.is_dir():
                shutil.copytree(folder, landing / system / folder.name, dirs_exist_ok=True)


def correct_delivery(landing: Path) -> tuple[str, str]:
    """Re-deliver a date of the core system and of online banking, corrected. The core withdraws
    every posting of the date (its transactions file comes with its header only) and books them
    again on the next date, one with a corrected description: the date's balances go back by
    what its postings had moved, the next date's stay, so that the ledger rolls forward. Online
    banking withdraws one web event. Returns (the corrected txn_id, the withdrawn event_id)."""
    core = landing / "core_banking" / (START + timedelta(days=CORRECTED_DAY)).isoformat()
    next_day = core.parent / (START + timedelta(days=CORRECTED_DAY + 1)).isoformat()
    header, withdrawn_postings = read_csv(core / "transactions.csv")
    withdrawn_sums: dict[str, Decimal] = {}
    for posting in withdrawn_postings:
        account = posting["account_id"]
        withdrawn_sums[account] = withdrawn_sums.get(account, Decimal(0)) + Decimal(posting["amount"])
    write_csv(core / "transactions.csv", header, [])
    balance_header, balances = read_csv(core / "balances.csv")
    for balance in balances:
        for column in ("ledger_balance", "available_balance"):
            balance[column] = str(Decimal(balance[column]) - withdrawn_sums.get(balance["account_id"], Decimal(0)))
    write_csv(core / "balances.csv", balance_header, balances)
    write_manifest(core)
    # booked again on the next date, for the accounts still open then (a closing posting stays withdrawn)
    open_next_day = {balance["account_id"] for balance in read_csv(next_day / "balances.csv")[1]}
    postings = [posting for posting in withdrawn_postings if posting["account_id"] in open_next_day]
    postings[0]["description"] = "CORRECTED"
    for posting in postings:
        posting["posting_date"] = next_day.name
    _, next_postings = read_csv(next_day / "transactions.csv")
    write_csv(next_day / "transactions.csv", header, postings + next_postings)
    write_manifest(next_day)
    web = landing / "online_banking" / core.name
    hour = max((p for p in web.glob("events-*.jsonl.gz")), key=lambda p: p.stat().st_size)
    events = gzip.decompress(hour.read_bytes()).decode("utf-8").split("\n")
    withdrawn = json.loads(events.pop(0))["event_id"]
    hour.write_bytes(gzip.compress("\n".join(events).encode("utf-8"), mtime=0))
    write_manifest(web)
    return postings[0]["txn_id"], withdrawn


def withdraw_a_date(landing: Path) -> None:
    """Re-deliver START + 1 of online banking and of the call centre with nothing of the date:
    no web event file (hour files are optional: a day without events may have none) and a
    calls file with its header only. The date's events and calls leave the lake."""
    web = landing / "online_banking" / (START + timedelta(days=WITHDRAWN_DAY)).isoformat()
    for hour in web.glob("events-*.jsonl.gz"):
        hour.unlink()
    write_manifest(web)
    calls = landing / "call_center" / web.name / "calls.csv"
    header, _ = read_csv(calls)
    write_csv(calls, header, [])
    write_manifest(calls.parent)


def redeliver_unchanged(landing: Path) -> None:
    """The call centre sends day 3 again, the same files with a new manifest."""
    folder = landing / "call_center" / (START + timedelta(days=2)).isoformat()
    manifest = Manifest.model_validate_json((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest.model_copy(update={"extracted_at": "2026-11-30T01:00:00+08:00"}).write(folder)


def lake_rows(settings: Settings) -> dict[str, int]:
    """Rows of every partition in the lake (quarantine included), each read whole."""
    with duckdb.connect() as con:
        return {
            str(p.relative_to(settings.lake_dir)): con.sql(f"select count(*) from '{p}'").fetchall()[0][0]
            for p in sorted(settings.lake_dir.glob("**/business_date=*/*.parquet"))
            if "_staging" not in p.parts
        }


BALANCE_WINDOW_DAYS = 3
"""fct_account_balance_daily_recent's window (balance_snapshot_window_days) for both banks, so that
the night drops a date from it: the clean bank's full refresh keeps only the last three dates."""


@pytest.fixture(scope="module")
def banks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as setting:
        # in the environment, so that the killed runs' processes have it too
        setting.setenv("BANKDW_BALANCE_SNAPSHOT_WINDOW_DAYS", str(BALANCE_WINDOW_DAYS))
        return load_banks(tmp_path_factory.mktemp("loads"))


def load_banks(root: Path) -> dict[str, Any]:
    source = root / "source"
    # a bank of its own (not the shared one of conftest): 300 customers over six days, whose
    # merchants refund a posting of before START + 4 on START + 5, which the last test needs
    # (refunds are rare at this size: seed 41 has one such, a card purchase of 29 November
    # refunded on 2 December, so the night changes November's postings of that account)
    simulate_bank(source, customers=300, days=DAYS, start=START, seed=41)
    hard = load_settings(data_dir=root / "hard")
    facts: dict[str, Any] = {"hard": hard}

    deliver(source, hard.landing_dir, range(FIRST_NIGHTS))
    kill_run(hard, "stage")
    facts["after_stage_kill"] = (lake_rows(hard), published_lake_version(hard))
    facts["staged_before_stage_kill"] = sorted(
        p.name for p in (hard.lake_dir / "_staging").glob("*/*/*/business_date=*")
    )
    kill_run(hard, "commit")
    facts["after_commit_kill"] = (lake_rows(hard), published_lake_version(hard))
    facts["audit_after_commit_kill"] = sorted(p.name for p in (hard.lake_dir / "_audit" / "loads").glob("*"))
    facts["first"] = run(hard)

    facts["published_before"] = hard.warehouse_path.read_bytes()
    deliver(source, hard.landing_dir, range(FIRST_NIGHTS, DAYS))
    facts["corrected"] = correct_delivery(hard.landing_dir)
    withdraw_a_date(hard.landing_dir)
    redeliver_unchanged(hard.landing_dir)
    kill_run(hard, "build")
    facts["working_at_build_kill"] = json.loads((root / WORKING_AT_BUILD_KILL).read_text(encoding="utf-8"))
    facts["left_working"] = processes_working_in(hard.root)
    facts["after_build_kill"] = hard.warehouse_path.read_bytes()
    facts["night"] = run(hard)

    clean = load_settings(data_dir=root / "clean")
    shutil.copytree(hard.landing_dir, clean.landing_dir)
    facts["clean"], facts["clean_report"] = clean, run(clean)
    return facts


def test_a_run_killed_while_staging_leaves_nothing_in_the_lake(banks: dict[str, Any]) -> None:
    rows, published = banks["after_stage_kill"]
    assert rows == {} and published is None
    assert banks["staged_before_stage_kill"]  # what it had converted is in its staging area, no further


def test_a_run_killed_while_committing_leaves_whole_partitions_and_its_deliveries_pending(
    banks: dict[str, Any],
) -> None:
    rows, published = banks["after_commit_kill"]
    # some partitions were swapped in, of the feeds too, each complete (readable, rows counted)
    assert any(not name.startswith("_quarantine") for name in rows) and published is None
    # but no load is recorded in the audit log, so the deliveries are still pending
    assert [name for name in banks["audit_after_commit_kill"] if name.startswith("2")] == []
    # and the next run loaded every delivery again and built from all of them
    first: RunReport = banks["first"]
    assert first.outcome == "SUCCESS", first.failures
    assert len(first.deliveries_loaded) == 3 * FIRST_NIGHTS and first.build_mode == "full refresh"


def test_a_run_killed_while_dbt_builds_leaves_the_published_warehouse_as_it_was(banks: dict[str, Any]) -> None:
    assert banks["after_build_kill"] == banks["published_before"]
    assert any("bankdw.dbt_session" in working for working in banks["working_at_build_kill"])  # dbt was building
    assert banks["left_working"] == []  # dbt died with the run: nothing writes a build file behind its back
    night: RunReport = banks["night"]
    assert night.outcome == "SUCCESS", night.failures
    # the killed run had committed the new dates; this one built them without manual clean-up
    assert night.built and night.build_mode == "incremental"
    assert not list(banks["hard"].build_dir.glob("*.duckdb*"))  # published, or removed: nothing left behind


LINEAGE = (
    "load_id",
    "detected_in_run",
    "as_of_load_id",
    "rebuilt_from",
    "interest_load_id",
    "postings_load_id",
    "built_in_run",
    "profitability_built_in_run",
    "features_built_in_run",
    "value_built_in_run",
    "account_activity_built_in_run",
    "user_activity_built_in_run",
)
"""Columns that differ between two data dirs by construction: which load a row came from, which
run found or wrote it, what an incremental build restarted from."""

INCREMENTAL_INTERMEDIATES = (
    "int_account_interest_monthly",
    "int_account_postings_monthly",
    "int_account_provisions_monthly",
    "int_account_service_costs_monthly",
    "int_account_profitability_monthly",
    "int_account_profitability_shared_monthly",
    "int_account_activity_monthly",
    "int_web_user_activity_monthly",
    "int_customer_relationships_monthly",
    "int_customer_activity_monthly",
    "int_customer_value_features_monthly",
    "int_customer_value_monthly",
    "int_customer_rfm_monthly",
    "int_customer_tier_migration_monthly",
)
"""The monthly profitability chain and the value chain, incremental by month: compared row for row
as the marts."""


CURRENT_STATES = (
    "int_customers_current",
    "int_accounts_current",
    "int_products_current",
    "int_branches_current",
    "int_relationship_managers_current",
    "int_web_users_current",
    "int_agents_current",
)
"""The current states of the snapshot feeds, merged night by night (macros/current_state.sql)."""


def _mart_rows(
    con: duckdb.DuckDBPyConnection, db: str, table: str, schema: str = "marts", lineage: tuple[str, ...] = LINEAGE
) -> str:
    columns = [r[0] for r in con.sql(f"describe {db}.{schema}.{table}").fetchall() if r[0] not in lineage]
    return "select " + ", ".join(f'"{c}"' for c in columns) + f" from {db}.{schema}.{table}"


def test_incremental_nights_with_faults_give_the_same_marts_as_one_clean_full_refresh(
    banks: dict[str, Any],
) -> None:
    assert banks["clean_report"].build_mode == "full refresh"
    with duckdb.connect() as con:
        con.execute(f"attach '{banks['hard'].warehouse_path}' as hard (read_only)")
        con.execute(f"attach '{banks['clean'].warehouse_path}' as clean (read_only)")
        tables = [
            r[0]
            for r in con.sql(
                "select table_name from duckdb_tables() where database_name = 'clean' "
                "and schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert len(tables) >= 16
        for table in tables:
            hard, clean = _mart_rows(con, "hard", table), _mart_rows(con, "clean", table)
            n = con.sql(f"select count(*) from ({clean})").fetchall()[0][0]
            only_hard = con.sql(f"select count(*) from ({hard} except all {clean})").fetchall()[0][0]
            only_clean = con.sql(f"select count(*) from ({clean} except all {hard})").fetchall()[0][0]
            assert (table, only_hard, only_clean) == (table, 0, 0), f"{table}: {n} rows in the clean build"


def test_incremental_monthly_intermediates_equal_a_full_refresh(banks: dict[str, Any]) -> None:
    """The monthly profitability chain is incremental by month (the night restarts in December,
    and rebuilds November only where something there changed): its tables are those of the
    clean bank's full refresh, row for row, lineage aside."""
    with duckdb.connect() as con:
        con.execute(f"attach '{published_state_path(banks['hard'])}' as hard (read_only)")
        con.execute(f"attach '{published_state_path(banks['clean'])}' as clean (read_only)")
        for table in INCREMENTAL_INTERMEDIATES:
            hard = _mart_rows(con, "hard", table, "intermediate")
            clean = _mart_rows(con, "clean", table, "intermediate")
            months = con.sql(f"select count(distinct month_start) from ({clean})").fetchall()[0][0]
            only_hard = con.sql(f"select count(*) from ({hard} except all {clean})").fetchall()[0][0]
            only_clean = con.sql(f"select count(*) from ({clean} except all {hard})").fetchall()[0][0]
            assert (table, months, only_hard, only_clean) == (table, 2, 0, 0)


def test_the_salary_credits_equal_a_full_refresh(banks: dict[str, Any]) -> None:
    """int_salary_credits (SALARY_STOPPED's history) is incremental by business date from the
    night's restart: after the corrected re-delivery, which withdrew every posting of its date and
    booked them on the next, it holds the clean bank's rows, lineage aside: a row for every date
    with postings, and none for the withdrawn one, which the first nights had. (This bank pays no
    salary: the simulator's pay days are the 5th, 10th, 15th and 25th; tests/test_crm.py withdraws
    credits.)"""
    with duckdb.connect() as con:
        con.execute(f"attach '{published_state_path(banks['hard'])}' as hard (read_only)")
        con.execute(f"attach '{published_state_path(banks['clean'])}' as clean (read_only)")
        hard = _mart_rows(con, "hard", "int_salary_credits", "intermediate")
        clean = _mart_rows(con, "clean", "int_salary_credits", "intermediate")
        credits, dates = con.sql(f"select count(txn_id), count(*) - count(txn_id) from ({clean})").fetchone()
        only_hard = con.sql(f"select count(*) from ({hard} except all {clean})").fetchone()[0]
        only_clean = con.sql(f"select count(*) from ({clean} except all {hard})").fetchone()[0]
    assert (credits, dates) == (0, DAYS - 1)
    assert (only_hard, only_clean) == (0, 0)


def test_the_recent_balances_keep_the_window_as_the_nights_move_it(banks: dict[str, Any]) -> None:
    """fct_account_balance_daily_recent is incremental: the night adds its date and drops the one
    the window left, as the full refresh of the same lake keeps (compared row for row above)."""
    window = [START + timedelta(days=DAYS - BALANCE_WINDOW_DAYS + n) for n in range(BALANCE_WINDOW_DAYS)]
    for bank in ("hard", "clean"):
        with duckdb.connect(str(banks[bank].warehouse_path), read_only=True) as con:
            dates = con.sql(
                "select distinct business_date from marts.fct_account_balance_daily_recent order by 1"
            ).fetchall()
        assert [d for (d,) in dates] == window, bank


def test_a_corrected_delivery_replaces_what_its_date_loaded(banks: dict[str, Any]) -> None:
    txn_id, withdrawn_event = banks["corrected"]
    with duckdb.connect(str(banks["hard"].warehouse_path), read_only=True) as con:
        rows = con.sql(
            "select description, business_date from marts.fct_transactions where txn_id = ?", params=[txn_id]
        ).fetchall()
        assert rows == [("CORRECTED", START + timedelta(days=CORRECTED_DAY + 1))]
        # the dates whose re-delivery brought no rows of a feed hold none of it any more (issue 20)
        withdrawn = con.sql(
            "select (select count(*) from marts.fct_transactions where business_date = $corrected),"
            " (select count(*) from marts.fct_calls where business_date = $withdrawn)",
            params={
                "corrected": START + timedelta(days=CORRECTED_DAY),
                "withdrawn": START + timedelta(days=WITHDRAWN_DAY),
            },
        ).fetchall()[0]
        assert withdrawn == (0, 0)
        # the unchanged re-delivery replaced its date: loaded twice, counted once
        calls = con.sql(
            "select count(*), count(distinct call_id) from marts.fct_calls where business_date = ?",
            params=[START + timedelta(days=2)],
        ).fetchall()[0]
        assert calls[0] == calls[1] > 0
    # the withdrawn web event is gone from the published version's whole build
    with duckdb.connect(str(published_state_path(banks["hard"])), read_only=True) as con:
        events = con.sql(
            "select count(*) from intermediate.int_web_events_deduplicated where event_id = ?", params=[withdrawn_event]
        ).fetchall()[0][0]
        assert events == 0
        received = con.sql(
            "select count(*) from intermediate.int_web_events_deduplicated where received_date = ?",
            params=[START + timedelta(days=WITHDRAWN_DAY)],
        ).fetchall()[0][0]
        assert received == 0


def test_every_file_balances_in_the_audit(banks: dict[str, Any]) -> None:
    settings: Settings = banks["hard"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        unbalanced = con.sql(
            "select source_file from audit.loads where outcome = 'LOADED' "
            "and rows_delivered <> rows_loaded + rows_quarantined"
        ).fetchall()
        assert unbalanced == []
        # what the latest load of each system and date says it loaded is what the lake holds
        # for it (a file that a re-delivery left out is gone from the lake: START + 1's web events)
        latest = dict(
            con.sql(
                "select source_file, rows_loaded from audit.loads where outcome = 'LOADED' "
                "qualify load_id = max(load_id) over (partition by system, business_date)"
            ).fetchall()
        )
    in_lake: dict[str, int] = {}
    with duckdb.connect() as con:
        for path in settings.lake_dir.glob("*/*/business_date=*/*.parquet"):
            for source_file, n in con.sql(f"select _source_file, count(*) from '{path}' group by 1").fetchall():
                in_lake[source_file] = in_lake.get(source_file, 0) + n
    assert {f: n for f, n in latest.items() if n} == in_lake


def test_a_reversal_arriving_nights_later_marks_a_posting_that_was_not_rebuilt(banks: dict[str, Any]) -> None:
    # postings before the corrected date are never rebuilt after the first nights: a reversal
    # of one that arrived on the later night is marked by the post-hook (this simulated bank
    # reverses a posting of START + 3 on START + 5)
    with duckdb.connect(str(banks["hard"].warehouse_path), read_only=True) as con:
        marked = con.sql(
            "select count(*) from marts.fct_transactions as posting join marts.fct_transactions as reversal "
            "on reversal.reversed_txn_id = posting.txn_id "
            "where posting.business_date < ? and reversal.business_date >= ? and posting.is_reversed",
            params=[START + timedelta(days=CORRECTED_DAY), START + timedelta(days=FIRST_NIGHTS)],
        ).fetchall()[0][0]
    assert marked > 0


def test_a_second_run_on_the_same_data_is_refused_while_one_works(settings: Settings) -> None:
    # given another process in the middle of a run on this data directory
    code = (
        "import sys, time\n"
        "from bankdw.config import load_settings\n"
        "from bankdw.pipeline import run_lock\n"
        f"with run_lock(load_settings(data_dir={str(settings.root)!r})):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # when a run starts, then it stops at once, naming the process that works
        with pytest.raises(RunInProgress, match=f"pid {holder.pid}"):
            run(settings)
    finally:
        holder.communicate("done\n", timeout=30)
    # and once that run is over, a run goes ahead (nothing to load here)
    assert run(settings).outcome == "NOTHING_TO_DO"


def test_incremental_current_states_equal_a_full_refresh(banks: dict[str, Any]) -> None:
    """The night merged into each current state what its loads changed (a new date, the latest
    date re-delivered corrected, another withdrawn): every record's row and flag are those of
    the clean bank's full refresh, but for the load and file the row was read from."""
    with duckdb.connect() as con:
        con.execute(f"attach '{published_state_path(banks['hard'])}' as hard (read_only)")
        con.execute(f"attach '{published_state_path(banks['clean'])}' as clean (read_only)")
        for table in CURRENT_STATES:
            hard, clean = (
                _mart_rows(con, bank, table, "intermediate", (*LINEAGE, "_load_id", "_source_file"))
                for bank in ("hard", "clean")
            )
            n, n_latest = con.sql(
                f"select count(*), count(*) filter (is_in_latest_snapshot) from ({clean})"
            ).fetchall()[0]
            only_hard = con.sql(f"select count(*) from ({hard} except all {clean})").fetchall()[0][0]
            only_clean = con.sql(f"select count(*) from ({clean} except all {hard})").fetchall()[0][0]
            assert (table, only_hard, only_clean) == (table, 0, 0), f"{table}: {n} rows in the clean build"
            assert n_latest >= 1, table
