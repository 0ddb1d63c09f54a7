"""Tampering by a sender, or by anyone who can write into the landing area (issue 19): forged
lineage, folders that are not the agreement's dates, loose hour-file names, symbolic links.

Small deliveries written by the tests, one `stage` call each; conservation per file holds in
each: delivered = loaded + quarantined, or the delivery is refused whole.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bankdw.config import Settings
from bankdw.pipeline import stage_step
from extract.contract import load_agreement
from extract.lake import Lake
from extract.landing import find_deliveries
from extract.load import landing_state
from tests.test_bad_input import (
    AGENT,
    AGENTS_HEADER,
    CALL,
    CALLS_HEADER,
    EVENT,
    USERS,
    assert_conserved,
    good_calls,
    lines,
    stage_pending,
)

AGREEMENT = load_agreement()
D = date(2026, 11, 20)


# -- lineage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column",
    ["_load_id", "_business_date", "_source_file", "_source_row", "_reason", "_file", "_loaded_at", "_LOAD_ID"],
)
def test_a_delivered_column_named_like_the_warehouse_lineage_is_refused_naming_it(
    settings: Settings, delivery_writer: Callable[..., Path], column: str
) -> None:
    # given a calls file with an extra column in the warehouse's lineage namespace
    calls = lines(f"{CALLS_HEADER},{column}", f"{CALL},L-FORGED")
    delivery_writer("call_center", D, {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": calls})
    # when staged
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    # then the delivery is refused, the message naming the file and the column
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith(f"calls.csv: column(s) {column} in the warehouse's lineage namespace")
    assert_conserved(outcome, {})
    assert not list(Lake(settings.lake_dir).staging("L1").root.glob("**/*.parquet"))


def test_a_json_key_named_like_the_warehouse_lineage_is_refused_naming_it(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given an hour file whose events carry their own `_source_file`
    forged = EVENT[:-1] + ',"_source_file":"core_banking/2026-11-01/transactions.csv"}'
    hour = gzip.compress(f"{EVENT}\n{forged}\n".encode())
    delivery_writer("online_banking", D, {"users.csv": USERS, "events-01.jsonl.gz": hour})
    # when staged, then the delivery is refused naming the file and the key
    outcome = stage_pending(settings)["online_banking/2026-11-20"]
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("events-01.jsonl.gz: key(s) _source_file in the warehouse's lineage")
    assert_conserved(outcome, {})


def test_a_column_that_differs_from_one_of_the_agreement_only_in_case_is_refused(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    calls = lines(f"{CALLS_HEADER},Call_ID", f"{CALL},K9")
    delivery_writer("call_center", D, {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": calls})
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == ["calls.csv: column(s) appear twice (names are not case-sensitive): Call_ID, call_id"]


def test_a_harmless_extra_column_still_loads_with_the_warehouse_lineage(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given an extra column outside the namespace (schema drift, kept as text)
    calls = lines(f"{CALLS_HEADER},load_id", f"{CALL},L-FORGED")
    delivery_writer("call_center", D, {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": calls})
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == []
    assert_conserved(outcome, {"calls.csv": 1})
    # then the row's lineage is the warehouse's, and the sender's value is kept beside it
    glob = Lake(settings.lake_dir).staging("L1").feed_glob(AGREEMENT.file("call_center", "calls"))
    assert duckdb.sql(f"select _load_id, load_id, _source_file from read_parquet('{glob}')").fetchall() == [
        ("L1", "L-FORGED", "call_center/2026-11-20/calls.csv")
    ]


# -- folders and file names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["20261120", "2026W475", "2026-324", "2026-11-20.bak"])
def test_only_yyyy_mm_dd_folders_are_deliveries_the_rest_is_reported_and_left_alone(
    settings: Settings, delivery_writer: Callable[..., Path], name: str
) -> None:
    # given the delivery of 2026-11-20, and a copy of it in a folder named otherwise
    # (`20261120`, `2026W475` and `2026-324` are read by Python as the same date)
    folder = delivery_writer("call_center", D, good_calls())
    other = folder.with_name(name)
    other.mkdir()
    for entry in folder.iterdir():
        (other / entry.name).write_bytes(entry.read_bytes())
    # when the landing area is scanned and staged
    assert [d.path.name for d in find_deliveries(settings.landing_dir, AGREEMENT)] == ["2026-11-20"]
    report = stage_step(settings, run_id="L1")
    # then the date is loaded once, and the other folder is reported in the run and left alone
    assert report.deliveries_loaded == ["call_center/2026-11-20"]
    assert report.rows["call_center.calls"] == {"delivered": 1, "loaded": 1, "quarantined": 0}
    assert f"landing call_center/{name}: not a delivery folder (the agreement's are YYYY-MM-DD); left alone" in (
        report.warnings
    )
    assert sorted(p.name for p in other.iterdir()) == ["_manifest.json", "agents.csv", "calls.csv"]


@pytest.mark.parametrize(
    "name", ["events-08-copy.jsonl.gz", "events-8.jsonl.gz", "events-24.jsonl.gz", "events-0*.jsonl.gz"]
)
def test_hour_files_are_matched_by_the_agreement_s_exact_name(
    settings: Settings, delivery_writer: Callable[..., Path], name: str
) -> None:
    # given an online-banking delivery with a good hour file and one whose name is not `events-HH.jsonl.gz`
    hour = gzip.compress(f"{EVENT}\n".encode())
    delivery_writer("online_banking", D, {"users.csv": USERS, "events-08.jsonl.gz": hour, name: hour})
    # when staged, then the delivery is refused naming that file: it is no file of the agreement
    outcome = stage_pending(settings)["online_banking/2026-11-20"]
    assert outcome.problems == [f"{name}: not a file of the online_banking agreement"]
    assert_conserved(outcome, {})


def test_a_symbolic_link_in_a_delivery_is_refused(
    settings: Settings, delivery_writer: Callable[..., Path], tmp_path: Path
) -> None:
    # given a delivery whose agents file is a link to a file outside the landing area
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(lines(AGENTS_HEADER, AGENT))
    folder = delivery_writer("call_center", D, {"calls.csv": lines(CALLS_HEADER, CALL)}, with_manifest=False)
    (folder / "agents.csv").symlink_to(outside)
    from tests.conftest import write_manifest

    write_manifest(folder)
    # when staged, then it is refused naming the link, and nothing of it is staged
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == [f"agents.csv: a symbolic link (to {outside}); a delivery holds regular files only"]
    assert_conserved(outcome, {})
    assert not list(Lake(settings.lake_dir).staging("L1").root.glob("**/*.parquet"))


def test_a_delivery_folder_that_is_a_symbolic_link_is_refused(
    settings: Settings, delivery_writer: Callable[..., Path], tmp_path: Path
) -> None:
    folder = delivery_writer("call_center", D, good_calls())
    moved = folder.rename(tmp_path / "outside")
    folder.symlink_to(moved)
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == [f"the delivery folder is a symbolic link (to {moved}): refused"]
    assert landing_state(settings.landing_dir, Lake(settings.lake_dir), AGREEMENT).pending != []
