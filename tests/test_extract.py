"""The extract: strict typing, quarantine, manifests, staging and commit, on small hand-made files."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import extract.convert
from bankdw.config import Settings
from extract.contract import load_agreement
from extract.convert import ConvertedFeed, FileRefused, convert_feed, count_records, records_of
from extract.lake import Lake
from extract.landing import sha256_of
from extract.load import audit_table, landing_state, stage
from extract.text import check_text, read_landed
from tests.conftest import dbt_on

AGREEMENT = load_agreement()
TXN_HEADER = (
    "txn_id,account_id,posting_date,txn_ts,amount,currency,txn_type,channel,branch_id,"
    "counterparty_account,counterparty_bank,description,reversed_txn_id,balance_after"
)
D = date(2026, 11, 20)


def txn(txn_id: str, amount: str, ts: str = "2026-11-20T09:15:02+08:00", balance: str = "100.00") -> str:
    return f"{txn_id},A1,2026-11-20,{ts},{amount},CNY,FEE,SYSTEM,,,,,,{balance}"


def csv_bytes(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def convert(
    tmp_path: Path, name: str, content: bytes, system: str, feed: str
) -> tuple[ConvertedFeed, duckdb.DuckDBPyConnection]:
    path = tmp_path / name
    path.write_bytes(content)
    con = duckdb.connect()
    return convert_feed(con, [path], AGREEMENT.file(system, feed)), con


def test_csv_values_are_typed_exactly_and_bad_rows_are_quarantined_with_their_row(tmp_path: Path) -> None:
    # given a transactions file with one good row, one over-precise amount, one short row,
    # a timestamp without offset and a quoted description spanning two lines
    content = csv_bytes(
        TXN_HEADER,
        txn("T1", "-12.50"),
        txn("T2", "-1.23456"),
        "T3,A1,2026-11-20",
        txn("T4", "5", ts="2026-11-20T09:15:02"),
        'T5,A1,2026-11-20,2026-11-20T23:59:59+08:00,7.25,CNY,FEE,SYSTEM,,,,"two\nlines",,107.25',
    )
    # when it is converted
    result, con = convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")
    # then the good rows keep their exact decimals and their row numbers
    rows = con.sql("select txn_id, amount, _source_row, description from typed order by _source_row").fetchall()
    assert rows == [("T1", Decimal("-12.5000"), 1, None), ("T5", Decimal("7.2500"), 5, "two\nlines")]
    # and every other row is quarantined, with its row number and a reason naming the column
    quarantined = {r["_source_row"]: r["reason"] for r in result.quarantine.to_pylist()}
    assert set(quarantined) == {2, 3, 4}
    assert quarantined[2].startswith("amount: cannot read -1.23456")
    assert "wrong number of fields" in quarantined[3]
    assert quarantined[4].startswith("txn_ts: cannot read 2026-11-20T09:15:02")
    # and nothing is lost: delivered = loaded + quarantined
    counts = result.files["transactions.csv"]
    assert (counts.rows_delivered, counts.rows_loaded, counts.rows_quarantined) == (5, 2, 3)
    assert counts.totals == {"amount": Decimal("-5.25")}


def test_timestamps_keep_their_instant_whatever_the_offset(tmp_path: Path) -> None:
    # given the same instant written with the bank's offset and in UTC
    content = csv_bytes(
        TXN_HEADER, txn("T1", "1", ts="2026-11-20T09:00:00+08:00"), txn("T2", "1", ts="2026-11-20T01:00:00Z")
    )
    # when converted, then both are the same instant
    _, con = convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")
    assert con.sql("select count(distinct txn_ts) from typed").fetchall() == [(1,)]


def test_a_missing_required_column_refuses_the_file_naming_the_column(tmp_path: Path) -> None:
    # given a header without balance_after
    content = csv_bytes(TXN_HEADER.removesuffix(",balance_after"), txn("T1", "1").rsplit(",", 1)[0])
    # when converted, then the file is refused and the message names the column
    with pytest.raises(FileRefused, match="balance_after"):
        convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")


def test_an_extra_column_is_kept_and_reported(tmp_path: Path) -> None:
    content = csv_bytes(TXN_HEADER + ",merchant_category", txn("T1", "1") + ",5411")
    result, con = convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")
    assert result.extra_columns == ["merchant_category"]
    assert con.sql("select merchant_category from typed").fetchall() == [("5411",)]


def test_json_lines_invalid_and_empty_lines_are_quarantined_by_line_number(tmp_path: Path) -> None:
    # given an hour file with a good event, a broken line, an empty line, a bad amount and an unknown type
    good = '{"event_id":"E1","event_ts":"2026-11-20T01:00:00+08:00","session_id":"S1","device":"WEB","event_type":"LOGIN","amount":12.5}'
    odd = '{"event_id":"E3","event_ts":"2026-11-20T01:00:01+08:00","session_id":"S1","device":"IOS","event_type":"BIOMETRIC_SETUP","new_field":1}'
    bad_amount = '{"event_id":"E2","event_ts":"2026-11-20T01:00:00+08:00","session_id":"S1","device":"WEB","event_type":"TRANSFER","amount":"abc"}'
    content = gzip.compress("\n".join([good, "{not json", "", bad_amount, odd]).encode() + b"\n")
    # when converted
    result, con = convert(tmp_path, "events-01.jsonl.gz", content, "online_banking", "events")
    # then the two good events load (the unknown type too: the enum is open, gates report it)
    assert con.sql("select event_id, amount, _source_row from typed order by 3").fetchall() == [
        ("E1", Decimal("12.5000"), 1),
        ("E3", None, 5),
    ]
    reasons = {r["_source_row"]: r["reason"] for r in result.quarantine.to_pylist()}
    assert reasons == {
        2: "not a JSON object (invalid JSON)",
        3: "empty line",
        4: "amount: cannot read abc as a decimal with at most 4 decimals (DECIMAL(18,4))",
    }
    assert result.extra_columns == ["new_field"]
    # and the new key is kept in the lake as text, beside the agreement's columns
    assert con.sql("select event_id, new_field from typed order by 1").fetchall() == [("E1", None), ("E3", "1")]


def test_a_column_that_changed_its_type_refuses_the_file_naming_column_and_line(tmp_path: Path) -> None:
    # given a transactions file whose system started writing amounts with a decimal comma
    content = csv_bytes(
        TXN_HEADER,
        txn("T1", "-12.50"),
        txn("T2", '"-1,25"'),
        txn("T3", '"7,00"'),
    )
    # when converted, then the file is refused: two of three amounts do not read, which is a
    # change of schema, not two bad rows; the message names the column and the first bad line
    with pytest.raises(FileRefused, match=r"column amount: 2 of 3 values .*first at line 3: '-1,25'"):
        convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")


def test_below_the_drift_threshold_bad_values_are_quarantined_not_refused(tmp_path: Path) -> None:
    content = csv_bytes(TXN_HEADER, txn("T1", "-12.50"), txn("T2", '"-1,25"'), txn("T3", "7.00"))
    result, _ = convert(tmp_path, "transactions.csv", content, "core_banking", "transactions")
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)


AGENTS = csv_bytes("agent_id,full_name,team,site,hire_date", "AG1,Li Na,Cards,Shanghai,2020-01-06")
CALLS_HEADER = (
    "call_id,direction,started_at,answered_at,ended_at,caller_number,customer_id,queue,agent_id,"
    "wait_seconds,talk_seconds,hold_seconds,transfer_count,reason_code,outcome,complaint_flag,csat_score,campaign_id"
)
CALL = "K1,INBOUND,2026-11-20T10:00:00+08:00,2026-11-20T10:00:30+08:00,2026-11-20T10:05:00+08:00,13800138000,,CARDS,AG1,30,270,0,0,CARD_LOST,RESOLVED,N,5,"


def test_a_delivery_that_does_not_match_its_manifest_is_refused_whole(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a call-centre delivery whose calls.csv has one row more than the manifest says
    delivery_writer(
        "call_center",
        D,
        {"agents.csv": AGENTS, "calls.csv": csv_bytes(CALLS_HEADER, CALL)},
        manifest_overrides={"calls.csv": {"rows": 2}},
    )
    lake = Lake(settings.lake_dir)
    # when it is staged
    pending = landing_state(settings.landing_dir, lake, AGREEMENT).pending
    [outcome] = stage(pending, settings.landing_dir, lake, AGREEMENT, "L1")
    # then it is refused with the file and the difference named, and nothing of it is staged
    assert outcome.problems == ["calls.csv: 1 data rows, the manifest says 2"]
    assert not list(lake.staging("L1").root.glob("**/*.parquet"))
    # and once the refusal is committed, the delivery is reported as refused, not pending
    lake.commit("L1", audit_table("L1", [outcome]))
    state = landing_state(settings.landing_dir, lake, AGREEMENT)
    assert (state.pending, [d.label for d, _ in state.refused]) == ([], ["call_center/2026-11-20"])


def test_checksum_and_control_total_mismatches_name_the_file(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    delivery_writer(
        "call_center",
        D,
        {"agents.csv": AGENTS, "calls.csv": csv_bytes(CALLS_HEADER, CALL)},
        manifest_overrides={"agents.csv": {"sha256": "0" * 64}},
    )
    lake = Lake(settings.lake_dir)
    [outcome] = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending,
        settings.landing_dir,
        lake,
        AGREEMENT,
        "L1",
    )
    assert len(outcome.problems) == 1 and outcome.problems[0].startswith("agents.csv: sha256 ")


def test_a_delivery_without_manifest_stays_pending_and_untouched(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    delivery_writer("call_center", D, {"agents.csv": AGENTS}, with_manifest=False)
    state = landing_state(settings.landing_dir, Lake(settings.lake_dir), AGREEMENT)
    assert state.pending == [] and [d.label for d in state.incomplete] == ["call_center/2026-11-20"]


def test_a_redelivered_date_replaces_what_the_date_loaded_before(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    lake = Lake(settings.lake_dir)
    lake.ensure_schemas(AGREEMENT)
    two_calls = csv_bytes(CALLS_HEADER, CALL, CALL.replace("K1,", "K2,", 1))
    for load_id, calls in (("L1", two_calls), ("L2", csv_bytes(CALLS_HEADER, CALL))):
        # given a delivery (the second time: a corrected extract with one call only)
        delivery_writer("call_center", D, {"agents.csv": AGENTS, "calls.csv": calls})
        pending = landing_state(settings.landing_dir, lake, AGREEMENT).pending
        assert [d.label for d in pending] == ["call_center/2026-11-20"]
        # when it is staged and committed
        outcomes = stage(pending, settings.landing_dir, lake, AGREEMENT, load_id)
        lake.commit(load_id, audit_table(load_id, outcomes))
    # then the lake holds the corrected date only, loaded by the second load
    calls_glob = lake.feed_glob(AGREEMENT.file("call_center", "calls"))
    assert duckdb.sql(f"select call_id, _load_id from read_parquet('{calls_glob}')").fetchall() == [("K1", "L2")]
    # and the audit log keeps both loads
    audit = lake.audit_records()
    assert sorted(set(audit["load_id"].to_pylist())) == ["L1", "L2"]
    assert landing_state(settings.landing_dir, lake, AGREEMENT).pending == []


def test_hour_files_are_read_together_and_counted_per_file(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given an online-banking delivery with two hour files, the second with a broken second line
    event = (
        '{"event_id":"%s","event_ts":"2026-11-20T%s:00:00+08:00","session_id":"S1","device":"WEB","event_type":"LOGIN"}'
    )
    users = csv_bytes(
        "user_id,customer_id,email,phone,registered_at,status", "U1,C1,,,2026-01-01T00:00:00+08:00,ACTIVE"
    )
    hour_01 = gzip.compress((event % ("E1", "01") + "\n" + event % ("E2", "01") + "\n").encode())
    hour_07 = gzip.compress((event % ("E3", "07") + "\n{oops\n" + event % ("E4", "07") + "\n").encode())
    delivery_writer(
        "online_banking",
        D,
        {"users.csv": users, "events-01.jsonl.gz": hour_01, "events-07.jsonl.gz": hour_07},
        manifest_overrides={"events-01.jsonl.gz": {"rows": 2}, "events-07.jsonl.gz": {"rows": 3}},
    )
    lake = Lake(settings.lake_dir)
    # when staged and committed
    [outcome] = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    assert outcome.problems == []
    lake.commit("L1", audit_table("L1", [outcome]))
    # then each event keeps its own file and line, and the audit log counts per file
    events = lake.feed_glob(AGREEMENT.file("online_banking", "events"))
    rows = duckdb.sql(f"select event_id, _source_file, _source_row from read_parquet('{events}') order by 1").fetchall()
    assert rows == [
        ("E1", "online_banking/2026-11-20/events-01.jsonl.gz", 1),
        ("E2", "online_banking/2026-11-20/events-01.jsonl.gz", 2),
        ("E3", "online_banking/2026-11-20/events-07.jsonl.gz", 1),
        ("E4", "online_banking/2026-11-20/events-07.jsonl.gz", 3),
    ]
    audit = {
        r["source_file"].rsplit("/", 1)[1]: (r["rows_delivered"], r["rows_loaded"], r["rows_quarantined"])
        for r in lake.audit_records().to_pylist()
    }
    assert audit == {"users.csv": (1, 1, 0), "events-01.jsonl.gz": (2, 2, 0), "events-07.jsonl.gz": (3, 2, 1)}


def test_a_manifest_with_an_unreadable_control_total_refuses_the_delivery(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a core delivery whose manifest writes the amount total with a thousands separator
    folder = delivery_writer("core_banking", D, {"transactions.csv": csv_bytes(TXN_HEADER, txn("T1", "1000"))})
    manifest = folder / "_manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"1000"', '"1,000.00"'), encoding="utf-8")
    lake = Lake(settings.lake_dir)
    # when staged, then the delivery is refused and the message names the manifest and the total
    [outcome] = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("_manifest.json is not a valid manifest")
    assert "control_totals.amount" in outcome.problems[0]


def test_a_manifest_that_leaves_out_a_file_the_agreement_requires_refuses_the_delivery(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a call-centre delivery without its calls file, and an online-banking delivery without
    # any hour file of events (the agreement marks them optional: an hour, or a day, without events)
    delivery_writer("call_center", D, {"agents.csv": AGENTS})
    users = csv_bytes("user_id,customer_id,email,phone,registered_at,status")
    delivery_writer("online_banking", D, {"users.csv": users})
    lake = Lake(settings.lake_dir)
    # when they are staged
    outcomes = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    # then the call centre's is refused, naming the missing file, and nothing of it is staged
    refused = {o.delivery.label: o.problems for o in outcomes}
    assert refused["call_center/2026-11-20"] == [
        "calls.csv: not in the manifest; the agreement (extract/feeds/feeds.yml) says call_center delivers it "
        "every business date (an empty file has its header row only)"
    ]
    assert not list(lake.staging("L1").root.glob("call_center/**/*.parquet"))
    # and the online-banking delivery, with an empty users snapshot, is staged
    assert refused["online_banking/2026-11-20"] == []


def test_every_file_of_the_agreement_is_required_but_the_hour_files_of_events() -> None:
    # the agreement says which files a system delivers every business date (extract/feeds/README.md)
    optional = {f.qualified_name for f in AGREEMENT.files if f.optional}
    assert optional == {"online_banking.events"}


def test_rows_delivered_are_counted_on_the_files_bytes(tmp_path: Path) -> None:
    # given a CSV with a quoted field holding a line end and a doubled quote, a blank line,
    # and a last record without its line end; and an hour file with an empty line
    csv_file = tmp_path / "agents.csv"
    csv_file.write_bytes(
        b'agent_id,full_name,team,site,hire_date\nAG1,"Li ""Na""\nWang",C,S,2020-01-06\n\nAG2,B,C,S,2020-01-06'
    )
    events = tmp_path / "events-01.jsonl.gz"
    events.write_bytes(gzip.compress(b'{"event_id":"E1"}\n\n{"event_id":"E2"}\n'))
    # when counted, then the header and the blank CSV line are not records, the empty JSON line is
    assert count_records(csv_file, AGREEMENT.file("call_center", "agents")) == 2
    assert count_records(events, AGREEMENT.file("online_banking", "events")) == 3
    # and the conversion agrees with the count: both agents loaded, the empty event line quarantined
    con = duckdb.connect()
    agents = convert_feed(con, [csv_file], AGREEMENT.file("call_center", "agents")).files["agents.csv"]
    assert (agents.rows_delivered, agents.rows_loaded, agents.rows_quarantined) == (2, 2, 0)


LANDED = {
    "plain.csv": b'agent_id,full_name\nAG1,"Li ""Na""\nWang"\n\nAG2,B',
    "bom_crlf.csv": b"\xef\xbb\xbfagent_id,full_name\r\nAG1,A\r\nAG2,B\rC\r\n",
    "latin1.csv": b"agent_id,full_name\nAG1,A\nAG2,Jos\xe9\n",
    "utf16.csv": "agent_id\nAG1\n".encode("utf-16"),
    "cut_character.csv": "agent_id\nAG1\u00e9".encode()[:-1],
    "big.csv": b"agent_id,full_name\n" + b"".join(b'AG%d,"x\n\xc3\xa9"\n' % i for i in range(200_000)),
    "events-01.jsonl.gz": gzip.compress(b'{"event_id":"E1"}\n\n{"event_id":"E2"}'),
    "events-02.jsonl.gz": gzip.compress(b'{"event_id":"E1"}\n') + gzip.compress(b'{"event_id":"E2"}\n'),
    "events-03.jsonl.gz": gzip.compress(b'{"event_id":"E1"}\n' * 50_000)[:-40],
    "events-04.jsonl.gz": b"",
    "events-05.jsonl.gz": b'{"event_id":"E1"}\n',
    "events-06.jsonl.gz": gzip.compress(b'{"event_id":"E1"}\n')[:12] + b"\x00garbage" * 10,
    "events-07.jsonl.gz": gzip.compress(b'{"event_id":"\xe9"}\n'),
}
"""Landed files of every kind the extract reads or refuses: quoting, BOM and carriage returns,
other encodings, gzip members, cut short, empty, not gzip, corrupt; one larger than a read's chunk."""


@pytest.mark.parametrize("name", sorted(LANDED))
def test_one_read_of_a_landed_file_finds_what_three_reads_found(tmp_path: Path, name: str) -> None:
    # given a landed file
    path = tmp_path / name
    path.write_bytes(LANDED[name])
    feed = (
        AGREEMENT.file("online_banking", "events") if name.endswith(".gz") else AGREEMENT.file("call_center", "agents")
    )
    # when it is read once for its checksum, text checks and record count (issue 20)
    read = read_landed(path, csv_quoting=feed.format == "csv")
    # then it finds the checksum, the text checks' answer or refusal, and the count that reading it
    # three times, once for each, finds
    assert read.sha256 == sha256_of(path) == hashlib.sha256(LANDED[name]).hexdigest()
    try:
        expected = check_text(path)
    except FileRefused as refused:
        assert read.refused == str(refused)
        return
    assert read.refused is None
    assert (read.has_bom, read.has_cr) == expected
    assert records_of(read, feed) == count_records(path, feed)


@pytest.mark.parametrize(
    ("name", "records", "refusal"),
    [
        ("plain.csv", 2, None),
        ("big.csv", 200_000, None),
        ("latin1.csv", None, "latin1.csv: line 3: byte 0xE9 is not UTF-8 text"),
        ("events-02.jsonl.gz", 2, None),
        ("events-03.jsonl.gz", None, "events-03.jsonl.gz: truncated gzip file"),
        ("events-04.jsonl.gz", None, "events-04.jsonl.gz: 0 bytes: not a gzip file"),
    ],
)
def test_one_read_counts_the_records_or_names_the_refusal(
    tmp_path: Path, name: str, records: int | None, refusal: str | None
) -> None:
    # the figures the comparison above rests on, written out: a record count, or a refusal
    path = tmp_path / name
    path.write_bytes(LANDED[name])
    feed = (
        AGREEMENT.file("online_banking", "events") if name.endswith(".gz") else AGREEMENT.file("call_center", "agents")
    )
    read = read_landed(path, csv_quoting=feed.format == "csv")
    assert (read.refused or "").startswith(refusal or "")
    assert bool(read.refused) == bool(refusal)
    if records is not None:
        assert records_of(read, feed) == records


@pytest.mark.slow
def test_a_row_the_extract_loses_fails_the_audit_test_of_the_warehouse(
    settings: Settings, delivery_writer: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an extract that loses the second data row of a file after reading it (agents: no
    # control total, so the manifest's figures alone cannot notice)
    number_rows = extract.convert._number_rows

    def number_then_lose_a_row(con: duckdb.DuckDBPyConnection, *args: object, **kwargs: object) -> None:
        number_rows(con, *args, **kwargs)  # type: ignore[arg-type]
        con.execute("delete from raw_read where rowid = (select min(rowid) + 1 from raw_read)")  # data row 2

    monkeypatch.setattr(extract.convert, "_number_rows", number_then_lose_a_row)
    agents = csv_bytes(
        "agent_id,full_name,team,site,hire_date", *(f"AG{i},Agent {i},Cards,Shanghai,2020-01-06" for i in (1, 2, 3))
    )
    delivery_writer("call_center", D, {"agents.csv": agents, "calls.csv": csv_bytes(CALLS_HEADER)})
    lake = Lake(settings.lake_dir)
    lake.ensure_schemas(AGREEMENT)
    # when the delivery is staged and committed, the file passes its manifest (three rows) ...
    [outcome] = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    assert outcome.problems == []
    lake.commit("L1", audit_table("L1", [outcome]))
    [audit] = [r for r in lake.audit_records().to_pylist() if r["feed"] == "agents"]
    assert (audit["rows_delivered"], audit["rows_loaded"], audit["rows_quarantined"]) == (3, 2, 0)
    # ... then the warehouse's audit test, which holds the extract to delivered = loaded + quarantined, fails on it
    target = settings.root / "audit" / "bank.duckdb"
    done = dbt_on(settings, target, "build", "--select", "audit_loads")
    assert done.returncode == 1, done.stdout[-3000:]
    failures = [line for line in done.stdout.splitlines() if " FAIL " in line]
    test = "expression_is_true_audit_loads_rows_delivered_rows_loaded_rows_quarantined"
    assert len(failures) == 1 and f"FAIL 1 {test}" in failures[0], done.stdout[-3000:]  # one file, one row
