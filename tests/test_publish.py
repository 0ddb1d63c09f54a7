"""Write-audit-publish on a tiny bank: nightly runs, kept versions, rollback, a blocked run,
the run page, the check history, and a reader in a second process that is never blocked
and never sees a partial state."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from bankdw.cli import main
from bankdw.config import Settings, load_settings
from bankdw.pipeline import run
from bankdw.publish import RollbackError, list_versions, rollback
from bankdw.reporting.run_page import page_path
from bankdw.reporting.run_report import RunReport
from expectations.history import checks_dir
from tests.conftest import HOLD_THE_RUN, assert_one_parse_for_build_and_tests, gates_toml, write_manifest
from tests.nights import (
    LAST,
    NEWCOMER,
    NIGHT_1,
    NIGHT_2,
    PENDING,
    Nights,
    identity_of,
    registry_keys,
    stamp,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def nights(published_nights: Nights) -> Nights:
    """History published, then, while a second process reads: night 1 published, a rollback,
    night 2 published (keeping two versions); PENDING's deliveries wait (tests/nights.py)."""
    return published_nights


def test_every_night_is_published_and_the_rollback_restored_the_previous_version(nights: Nights) -> None:
    history, night_1, night_2 = nights.runs
    assert [r.outcome for r in nights.runs] == ["SUCCESS"] * 3, [r.failures for r in nights.runs]
    # the rollback published history's build again, night 2 then built the lake's latest state
    assert nights.published_after == [history.run_id, night_1.run_id, history.run_id, night_2.run_id]
    assert nights.states[history.run_id][1] == str(LAST)
    assert nights.states[night_2.run_id][1] == str(NIGHT_2)
    # and each night loaded exactly its own three deliveries, the night after the history
    # while a BI tool held the published file open (test_a_reader_in_another_process_...)
    for night, day in ((night_1, NIGHT_1), (night_2, NIGHT_2)):
        assert sorted(night.deliveries_loaded) == [
            f"{s}/{day}" for s in ("call_center", "core_banking", "online_banking")
        ]


def test_the_second_night_reuses_the_dbt_parse_of_the_first(nights: Nights) -> None:
    """Nothing dbt is given names the run (bankdw.warehouse.dbt_args): from night to night dbt
    skips parsing the project (tens of seconds of every night on a small bank). And a night
    parses once for its build and its tests (one dbt process, bankdw.dbt_session)."""
    assert_one_parse_for_build_and_tests(nights.settings)  # night 2's


def test_a_reader_in_another_process_never_errs_and_never_sees_a_partial_state(nights: Nights) -> None:
    errors = [a["error"] for a in nights.answers if "error" in a]
    answers = [a for a in nights.answers if "fresh" in a]
    held = [a for a in nights.answers if "held" in a]
    assert len(answers) > 20 and len(held) > 20
    # no error, ever
    assert errors == []
    # every answer is exactly one build's state: its stamp and its marts together
    for a in answers:
        assert a["fresh"] == nights.states[a["fresh"][0]], a  # type: ignore[index]
    # a new connection after each publish saw the new state, in order (history, 1, rollback, 2)
    seen = [a["fresh"][0] for a in answers]  # type: ignore[index]
    changes = [run_id for i, run_id in enumerate(seen) if i == 0 or seen[i - 1] != run_id]
    assert changes == nights.published_after
    # and the connection held open since the start kept answering from the build it opened
    history = nights.runs[0].run_id
    assert {tuple(a["held"]) for a in held} == {tuple(nights.states[history])}  # type: ignore[arg-type]


def test_only_the_configured_number_of_versions_is_kept_and_status_lists_them(nights: Nights) -> None:
    settings = nights.settings
    _, night_1, night_2 = nights.runs
    versions = list_versions(settings)
    assert [(v.run_id, v.published) for v in versions] == [(night_2.run_id, True), (night_1.run_id, False)]
    status = CliRunner().invoke(
        main, ["status"], env={"BANKDW_DATA_DIR": str(settings.root), "BANKDW_KEEP_VERSIONS": "2"}
    )
    assert status.exit_code == 0, status.output
    assert f" * {night_2.run_id}  lake {night_2.run_id}" in status.output
    assert f"   {night_1.run_id}  lake {night_1.run_id}" in status.output


def test_rollback_to_a_named_version_from_the_command_line(nights: Nights, tmp_path: Path) -> None:
    # given a copy of the bank, night 2 published
    shutil.copytree(nights.settings.root, tmp_path / "data")
    settings = load_settings(data_dir=tmp_path / "data", keep_versions=2)
    night_1 = nights.runs[1].run_id
    env = {"BANKDW_DATA_DIR": str(settings.root)}
    # when rolled back to night 1 by name
    result = CliRunner().invoke(main, ["rollback", "--to", night_1], env=env)
    # then night 1's build is what readers open
    assert result.exit_code == 0, result.output
    assert stamp(settings) == nights.states[night_1]
    # and an unknown version is refused, naming the versions kept
    unknown = CliRunner().invoke(main, ["rollback", "--to", "20200101T000000000000Z"], env=env)
    assert unknown.exit_code == 1 and f"kept: {nights.runs[2].run_id}, {night_1}" in unknown.output
    # and with night 1 published there is nothing older to roll back to
    with pytest.raises(RollbackError, match="no version older"):
        rollback(settings)


def test_every_runs_checks_are_kept_in_the_warehouse(nights: Nights) -> None:
    settings = nights.settings
    history, night_1, night_2 = nights.runs
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = dict(
            con.sql(
                "select run_id || ' ' || stage, count(*) from audit.check_results group by all order by all"
            ).fetchall()
        )
        failed = con.sql("select count(*) from audit.check_results where outcome = 'failed'").fetchall()[0][0]
        chain = con.sql(
            "select severity, outcome, failing_rows from audit.check_results "
            f"where run_id = '{night_2.run_id}' and check_id = 'core_banking.transactions/balance_chain(balance_after)'"
        ).fetchall()
    # feed checks of every run, and the dbt tests of every build, this build's own included
    for r in (history, night_1, night_2):
        assert counts[f"{r.run_id} feed"] > 100 and counts[f"{r.run_id} warehouse"] > 100
    assert failed == 0
    assert chain == [("blocking", "passed", 0)]


def test_the_run_page_shows_what_was_published_and_every_check(nights: Nights) -> None:
    night_2 = nights.runs[2]
    page = page_path(nights.settings, night_2.run_id).read_text(encoding="utf-8")
    assert f"bankdw run {night_2.run_id}: <span class='outcome-SUCCESS'>SUCCESS</span>" in page
    assert "Published: <code>" in page
    # checks and tests are counted by outcome; only those that did not pass are listed
    feed = re.search(r"Feed gates \(0 failed, (\d+) warned, \d{3,} passed\)", page)
    assert feed
    assert re.search(r"Warehouse tests \(dbt: 0 failed, \d+ warned, \d{3,} passed\)", page)
    assert "test.bankdw.unique_fct_transactions_txn_id" not in page
    # and Data Docs pages are written for feed files where a check did not pass (data_docs = "problems")
    docs = page_path(nights.settings, night_2.run_id).parent / "data_docs" / "index.html"
    assert docs.exists() or int(feed.group(1)) == 0


def test_a_blocked_run_leaves_the_published_warehouse_and_says_what_failed(nights: Nights, tmp_path: Path) -> None:
    # given a copy of the bank, and the pending night's postings, one with a balance booked 5.00 too low
    shutil.copytree(nights.settings.root, tmp_path / "data")
    settings = load_settings(data_dir=tmp_path / "data", keep_versions=2)
    # and the gates configured to stop the whole run at a blocking failure (by default only the
    # core system's delivery would wait: tests/test_pipeline.py)
    gates = gates_toml(tmp_path / "gates.toml", HOLD_THE_RUN)
    folder = settings.landing_dir / "core_banking" / PENDING.isoformat()
    rows = list(csv.DictReader(io.StringIO((folder / "transactions.csv").read_text(encoding="utf-8"), newline="")))
    rows[0]["balance_after"] = f"{float(rows[0]['balance_after']) - 5:.2f}"
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "transactions.csv").write_text(out.getvalue(), encoding="utf-8")
    write_manifest(folder)
    published = settings.warehouse_path
    before = (published.read_bytes(), published.stat().st_ino, [v.run_id for v in list_versions(settings)])
    # when the nightly job runs
    result = CliRunner().invoke(
        main, ["run"], env={"BANKDW_DATA_DIR": str(settings.root), "BANKDW_GATES_CONFIG": str(gates)}
    )
    # then it fails at the gate, and the published warehouse and its versions are exactly as they were
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    report = RunReport.latest(settings)
    assert report is not None and (report.outcome, report.step) == ("FAILED", "gate")
    assert (published.read_bytes(), published.stat().st_ino, [v.run_id for v in list_versions(settings)]) == before
    # and the run page the command names says what failed, where, and that nothing was published
    page_line = [line for line in result.output.splitlines() if line.startswith("Run report: ")]
    assert page_line == [f"Run report: {page_path(settings, report.run_id)}"]
    page = Path(page_line[0].removeprefix("Run report: ")).read_text(encoding="utf-8")
    assert "Not published: the run failed at step gate." in page
    assert "BLOCKING core_banking.transactions: balance_chain(balance_after) failed on" in page
    assert f"core_banking/{PENDING}/transactions.csv row 1" in page
    # and the failed checks are kept in the lake's history for the next build's audit.check_results
    history = pq.read_table(checks_dir(settings.lake_dir) / f"{report.run_id}.feed.parquet").to_pylist()
    failed = {c["check_id"]: c for c in history if c["outcome"] == "failed"}
    chain = failed.pop("core_banking.transactions/balance_chain(balance_after)")
    assert chain["failing_rows"] >= 1 and f"core_banking/{PENDING}/transactions.csv" in chain["examples"]
    # (the posting may also be its account's last of the day: then its end-of-day balance disagrees too)
    assert set(failed) <= {"core_banking.balances/end_of_day_balance(ledger_balance)"}


# ---------------------------------------------------------------- the identity is published with its build

NEW_RECORD = "C099999999"  # a smaller customer_id than any the simulator gives


def pending_night_with_a_new_record(nights: Nights, tmp_path: Path) -> Settings:
    """A copy of the bank (night 2 published) whose pending core delivery brings a new record,
    NEW_RECORD, with the national id of an existing customer."""
    shutil.copytree(nights.settings.root, tmp_path / "data")
    settings = load_settings(data_dir=tmp_path / "data", keep_versions=2)
    folder = settings.landing_dir / "core_banking" / PENDING.isoformat()
    text = (folder / "customers.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    twin = next(r for r in rows if r["national_id"] and r["customer_type"] == "INDIVIDUAL")
    rows.append({**twin, "customer_id": NEW_RECORD})
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "customers.csv").write_text(out.getvalue(), encoding="utf-8")
    write_manifest(folder)
    return settings


VERSION_PARTS = (("bank", ".duckdb"), ("identity", ""), ("scores", ""), ("state", ""))
"""What a kept version is: the file readers open, its identity, its archive of scores, and its whole build (`state-`)."""


def published_identity(settings: Settings) -> tuple[object, ...]:
    """The published identity (`identity_of`: its files' digests, marker, registry and published
    keys), when each of its files was written, and the kept versions' parts."""
    times = {p.name: p.stat().st_mtime_ns for p in sorted(settings.identity_dir.iterdir())}
    return identity_of(settings), times, sorted(p.name for p in versions_dir_of(settings))


def test_a_build_that_fails_after_resolution_leaves_the_published_warehouse_identity_and_keys(
    nights: Nights, tmp_path: Path
) -> None:
    from bankdw.warehouse import BuildFailed, identity_build_path

    # given the pending night brings a new customer record, and books a txn_id already booked:
    # resolution keys the new record, then the warehouse's unique test fails
    settings = pending_night_with_a_new_record(nights, tmp_path)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(old_id,)] = con.sql("select txn_id from marts.fct_transactions limit 1").fetchall()
    transactions = settings.landing_dir / "core_banking" / PENDING.isoformat() / "transactions.csv"
    header, first, rest = transactions.read_text(encoding="utf-8").split("\n", 2)
    transactions.write_text("\n".join([header, old_id + "," + first.split(",", 1)[1], rest]), encoding="utf-8")
    write_manifest(transactions.parent)
    before = published_identity(settings)
    warehouse_before = settings.warehouse_path.read_bytes()
    # when the nightly job runs, then it fails after the resolve step resolved the new record,
    # on the unique test, and says so
    with pytest.raises(BuildFailed) as failed:
        run(settings)
    assert any("unique" in f and "txn_id" in f for f in failed.value.failures), failed.value.failures
    # and the published warehouse is exactly as it was
    assert settings.warehouse_path.read_bytes() == warehouse_before
    report = RunReport.latest(settings)
    assert report is not None and report.resolved and report.step == "warehouse_gate"
    assert NEW_RECORD in registry_keys(identity_build_path(settings))
    # and the published registry is byte for byte as it was, and so are the published keys and versions
    after = published_identity(settings)
    assert after == before
    assert NEW_RECORD not in registry_keys(settings.identity_dir)


def versions_dir_of(settings: Settings) -> list[Path]:
    return list((settings.warehouse_path.parent / "versions").iterdir())


def test_a_rollback_restores_the_keys_of_the_version_it_restores(nights: Nights) -> None:
    history, night_1, night_2 = (r.run_id for r in nights.runs)
    before, after_night_1, rolled_back = (nights.identities[k] for k in ("history", "night_1", "rolled_back"))
    # given night 1 published with a new customer record (NEWCOMER, tests/nights.py)
    assert NEWCOMER not in before["registry"] and NEWCOMER not in before["published_keys"]
    # then it keyed the record, and its registry was the published one
    assert after_night_1["registry"][NEWCOMER] == after_night_1["published_keys"][NEWCOMER]
    assert (before["marker"], after_night_1["marker"]) == ({"run_id": history}, {"run_id": night_1})
    assert after_night_1["files"] != before["files"]
    # when rolled back to history: its identity is the published one again, file for file as
    # its version kept it and as it was published before night 1, and its keys are served
    assert rolled_back["files"] == rolled_back["kept"] == before["files"]
    assert rolled_back["marker"] == {"run_id": history}
    assert NEWCOMER not in rolled_back["registry"]
    assert rolled_back["published_keys"] == before["published_keys"]
    assert rolled_back["registry"] == before["registry"]
    # and the version pruned since (history's, when night 2 was published) went with its identity
    assert sorted(p.name for p in versions_dir_of(nights.settings)) == sorted(
        [f"{kind}-{run_id}{suffix}" for run_id in (night_2, night_1) for kind, suffix in VERSION_PARTS]
    )
