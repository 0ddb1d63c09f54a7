"""Bad input from a clumsy source system: one bad file never stops the night (issue 19).

Every file that cannot be read is, at worst, a refused delivery naming the file, the line and
the cause, or quarantined lines; the deliveries staged beside it load as usual. Each test
writes a small call-centre delivery of its own and stages it with one `stage` call, and each
checks the conservation law per file: delivered = loaded + quarantined, or refused whole.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bankdw.config import Settings
from extract.contract import load_agreement
from extract.lake import Lake
from extract.landing import MANIFEST_NAME, Manifest
from extract.load import DeliveryOutcome, audit_table, landing_state, stage

AGREEMENT = load_agreement()
D = date(2026, 11, 20)
NEXT = D + timedelta(days=1)

AGENTS_HEADER = "agent_id,full_name,team,site,hire_date"
AGENT = "AG1,Li Na,Cards,Shanghai,2020-01-06"
CALLS_HEADER = (
    "call_id,direction,started_at,answered_at,ended_at,caller_number,customer_id,queue,agent_id,"
    "wait_seconds,talk_seconds,hold_seconds,transfer_count,reason_code,outcome,complaint_flag,csat_score,campaign_id"
)
CALL = (
    "K1,INBOUND,2026-11-20T10:00:00+08:00,2026-11-20T10:00:30+08:00,2026-11-20T10:05:00+08:00,"
    "13800138000,,CARDS,AG1,30,270,0,0,CARD_LOST,RESOLVED,N,5,"
)
USERS = b"user_id,customer_id,email,phone,registered_at,status\nU1,C1,,,2026-01-01T00:00:00+08:00,ACTIVE\n"
EVENT = '{"event_id":"E1","event_ts":"2026-11-20T01:00:00+08:00","session_id":"S1","device":"WEB","event_type":"LOGIN"}'


def lines(*rows: str, end: str = "\n") -> bytes:
    return "".join(row + end for row in rows).encode()


def good_calls() -> dict[str, bytes]:
    return {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": lines(CALLS_HEADER, CALL)}


def stage_pending(settings: Settings, load_id: str = "L1") -> dict[str, DeliveryOutcome]:
    """Stage every pending delivery in one call, as a night does; outcomes by delivery label."""
    lake = Lake(settings.lake_dir)
    pending = landing_state(settings.landing_dir, lake, AGREEMENT).pending
    return {o.delivery.label: o for o in stage(pending, settings.landing_dir, lake, AGREEMENT, load_id)}


def assert_conserved(outcome: DeliveryOutcome, delivered: dict[str, int]) -> None:
    """Per file: delivered = loaded + quarantined, or the delivery is refused whole (nothing loaded)."""
    if outcome.refused:
        assert outcome.files == []
        return
    counted = {f.source_file.rsplit("/", 1)[1]: f for f in outcome.files}
    for name, rows in delivered.items():
        assert counted[name].rows_delivered == rows
        assert counted[name].rows_loaded + counted[name].rows_quarantined == rows


def staged_calls(settings: Settings, load_id: str = "L1") -> list[tuple[object, ...]]:
    calls = Lake(settings.lake_dir).staging(load_id).feed_glob(AGREEMENT.file("call_center", "calls"))
    return duckdb.sql(
        f"select call_id, _business_date, _source_row, talk_seconds, campaign_id from read_parquet('{calls}') "
        "order by 2, 3"
    ).fetchall()


# -- line ends ------------------------------------------------------------------------------


def test_crlf_line_ends_are_standard_csv_and_load(settings: Settings, delivery_writer: Callable[..., Path]) -> None:
    # given a call-centre delivery written with CRLF line ends throughout (RFC 4180)
    files = {"agents.csv": lines(AGENTS_HEADER, AGENT, end="\r\n"), "calls.csv": lines(CALLS_HEADER, CALL, end="\r\n")}
    delivery_writer("call_center", D, files)
    # when staged
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    # then it loads like the same delivery with LF line ends: no `\r` left in the last field
    assert outcome.problems == []
    assert_conserved(outcome, {"agents.csv": 1, "calls.csv": 1})
    assert staged_calls(settings) == [("K1", D, 1, 270, None)]


def test_a_single_crlf_line_among_lf_lines_loads(settings: Settings, delivery_writer: Callable[..., Path]) -> None:
    # given a calls file whose second row alone ends with CRLF, after a campaign id in its last field
    calls = (
        lines(CALLS_HEADER, CALL)
        + (CALL.replace("K1,", "K2,", 1) + "CMP1\r\n").encode()
        + lines(CALL.replace("K1,", "K3,", 1))
    )
    delivery_writer("call_center", D, {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": calls})
    # when staged, then all three calls load with their line numbers, no `\r` kept in the campaign id
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == []
    assert_conserved(outcome, {"calls.csv": 3})
    assert [(c[0], c[2], c[4]) for c in staged_calls(settings)] == [("K1", 1, None), ("K2", 2, "CMP1"), ("K3", 3, None)]


def test_a_stray_carriage_return_in_an_unquoted_field_quarantines_its_line(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a calls file whose second call has a `\r` in the middle of its queue field
    stray = CALL.replace("K1,", "K2,", 1).replace(",CARDS,", ",CA\rRDS,")
    calls = lines(CALLS_HEADER, CALL, stray, CALL.replace("K1,", "K3,", 1))
    files = {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": calls}
    sender_manifest(delivery_writer("call_center", D, files, with_manifest=False), {"calls.csv": 3})
    # when staged
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    # then that line is quarantined with its line and the cause, the others load
    assert outcome.problems == []
    assert_conserved(outcome, {"calls.csv": 3})
    assert [(c[0], c[2]) for c in staged_calls(settings)] == [("K1", 1), ("K3", 3)]
    quarantine = Lake(settings.lake_dir).staging("L1").quarantine_dir(AGREEMENT.file("call_center", "calls"))
    [(row, reason)] = duckdb.sql(f"select _source_row, reason from read_parquet('{quarantine}/*/*.parquet')").fetchall()
    assert row == 2 and "carriage return" in reason and "queue" in reason


# -- encodings --------------------------------------------------------------------------------


def test_a_utf8_bom_is_accepted(settings: Settings, delivery_writer: Callable[..., Path]) -> None:
    # given both files of a delivery starting with a UTF-8 byte order mark
    files = {name: b"\xef\xbb\xbf" + content for name, content in good_calls().items()}
    delivery_writer("call_center", D, files)
    # when staged, then it loads (the BOM is not part of the first column's name)
    outcome = stage_pending(settings)["call_center/2026-11-20"]
    assert outcome.problems == []
    assert_conserved(outcome, {"agents.csv": 1, "calls.csv": 1})
    assert staged_calls(settings)[0][0] == "K1"


@pytest.mark.parametrize(
    ("encoded", "line", "cause"),
    [
        pytest.param(lambda text: text.encode("latin-1"), 3, "not UTF-8", id="latin-1"),
        pytest.param(lambda text: text.encode("utf-16"), 1, "not UTF-8", id="utf-16 with BOM"),
        pytest.param(lambda text: text.encode("utf-16-le"), 1, "NUL byte", id="utf-16 without BOM"),
    ],
)
def test_another_encoding_refuses_the_delivery_naming_file_and_line_and_the_night_goes_on(
    settings: Settings,
    delivery_writer: Callable[..., Path],
    encoded: Callable[[str], bytes],
    line: int,
    cause: str,
) -> None:
    # given an agents file in another encoding, a name with an accent on its third line
    agents = encoded(f"{AGENTS_HEADER}\n{AGENT}\nAG2,José Núñez,Cards,Shanghai,2021-03-01\n")
    folder = delivery_writer(
        "call_center", D, {"agents.csv": agents, "calls.csv": lines(CALLS_HEADER, CALL)}, with_manifest=False
    )
    sender_manifest(folder, {"agents.csv": 2})
    # and a good delivery of the next date beside it
    delivery_writer("call_center", NEXT, good_calls())
    # when both are staged in one pass
    outcomes = stage_pending(settings)
    # then the bad one is refused, naming the file, the line of the first bad byte and the cause
    refused = outcomes["call_center/2026-11-20"]
    assert len(refused.problems) == 1
    assert refused.problems[0].startswith(f"agents.csv: line {line}:") and cause in refused.problems[0]
    assert "UTF-8" in refused.problems[0]  # what the agreement asks for
    assert_conserved(refused, {})
    # and the next date loads
    assert outcomes["call_center/2026-11-21"].problems == []
    assert [c[1] for c in staged_calls(settings)] == [NEXT]


# -- gzip -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        pytest.param(b"", "0 bytes", id="0-byte"),
        pytest.param((EVENT + "\n").encode(), "not a gzip file", id="uncompressed"),
        pytest.param(gzip.compress((EVENT + "\n").encode() * 50)[:-30], "truncated", id="truncated"),
    ],
)
def test_a_jsonl_gz_that_is_not_gzip_refuses_the_delivery_naming_the_file(
    settings: Settings, delivery_writer: Callable[..., Path], content: bytes, cause: str
) -> None:
    # given an online-banking delivery with one good hour file and one that is not a whole gzip file
    good = gzip.compress((EVENT + "\n").encode())
    files = {"users.csv": USERS, "events-01.jsonl.gz": good, "events-02.jsonl.gz": content}
    sender_manifest(delivery_writer("online_banking", D, files, with_manifest=False), {})
    # and a call-centre delivery of the same date
    delivery_writer("call_center", D, good_calls())
    # when staged
    outcomes = stage_pending(settings)
    # then the online-banking delivery is refused naming the hour file and the cause
    refused = outcomes["online_banking/2026-11-20"]
    assert len(refused.problems) == 1, refused.problems
    assert refused.problems[0].startswith("events-02.jsonl.gz:") and cause in refused.problems[0]
    assert_conserved(refused, {})
    # and the call centre loads
    assert outcomes["call_center/2026-11-20"].problems == []
    assert staged_calls(settings)[0][0] == "K1"


def sender_manifest(folder: Path, rows: dict[str, int]) -> None:
    """The manifest the sender writes: checksums of the bytes as they are, however unreadable,
    and the rows it says it sent (conftest's `write_manifest` reads the files as UTF-8 text)."""
    files = {
        p.name: {"rows": rows.get(p.name, 1), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in sorted(folder.iterdir())
        if p.name != MANIFEST_NAME
    }
    Manifest.model_validate({"system": folder.parent.name, "business_date": folder.name, "files": files}).write(folder)


def test_a_refused_read_is_recorded_and_the_date_waits_for_a_redelivery(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a latin-1 delivery, staged and its refusal committed
    agents = f"{AGENTS_HEADER}\nAG2,José,Cards,Shanghai,2021-03-01\n".encode("latin-1")
    folder = delivery_writer(
        "call_center", D, {"agents.csv": agents, "calls.csv": lines(CALLS_HEADER, CALL)}, with_manifest=False
    )
    sender_manifest(folder, {})
    lake = Lake(settings.lake_dir)
    outcomes = list(stage_pending(settings).values())
    lake.commit("L1", audit_table("L1", outcomes))
    # then the audit records the refusal with the file and line, and the delivery is refused, not pending
    [record] = lake.audit_records().to_pylist()
    assert record["outcome"] == "REFUSED" and record["message"].startswith("agents.csv: line 2:")
    state = landing_state(settings.landing_dir, lake, AGREEMENT)
    assert (state.pending, [d.label for d, _ in state.refused]) == ([], ["call_center/2026-11-20"])
