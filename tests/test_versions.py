"""Published versions cannot be changed unseen, rollback cannot race a run, and a killed run
is shown as killed (issue 19).

On a copy of the shared published bank (no build of its own) and on an empty data dir.
"""

from __future__ import annotations

import fcntl
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from bankdw.cli import main
from bankdw.config import Settings
from bankdw.exports import by_month, day_columns, day_sql, month_columns, month_sql, part_digests
from bankdw.pipeline import RunInProgress, rollback
from bankdw.publish import (
    RollbackError,
    VersionChanged,
    _write_reader,
    list_versions,
    publish_version,
    published_state_path,
    recorded_checksum,
    verify_published,
)
from bankdw.reporting.run_report import RunReport
from bankdw.reporting.terminal import format_status
from extract.landing import sha256_of
from tests.conftest import PublishedBank


@contextmanager
def another_process_runs(settings: Settings) -> Iterator[None]:
    """The run lock held as another process would hold it (its own open file, flocked)."""
    path = settings.root / ".run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def test_published_and_kept_versions_are_read_only_with_their_checksum(published_bank: PublishedBank) -> None:
    settings = published_bank.settings
    [version] = list_versions(settings)
    for path in (settings.warehouse_path, version.path):
        assert path.stat().st_mode & 0o222 == 0, f"{path} {stat.filemode(path.stat().st_mode)}"
    assert recorded_checksum(version.path) == sha256_of(version.path) == sha256_of(settings.warehouse_path)
    verify_published(settings)  # as published: nothing to say


def test_the_build_copy_of_the_published_file_is_checked_in_the_same_read(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given the published bank, when the build's copy is made, then it is the published file, byte for byte
    verify_published(published_bank.settings, copy_to=tmp_path / "copy.duckdb")
    assert (tmp_path / "copy.duckdb").read_bytes() == published_bank.settings.warehouse_path.read_bytes()


def test_a_published_file_changed_in_place_is_found_before_a_build_starts_from_it(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given a copy of the published bank whose published file someone opened read-write and changed
    settings = published_bank.copy(tmp_path / "data")
    published = settings.warehouse_path
    published.chmod(0o600)
    with duckdb.connect(str(published)) as con:
        con.execute("create table marts.tampered as select 1 as x")
    # when it is checked (as the build step does before an incremental build), then it is refused,
    # naming the file and what to do
    with pytest.raises(VersionChanged, match=r"changed in place.*bankdw rollback.*--rebuild"):
        verify_published(settings)
    # and the build's copy of it, checked as it is made, is refused and left nowhere
    with pytest.raises(VersionChanged, match=r"changed in place"):
        verify_published(settings, copy_to=tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb").exists()


def test_rollback_waits_for_no_run_it_refuses_while_one_holds_the_lock(settings: Settings) -> None:
    # given a run in flight on the data dir
    with another_process_runs(settings):
        # when a rollback is asked for, then it is refused naming the run, before touching anything
        with pytest.raises(RunInProgress, match="another run is working"):
            rollback(settings)
        result = CliRunner().invoke(main, ["rollback"], env={"BANKDW_DATA_DIR": str(settings.root)})
        assert result.exit_code == 1 and "another run is working" in result.output
    # and without one it gets as far as the versions (none kept here)
    result = CliRunner().invoke(main, ["rollback"], env={"BANKDW_DATA_DIR": str(settings.root)})
    assert result.exit_code == 1 and "no version older than the published one" in result.output


def test_status_shows_a_killed_run_as_killed(settings: Settings) -> None:
    # given the report of a run that was killed during its build (its last word: RUNNING)
    report = RunReport(run_id="R1", started_at=datetime.now(UTC).isoformat(), step="build")
    report.save(settings)
    # then status says it was killed, since no process holds the run lock
    assert "Last run: R1 KILLED (stopped in step build; no process holds the run lock" in format_status(settings)
    # and while a process holds it, the run is running
    with another_process_runs(settings):
        assert "Last run: R1 RUNNING (step build" in format_status(settings)


def tiny_build(settings: Settings, name: str) -> Path:
    """A warehouse file as a build leaves it in the build area (one table, no dbt)."""
    built = settings.build_dir / f"{name}.duckdb"
    built.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(built)) as con:  # in marts: what a published version keeps (READER_SCHEMAS)
        con.execute("create schema marts")
        con.execute(f"create table marts.t as select '{name}' as night")
    return built


def test_a_publish_seals_the_version_and_clears_links_a_killed_publish_left(settings: Settings) -> None:
    # given a link that a publish killed between linking and renaming left behind
    stray = settings.warehouse_path.with_name(f".{settings.warehouse_path.name}.bank-OLD.tmp")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a publish")
    # when a build is published
    publish_version(settings, tiny_build(settings, "N1"), "N1")
    # then the stray link is gone, and the version is read-only with its checksum recorded
    assert not stray.exists()
    [version] = list_versions(settings)
    assert version.path.stat().st_mode & 0o222 == 0 and settings.warehouse_path.samefile(version.path)
    assert recorded_checksum(version.path) == sha256_of(version.path)


def test_a_rollback_refuses_a_kept_version_changed_since_it_was_published(settings: Settings) -> None:
    # given two published nights, the first changed in place since
    publish_version(settings, tiny_build(settings, "N1"), "N1")
    publish_version(settings, tiny_build(settings, "N2"), "N2")
    first = next(v for v in list_versions(settings) if v.run_id == "N1").path
    first.chmod(0o600)
    with duckdb.connect(str(first)) as con:
        con.execute("update marts.t set night = 'forged'")
    # when rolled back, then it is refused naming the version, and night 2 stays published
    with pytest.raises(RollbackError, match=r"bank-N1\.duckdb has changed since it was published"):
        rollback(settings)
    assert [v.run_id for v in list_versions(settings) if v.published] == ["N2"]


def _reader_file(path: Path) -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
    """What a reader sees in a published file: its tables' definitions and comments, its
    columns' comments, and each table's rows (sorted: a file's row order is no promise)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.sql("select schema_name, table_name, sql, comment from duckdb_tables() order by all").fetchall()
        columns = con.sql("select schema_name, table_name, column_name, comment from duckdb_columns() order by all")
        rows = {f"{s}.{t}": sorted(map(repr, con.sql(f"from {s}.{t}").fetchall())) for s, t, _, _ in tables}
        return tables, columns.fetchall(), rows


def test_a_published_file_started_from_the_one_before_holds_what_one_written_anew_holds(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given the shared bank's build state (its days all in November) with its first day's
    # postings dated a month earlier, published as a file written anew
    settings = published_bank.settings
    manifest = settings.root / "dbt" / "target" / "manifest.json"
    months, days = month_columns(manifest), day_columns(manifest)
    state = tmp_path / "bank.duckdb"
    shutil.copyfile(published_state_path(settings), state)
    state.chmod(0o600)
    with duckdb.connect(str(state)) as con:
        con.execute(
            "update marts.fct_transactions set business_date = cast(business_date - interval 1 month as date) "
            "where business_date = (select min(business_date) from marts.fct_transactions)"
        )
    _, first_digests = _write_reader(state, tmp_path / "first.duckdb", months=months, days=days)
    # when a night corrects a posting of each of two days of November and a recent balance of one
    # day, redefines one mart and comments another
    with duckdb.connect(str(state)) as con:
        con.execute(
            "update marts.fct_transactions set amount = amount + 1 where txn_id in (select max(txn_id) "
            "from marts.fct_transactions where business_date >= date '2026-11-01' group by business_date "
            "order by business_date limit 2)"
        )
        con.execute(
            "update marts.fct_account_balance_daily_recent set ledger_balance = ledger_balance + 1 where "
            "account_id = (select min(account_id) from marts.fct_account_balance_daily_recent) and "
            "business_date = (select max(business_date) from marts.fct_account_balance_daily_recent)"
        )
        con.execute("alter table marts.dim_product add column note varchar default 'new'")
        con.execute("comment on table marts.dim_branch is 'The branches, as the night left them.'")
        con.execute("comment on column marts.dim_branch.branch_id is null")
        monthly = part_digests(con, "marts.fct_transactions", month_sql("business_date"))
        daily = part_digests(con, "marts.fct_transactions", day_sql("business_date"))
    # and its file is written from the first one (the marts' digests the first one's export kept,
    # by day, or by folder as an export that wrote no file a day kept them, whose dated marts are then
    # measured, or all measured there), and anew
    first = tmp_path / "first.duckdb"
    as_months = {m: by_month(parts, m in months) if m in days else parts for m, parts in first_digests.items()}
    copies = {
        "by day": _write_reader(state, tmp_path / "by day.duckdb", first, months, as_months, days, first_digests),
        "by month": _write_reader(state, tmp_path / "by month.duckdb", first, months, as_months, days),
        "measured": _write_reader(state, tmp_path / "measured.duckdb", first, months, None, days),
    }
    _write_reader(state, tmp_path / "anew.duckdb")
    for name, (written, digests) in copies.items():
        # then each holds the tables, definitions, comments and rows the file written anew holds
        assert _reader_file(tmp_path / f"{name}.duckdb") == _reader_file(tmp_path / "anew.duckdb"), name
        # written from the one before: the two days of postings, the day of recent balances and
        # the redefined mart, no more (a day of a dated mart at a time, not its month)
        assert written == 4, name
        # and the postings' digests are by day, which sum to the months the export is split by
        assert digests["fct_transactions"] == daily, name
        assert by_month(digests["fct_transactions"], True) == monthly, name
        assert monthly.keys() == {"2026-10", "2026-11"}
