"""The nightly job end to end on a tiny synthetic bank: real files, Parquet, GX, dbt, DuckDB."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from bankdw.cli import main
from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import DateSelection, commit_step, gate_step, pending_deliveries, run, stage_step
from bankdw.publish import published_state_path
from bankdw.reporting.run_report import RunReport
from expectations.suites import SUITES_DIR
from extract.landing import MANIFEST_NAME
from tests.conftest import PUBLISHED_DAYS, PublishedBank, bank_date, copy_deliveries, write_delivery, write_manifest

pytestmark = pytest.mark.slow
DAYS = PUBLISHED_DAYS
LAST, NEXT = bank_date(DAYS - 1), bank_date(DAYS)
HISTORY = DateSelection(last=LAST)


def required_marts() -> dict[str, list[str]]:
    """Mart → required columns, read from the public interface (docs/marts.md)."""
    marts = {}
    for line in (PROJECT_ROOT / "docs" / "marts.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \| [^|]+ \| (.+) \|$", line)
        if match:
            columns = [c.strip() for c in match.group(2).split(",")]
            marts[match.group(1)] = [c for c in columns if re.fullmatch(r"\w+", c)]
    return marts


@pytest.fixture
def published(published_bank: PublishedBank) -> tuple[Settings, RunReport]:
    """The shared tiny bank (tests/conftest.py): its history up to LAST loaded in one pass and
    published; the deliveries of NEXT wait in the landing area as the coming night's."""
    assert (published_bank.last_date, published_bank.next_date) == (LAST, NEXT)
    return published_bank.settings, published_bank.report


def copy_of(published: tuple[Settings, RunReport], tmp_path: Path) -> Settings:
    shutil.copytree(published[0].root, tmp_path / "data")
    return load_settings(data_dir=tmp_path / "data")


UNTIL_A_MODEL_IS_TRAINED = {"fct_churn_scores", "fct_customer_lifetime_value", "fct_campaign_propensity"}
"""Marts that stay empty until a model is trained (`bankdw models train churn|clv|response`):
tests/test_churn.py, tests/test_clv.py."""


def test_one_pass_loads_every_delivery_and_publishes_every_mart_with_rows(
    published: tuple[Settings, RunReport],
) -> None:
    settings, report = published
    # then the run loaded every delivery of the three systems, in one build
    assert report.outcome == "SUCCESS", report.failures
    assert len(report.deliveries_loaded) == 3 * DAYS and report.built
    assert len(pending_deliveries(settings)) == 3  # NEXT's, outside the selection
    # and every expectation of every suite ran (all 13 feed files were delivered), none blocking
    expectations = sum(len(json.loads(f.read_text())["expectations"]) for f in SUITES_DIR.glob("*.json"))
    gates = json.loads((settings.runs_dir / report.run_id / "gates.json").read_text())
    suite_results = [r for r in gates["results"] if r["expectation"].startswith("expect_")]
    assert (len(suite_results), gates["outcome"], report.checks_failed) == (expectations, "PASSED", 0)
    # and the published warehouse has every public mart, with rows and every required column
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for mart, columns in required_marts().items():
            present = {r[0] for r in con.sql(f"describe marts.{mart}").fetchall()}
            assert set(columns) <= present, (mart, set(columns) - present)
            if mart not in UNTIL_A_MODEL_IS_TRAINED:
                assert con.sql(f"select count(*) from marts.{mart}").fetchall()[0][0] > 0, mart


def test_money_is_decimal_in_every_mart(published: tuple[Settings, RunReport]) -> None:
    settings, _ = published
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        floats = con.sql(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and data_type in ('DOUBLE', 'FLOAT', 'REAL')"
        ).fetchall()
    assert floats == []


def test_every_view_of_the_published_state_answers(published: tuple[Settings, RunReport], tmp_path: Path) -> None:
    """The staging views read the lake and the intermediate views the staging ones; dbt built
    them in `_build/`, and they must still resolve in the published version's whole build
    (DuckDB names a database after its file; what readers open holds tables only). They name
    the lake relative to the data dir, where dbt runs (so that dbt's saved parse serves a copy
    of the data dir): a data engineer opens the state from there, or sets DuckDB's
    file_search_path to it, as every connection of a run does (`Settings.duckdb_config`)."""
    settings, _ = published
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.sql("select count(*) from duckdb_views() where not internal").fetchall() == [(0,)]
    with duckdb.connect(str(published_state_path(settings)), read_only=True) as con:
        views = con.sql("select schema_name, view_name from duckdb_views() where not internal").fetchall()
        assert len(views) >= 10
        con.execute(f"set file_search_path = '{tmp_path}'")  # elsewhere, the lake is not found
        with pytest.raises(duckdb.IOException, match="No files found"):
            con.sql("select count(*) from staging.stg_core_banking__customers").fetchall()
        con.execute(f"set file_search_path = '{settings.root}'")
        for schema, view in views:
            con.sql(f"select count(*) from {schema}.{view}").fetchall()


def test_every_row_delivered_is_loaded_or_quarantined(published: tuple[Settings, RunReport]) -> None:
    settings, report = published
    # the audit log balances per file, and the lake holds exactly the loaded rows
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        unbalanced = con.sql(
            "select source_file from audit.loads where rows_delivered <> rows_loaded + rows_quarantined"
        ).fetchall()
        assert unbalanced == []
        loaded = con.sql("select sum(rows_loaded) from audit.loads where feed = 'transactions'").fetchall()[0][0]
        assert loaded == con.sql("select count(*) from marts.fct_transactions").fetchall()[0][0]
    # and the figures the run printed are the audit log's
    assert report.rows["core_banking.transactions"]["loaded"] == loaded


def test_a_second_run_with_nothing_new_loads_and_builds_nothing(
    published: tuple[Settings, RunReport], tmp_path: Path
) -> None:
    # given the published bank, when run again
    settings = copy_of(published, tmp_path)
    before = settings.warehouse_path.stat().st_mtime_ns
    report = run(settings, HISTORY)
    # then nothing was loaded, nothing built, and the warehouse file is the same
    assert (report.outcome, report.deliveries_loaded, report.built) == ("NOTHING_TO_DO", [], False)
    assert settings.warehouse_path.stat().st_mtime_ns == before
    # (asked to rebuild, new models on the same data, it builds and publishes without loading:
    # tests/test_churn.py::test_scores_survive_a_full_refresh_and_go_with_a_rolled_back_night,
    # whose full refresh is such a run)


def edit_next(settings: Settings, system: str, name: str, edit: Callable[[str], str]) -> Path:
    """Edit a file of the pending NEXT delivery as its source system would have sent it."""
    folder = settings.landing_dir / system / NEXT.isoformat()
    path = folder / name
    text = path.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text, f"the edit of {name} changed nothing"
    path.write_text(edited, encoding="utf-8")
    write_manifest(folder)
    return path


# The next night loads only its own deliveries while a BI tool holds the published file open:
# tests/test_publish.py, on the shared nights (tests/nights.py).


def test_a_blocking_failure_holds_its_system_a_broken_delivery_is_refused_and_the_rest_publishes(
    published: tuple[Settings, RunReport], tmp_path: Path
) -> None:
    # given the next night (one run for two defects, each of its own system): in the core
    # delivery one account has a status the agreement does not know; the call centre's was
    # truncated in transit (its last line lost after the manifest was written)
    settings = copy_of(published, tmp_path)
    edit_next(settings, "core_banking", "accounts.csv", lambda t: t.replace(",ACTIVE,", ",SUSPENDED,", 1))
    agents = settings.landing_dir / "call_center" / NEXT.isoformat() / "agents.csv"
    agents.write_text(agents.read_text(encoding="utf-8").rsplit("\n", 2)[0] + "\n", encoding="utf-8")
    # when the nightly job runs
    result = CliRunner().invoke(main, ["run"], env={"BANKDW_DATA_DIR": str(settings.root)})
    # then it exits 2, and says which delivery waits and why: the expectation, the file and the row
    assert result.exit_code == 2, result.output
    report = RunReport.latest(settings)
    assert (
        report is not None and report.outcome == "REFUSED" and list(report.deliveries_held) == [f"core_banking/{NEXT}"]
    )
    why = "\n".join(report.deliveries_held[f"core_banking/{NEXT}"])
    assert "core_banking.accounts" in why and "status" in why and "SUSPENDED" in why
    assert f"core_banking/{NEXT}/accounts.csv row " in why
    assert f"Held back by the feed gate, gated again next run: core_banking/{NEXT}" in result.output
    assert report.systems_blocked["core_banking"] == report.deliveries_held[f"core_banking/{NEXT}"]
    # and the call centre's delivery is refused before any gate, naming the file
    assert list(report.deliveries_refused) == [f"call_center/{NEXT}"]
    assert report.deliveries_refused[f"call_center/{NEXT}"][0].startswith("agents.csv: sha256 ")
    # and the third system's deliveries of NEXT were loaded and published without them
    assert report.deliveries_loaded == [f"online_banking/{NEXT}"]
    assert report.published and report.rows["online_banking.events"]["loaded"] > 0
    assert "core_banking.accounts" not in report.rows  # what was held is not counted as loaded
    assert not list(settings.lake_dir.glob(f"core_banking/*/business_date={NEXT}"))
    assert not list(settings.lake_dir.glob(f"call_center/*/business_date={NEXT}"))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loads = dict(
            con.sql(
                "select system, count(*) from audit.loads where business_date = ? and outcome = 'LOADED' group by 1",
                params=[NEXT],
            ).fetchall()
        )
        refused = con.sql(
            "select system, source_file, message from audit.loads where business_date = ? and outcome = 'REFUSED'",
            params=[NEXT],
        ).fetchall()
    # (one audit row per landed file, the manifest aside; the refusal in one row, with its reason;
    # the held delivery in none: it is not loaded yet)
    files = {s: len(list((settings.landing_dir / s / NEXT.isoformat()).iterdir())) - 1 for s in loads}
    assert loads == files and set(loads) == {"online_banking"}
    assert [(system, file, message.split(" ")[:2]) for system, file, message in refused] == [
        ("call_center", None, ["agents.csv:", "sha256"])
    ]
    # and the held delivery is still pending: the next run gates it again (the refused one
    # waits for its system to send it again)
    assert [d.label for d in pending_deliveries(settings)] == [f"core_banking/{NEXT}"]
    # and status keeps reporting the refusal
    status = CliRunner().invoke(main, ["status"], env={"BANKDW_DATA_DIR": str(settings.root)})
    assert f"REFUSED call_center/{NEXT}: agents.csv: sha256" in status.output


def test_a_held_system_waits_in_order_and_loads_once_corrected(
    published: tuple[Settings, RunReport], bank_landing: Path, tmp_path: Path
) -> None:
    # given a bad status in the core system's NEXT accounts, and every system's next date delivered too
    settings = copy_of(published, tmp_path)
    accounts = settings.landing_dir / "core_banking" / NEXT.isoformat() / "accounts.csv"
    manifest = accounts.with_name(MANIFEST_NAME)
    sent = accounts.read_bytes(), manifest.read_bytes()
    edit_next(settings, "core_banking", "accounts.csv", lambda t: t.replace(",ACTIVE,", ",SUSPENDED,", 1))
    after = bank_date(DAYS + 1)
    copy_deliveries(bank_landing, settings.landing_dir, [after])
    # when the feed gate judges both dates
    staged = gate_step(settings, stage_step(settings).run_id)
    commit_step(settings, staged.run_id)
    # then the core system waits from its failing date on, in order, and the others load both dates
    assert sorted(staged.deliveries_held) == [f"core_banking/{NEXT}", f"core_banking/{after}"]
    assert sorted(staged.deliveries_loaded) == sorted(
        f"{s}/{d}" for s in ("call_center", "online_banking") for d in (NEXT, after)
    )
    assert [p for d in (NEXT, after) for p in settings.lake_dir.glob(f"core_banking/*/business_date={d}")] == []
    assert list(settings.lake_dir.glob(f"online_banking/*/business_date={after}"))
    # when the core system sends NEXT again, corrected
    accounts.write_bytes(sent[0])
    manifest.write_bytes(sent[1])
    again = gate_step(settings, stage_step(settings).run_id)
    commit_step(settings, again.run_id)
    # then both its dates load, in one run, and nothing waits
    assert sorted(again.deliveries_loaded) == [f"core_banking/{NEXT}", f"core_banking/{after}"]
    assert (again.deliveries_held, again.systems_blocked, pending_deliveries(settings)) == ({}, {}, [])


# A warehouse test that fails leaves the published warehouse (and the published identity) as
# they were: tests/test_publish.py::test_a_build_that_fails_after_resolution_leaves_the_published_
# warehouse_identity_and_keys, on the same kind of night (a txn_id booked twice).


def test_make_run_generates_a_bank_only_when_the_landing_area_is_empty(tmp_path: Path) -> None:
    # given a landing area that already holds one real delivery (agents only, from the call centre)
    data = tmp_path / "data"
    agents = b"agent_id,full_name,team,site,hire_date\nAG1,Li Na,Cards,Shanghai,2020-01-06\n"
    calls = (  # no calls that day: the file with its header only (the agreement requires the file)
        b"call_id,direction,started_at,answered_at,ended_at,caller_number,customer_id,queue,agent_id,wait_seconds,"
        b"talk_seconds,hold_seconds,transfer_count,reason_code,outcome,complaint_flag,csat_score,campaign_id\n"
    )
    write_delivery(data / "landing", "call_center", date(2026, 11, 20), {"agents.csv": agents, "calls.csv": calls})
    # when `bankdw run --simulate-if-empty` runs against it
    result = CliRunner().invoke(main, ["run", "--simulate-if-empty"], env={"BANKDW_DATA_DIR": str(data)})
    # then nothing is simulated, the delivery is loaded, and the warehouse is published
    assert result.exit_code == 0, result.output
    assert "generating a synthetic bank" not in result.output
    assert not (data / "landing" / "core_banking").exists()
    assert "Deliveries loaded: 1 (call_center 1)" in result.output
    with duckdb.connect(str(data / "warehouse" / "bank.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from marts.dim_customer").fetchall() == [(0,)]
    # and status reports it
    status = CliRunner().invoke(main, ["status"], env={"BANKDW_DATA_DIR": str(data)})
    assert "call_center      loaded    1 (2026-11-20 .. 2026-11-20)" in status.output
