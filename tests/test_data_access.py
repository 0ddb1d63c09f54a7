"""The bank's data is the bank's alone (issue 19): what a run writes is owner-only (or readable
by a configured group) whatever the caller's umask, and a data directory whose path holds a
quote works (SQL is never built by pasting a path).

Small call-centre deliveries and the stage, gate and commit steps; the warehouse files are
checked on the shared published bank (no build of their own).
"""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from bankdw.config import Settings, load_settings
from bankdw.pipeline import commit_step, gate_step, stage_step
from extract.contract import load_agreement
from extract.lake import Lake
from tests.conftest import PublishedBank, write_delivery
from tests.test_bad_input import AGENT, AGENTS_HEADER, CALL, CALLS_HEADER, lines
from tests.test_tampering import D

AGREEMENT = load_agreement()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most careless caller: a umask that lets everyone read and write everything."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def a_night(settings: Settings) -> None:
    """Stage and commit a call-centre delivery with one quarantined row (the gates' Data Docs are
    checked in test_reports, which runs them once)."""
    bad = CALL.replace("K1,", "K2,", 1).replace(",270,", ",long,")
    files = {
        "agents.csv": lines(AGENTS_HEADER, AGENT),
        "calls.csv": lines(CALLS_HEADER, CALL, bad, CALL.replace("K1,", "K3,", 1)),
    }
    write_delivery(settings.landing_dir, "call_center", D, files)
    report = stage_step(settings, run_id="R1")
    commit_step(settings, report.run_id)
    assert report.rows["call_center.calls"] == {"delivered": 3, "loaded": 2, "quarantined": 1}


def written(settings: Settings) -> list[Path]:
    """Everything the run wrote: all but the landing area."""
    return [p for p in settings.root.rglob("*") if settings.landing_dir not in p.parents and p != settings.landing_dir]


def test_what_a_run_writes_is_owner_only_whatever_the_umask(settings: Settings, open_umask: None) -> None:
    # given a caller whose umask lets everyone read and write
    # when a night stages, gates and commits a delivery with a quarantined row
    a_night(settings)
    # then the lake, the quarantine, the audit, the run report and its page are owner-only
    paths = written(settings)
    kinds = {p.relative_to(settings.root).parts[0] for p in paths}
    assert {"lake", "runs"} <= kinds
    assert any("_quarantine" in p.parts for p in paths) and any(p.name == "report.html" for p in paths)
    loose = [
        f"{p.relative_to(settings.root)} {stat.filemode(p.stat().st_mode)}" for p in paths if p.stat().st_mode & 0o077
    ]
    assert loose == []
    # and the caller's umask is given back
    assert os.umask(0) == 0


def test_a_configured_group_may_read_and_no_one_else(tmp_path: Path, open_umask: None) -> None:
    # given the setting data_group, naming a group of this user
    group = grp.getgrgid(os.getgid()).gr_name
    settings = load_settings(data_dir=tmp_path / "data", data_group=group)
    # when a night runs
    a_night(settings)
    # then files are group-readable at most, folders group-searchable and setgid, all in the group
    paths = written(settings)
    for path in paths:
        mode = path.stat().st_mode
        assert mode & 0o007 == 0 and mode & 0o020 == 0, f"{path} {stat.filemode(mode)}"
        assert path.stat().st_gid == grp.getgrnam(group).gr_gid
    for top in ("lake", "runs"):
        assert stat.S_IMODE((settings.root / top).stat().st_mode) == 0o2750


def test_the_published_warehouse_and_its_kept_versions_are_owner_only(published_bank: PublishedBank) -> None:
    warehouse = published_bank.settings.warehouse_path
    files = [warehouse, *warehouse.parent.rglob("*.duckdb")]
    assert [f"{f} {stat.filemode(f.stat().st_mode)}" for f in files if f.stat().st_mode & 0o077] == []
    assert stat.S_IMODE(warehouse.parent.stat().st_mode) == 0o700


def test_a_data_directory_whose_path_holds_a_quote_works(tmp_path: Path) -> None:
    # given a data directory named with a quote (and a space)
    settings = load_settings(data_dir=tmp_path / "the bank's data")
    # when a night stages and commits
    a_night(settings)
    # then the lake holds the calls with their lineage
    glob = Lake(settings.lake_dir).feed_glob(AGREEMENT.file("call_center", "calls"))
    rows = duckdb.execute("select call_id, _source_file from read_parquet(?) order by 1", [glob]).fetchall()
    assert rows == [("K1", "call_center/2026-11-20/calls.csv"), ("K3", "call_center/2026-11-20/calls.csv")]


GLOB_NAME, DECOY_NAME = "bank[1]*?", "bank1-x"
"""A data directory named with DuckDB's glob characters, and a sibling its name would match
read as a pattern (`bank` `1` anything one-character)."""


def decoy_lake(tmp_path: Path) -> Path:
    """A lake beside the real one holding a call `DECOY` that a pattern read would pick up."""
    calls = tmp_path / DECOY_NAME / "lake" / "call_center" / "calls" / "business_date=2026-11-20"
    calls.mkdir(parents=True)
    duckdb.execute(f"copy (select 'DECOY' as call_id) to '{calls / 'part.parquet'}' (format parquet)")
    return calls


def test_a_data_directory_whose_path_holds_glob_characters_reads_only_its_own_files(tmp_path: Path) -> None:
    # given a data directory named `bank[1]*?`, and beside it a lake its name matches as a pattern
    settings = load_settings(data_dir=tmp_path / GLOB_NAME)
    decoy_lake(tmp_path)
    # when a night stages, gates and commits (the stage's CSV reader and the gates' Parquet readers)
    write_delivery(
        settings.landing_dir,
        "call_center",
        D,
        {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": lines(CALLS_HEADER, CALL)},
    )
    stage_step(settings, run_id="R1")
    gate_step(settings, "R1")
    report = commit_step(settings, "R1")
    # then the night loaded its own file, and the lake's pattern reads its own calls, never the decoy's
    assert report.deliveries_loaded == ["call_center/2026-11-20"]
    pattern = Lake(settings.lake_dir).feed_glob(AGREEMENT.file("call_center", "calls"))
    rows = duckdb.execute("select call_id from read_parquet(?, union_by_name = true)", [pattern]).fetchall()
    assert rows == [("K1",)]


def test_dbt_sources_read_a_lake_whose_path_holds_glob_characters(tmp_path: Path) -> None:
    # given a lake under `bank[1]*?` holding one call, and a decoy lake its name matches
    import jinja2
    import yaml

    lake = tmp_path / GLOB_NAME / "lake"
    calls = lake / "call_center" / "calls" / "business_date=2026-11-20"
    calls.mkdir(parents=True)
    duckdb.execute(f"copy (select 'REAL' as call_id) to '{calls / 'part.parquet'}' (format parquet)")
    decoy_lake(tmp_path)
    # when the call centre source's external location is rendered as dbt renders it
    path = Path(__file__).resolve().parents[1] / "dbt_project/models/staging/call_center/_call_center__sources.yml"
    [source] = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    location = source["config"]["meta"]["external_location"]
    sql = jinja2.Template(location).render(var={"lake_dir": str(lake)}.__getitem__).format(name="calls")
    # then it reads the lake's own file only
    assert duckdb.sql(f"select call_id from {sql}").fetchall() == [("REAL",)]


def test_dbt_reads_the_lake_through_a_path_with_a_quote() -> None:
    # the sources' external locations quote the path with SQL's own rule (a doubled quote)
    import yaml

    root = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
    locations = [
        table["config"]["meta"]["external_location"]
        for path in root.rglob("_*sources.yml")
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
        for table in source.get("tables", [])
        if "external_location" in table.get("config", {}).get("meta", {})
    ]
    assert locations
    assert all('replace("\'", "\'\'")' in location for location in locations), locations
