"""Many deliveries staged together (issue 20): one conversion per feed file, the outcome of each
delivery exactly what staging it on its own gives.

The same landing area is staged twice: every delivery in one `stage` call (batched), and each
delivery in a call of its own (one conversion per delivery, as before batching). Every staged
Parquet file (typed rows and quarantine) must be the same, row for row and in order, with the
same column types, and every delivery's outcome (problems, files, counts) the same; only the
load id and load time differ.

Both ways share the code that writes a staged file, so the shared bank's staging is also read
against the landed files themselves (`assert_staged_rows_are_the_landed_ones`): every staged row
is the record its `_source_file` and `_source_row` name, with that record's values, in the
partition of that file's delivery, and every record of every landed file is staged exactly once
(typed or quarantined).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from inspect import signature
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from extract import load
from extract.contract import Column, load_agreement
from extract.lake import Lake
from extract.load import DEFAULT_BATCH_BYTES, DeliveryOutcome, landing_state, stage
from tests.conftest import BANK_START, write_manifest

AGREEMENT = load_agreement()
VARYING = ("_load_id", "_loaded_at")
"""Lineage that differs between two loads by design."""


def staged_files(staging: Path) -> dict[str, tuple[list[tuple[str, str]], list[tuple[Any, ...]]]]:
    """Every Parquet file of a staging area: its columns with their types, and its rows in order,
    without the load id and time."""
    files = {}
    with duckdb.connect() as con:
        for path in sorted(staging.rglob("*.parquet")):
            # the file's own columns: no `business_date` from the folder's name (hive partitioning)
            read = f"read_parquet('{path}', hive_partitioning = false)"
            types = [(c, str(t)) for c, t, *_ in con.sql(f"describe select * from {read}").fetchall()]
            select = ", ".join(f'"{c}"' for c, _ in types if c not in VARYING)
            files[str(path.relative_to(staging))] = (types, con.sql(f"select {select} from {read}").fetchall())
    return files


def summary(outcome: DeliveryOutcome) -> tuple[Any, ...]:
    files = [
        (f.feed, f.source_file, f.rows_delivered, f.rows_loaded, f.rows_quarantined, f.sha256, f.extra_columns)
        for f in outcome.files
    ]
    return outcome.delivery.label, outcome.problems, files


def stage_both_ways(
    data: Path, batch_bytes: int = DEFAULT_BATCH_BYTES
) -> tuple[list[DeliveryOutcome], list[DeliveryOutcome], Lake]:
    """Stage every pending delivery of `data/landing` together (load BATCH, in batches of at most
    `batch_bytes` of a feed file) and one by one (ONE)."""
    lake = Lake(data / "lake")
    lake.ensure_schemas(AGREEMENT)
    pending = landing_state(data / "landing", lake, AGREEMENT).pending
    assert len(pending) > 10
    batched = stage(pending, data / "landing", lake, AGREEMENT, "BATCH", batch_bytes=batch_bytes)
    alone = [outcome for delivery in pending for outcome in stage([delivery], data / "landing", lake, AGREEMENT, "ONE")]
    return batched, alone, lake


def assert_same_staging(batched: list[DeliveryOutcome], alone: list[DeliveryOutcome], lake: Lake) -> None:
    assert [summary(o) for o in batched] == [summary(o) for o in alone]
    batch_files, alone_files = staged_files(lake.staging("BATCH").root), staged_files(lake.staging("ONE").root)
    assert sorted(batch_files) == sorted(alone_files)
    for name, (types, rows) in alone_files.items():
        assert batch_files[name][0] == types, name
        assert batch_files[name][1] == rows, name
    empty_dirs = {
        str(p.relative_to(lake.staging("ONE").root)) for p in lake.staging("ONE").root.rglob("business_date=*")
    }
    assert {
        str(p.relative_to(lake.staging("BATCH").root)) for p in lake.staging("BATCH").root.rglob("business_date=*")
    } == empty_dirs


def _value(text: Any, column: Column | None) -> Any:
    """What a landed field's text is once staged: None when empty, else read as its type
    (independently of the extract's SQL casts). `column` None: an extra column, kept as text."""
    if text is None or text == "":
        return None
    text = str(text)
    kind = column.type if column else "string"
    readers: dict[str, Any] = {
        "decimal": Decimal,
        "integer": int,
        "date": date.fromisoformat,
        "timestamp": datetime.fromisoformat,
        "boolean": lambda t: t == "Y",
    }
    return readers.get(kind, str)(text)


def landed_records(path: Path) -> list[dict[str, Any] | None]:
    """A landed file's records by number (record k at index k - 1): CSV by the csv module (blank
    lines hold no record), JSON lines by `json` (decimals exact); None for a record that is no
    row (the simulator's broken lines, which the extract quarantines)."""
    if path.name.endswith(".jsonl.gz"):
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines
        return [_json_object(line) for line in lines]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return [
            dict(zip(header, record, strict=True)) if len(record) == len(header) else None
            for record in reader
            if record
        ]


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line, parse_float=Decimal)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def assert_staged_rows_are_the_landed_ones(landing: Path, staging: Path, outcomes: list[DeliveryOutcome]) -> None:
    """Every staged row (typed or quarantined) is the landed record it names, in its delivery's
    partition; typed rows hold that record's values; every record is staged exactly once."""
    staged: Counter[tuple[str, int]] = Counter()
    checked = 0
    with duckdb.connect() as con:
        for path in sorted(staging.rglob("business_date=*/*.parquet")):
            partition_date = path.parent.name.removeprefix("business_date=")
            feed_dir = path.parent.parent
            system = feed_dir.parent.name
            feed = AGREEMENT.file(system, feed_dir.name)
            relation = con.sql(f"select * from read_parquet('{path}', hive_partitioning = false)")
            columns = relation.columns
            quarantined = "_quarantine" in path.relative_to(staging).parts
            records: dict[str, list[dict[str, Any] | None]] = {}
            for values in relation.fetchall():
                row = dict(zip(columns, values, strict=True))
                source, number = row["_source_file"], row["_source_row"]
                # the row is in the partition of its file's delivery, and says so
                assert source.startswith(f"{system}/{partition_date}/"), (path, source)
                assert str(row["_business_date"]) == partition_date, (path, row)
                staged[source, number] += 1
                if quarantined:
                    continue
                if source not in records:
                    records[source] = landed_records(landing / source)
                record = records[source][number - 1]
                assert record is not None, (path, source, number)  # a row loaded from a broken record
                types = {c.name: c for c in feed.columns}
                lineage = {"_load_id", "_source_file", "_source_row", "_business_date", "_loaded_at"}
                expected = {name: _value(record.get(name), types.get(name)) for name in columns if name not in lineage}
                assert {name: row[name] for name in expected} == expected, (path, source, number)
                checked += 1
    # every record of every loaded file: staged once, typed or quarantined, none twice, none missing
    by_file: dict[str, list[int]] = {}
    for (source, number), times in staged.items():
        by_file.setdefault(source, []).extend([number] * times)
    for outcome in outcomes:
        for f in outcome.files:
            assert sorted(by_file.pop(f.source_file, [])) == list(range(1, f.rows_delivered + 1)), f.source_file
    assert not by_file  # no row of a file the audit does not name
    assert checked > 1000


@pytest.fixture
def landing_copy(bank_landing: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(bank_landing, data / "landing")
    return data


def test_batched_staging_writes_the_files_and_rows_of_one_by_one_staging(landing_copy: Path) -> None:
    # given the shared bank's landing area (every system, every date)
    # when it is staged in one call, and again one delivery per call
    batched, alone, lake = stage_both_ways(landing_copy)
    # then every delivery loads, and both staging areas hold the same files, row for row
    assert not [o.problems for o in batched if o.refused]
    assert sum(len(o.files) for o in batched) > 100
    assert_same_staging(batched, alone, lake)
    # and every staged row is the landed record it names, each record staged once
    assert_staged_rows_are_the_landed_ones(landing_copy / "landing", lake.staging("BATCH").root, batched)


def test_batches_capped_by_size_stage_the_same(landing_copy: Path) -> None:
    # given the shared bank's landing area, and a batch size that holds about three days of a feed
    sizes = [p.stat().st_size for p in sorted((landing_copy / "landing").glob("core_banking/*/transactions.csv"))]
    three_days = sum(sizes[:3])
    assert three_days < sum(sizes) / 2  # (so the feed's deliveries are staged in several batches)
    # when it is staged in batches of that size, and again one delivery per call
    capped, alone, lake = stage_both_ways(landing_copy, batch_bytes=three_days)
    # then the staging areas are the same
    assert_same_staging(capped, alone, lake)


def test_a_delivery_larger_than_a_batch_is_staged_as_its_rows_are_fetched(
    landing_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the shared bank's landing area, its staged files cut into row groups of 100 rows (its
    # files are small), and what each delivery's rows reach the staged files as
    monkeypatch.setattr(load, "STAGED_ROW_GROUP", 100)
    reached: Counter[tuple[str, str]] = Counter()

    def stage_part(*args: Any, **kwargs: Any) -> Any:
        call = signature(stage_part_itself).bind(*args, **kwargs).arguments
        reached[call["load_id"], type(call["rows"]).__name__] += 1
        return stage_part_itself(*args, **kwargs)

    stage_part_itself = load._stage_part
    monkeypatch.setattr(load, "_stage_part", stage_part)
    # when every delivery is staged as larger than a batch (batch size 0), and again one by one
    streamed, alone, lake = stage_both_ways(landing_copy, batch_bytes=0)
    # then the first staging fetched no delivery's rows whole: each reached its files a row group
    # at a time, as read; the second fetched each whole
    assert set(reached) == {("BATCH", "RecordBatchReader"), ("ONE", "Table")}, reached
    # (one per delivery and feed file: the shared bank's 8 dates of 13 feed files, some not delivered)
    assert reached["BATCH", "RecordBatchReader"] == reached["ONE", "Table"] > 100
    # and the staging areas are the same, file for file, row for row, in order, typed alike
    assert_same_staging(streamed, alone, lake)
    # and a file of more rows than a row group holds is in row groups of 100
    largest = max(lake.staging("BATCH").root.rglob("*.parquet"), key=lambda p: pq.ParquetFile(p).metadata.num_rows)
    metadata = pq.ParquetFile(largest).metadata
    assert metadata.num_rows > 300
    assert [metadata.row_group(k).num_rows for k in range(metadata.num_row_groups)][:3] == [100, 100, 100]


def _rewrite_csv(path: Path, change: Any) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(change(rows))
    path.write_text(out.getvalue(), encoding="utf-8")


def _column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def break_deliveries(landing: Path) -> dict[str, str]:
    """Break or damage one delivery per kind; returns the labels of those that must be refused, with
    a word of their expected problem."""
    day = [(BANK_START + timedelta(days=n)).isoformat() for n in range(8)]
    core, web, calls = landing / "core_banking", landing / "online_banking", landing / "call_center"

    # a truncated file whose manifest still counts the lost rows: refused on the row count
    transactions = core / day[0] / "transactions.csv"
    lines = transactions.read_text(encoding="utf-8").split("\n")
    rows_declared = len([line for line in lines[1:] if line])
    transactions.write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    write_manifest(core / day[0], {"transactions.csv": {"rows": rows_declared}})

    # day-first dates throughout a column: refused as type drift, naming column and line
    def day_first(rows: list[list[str]]) -> list[list[str]]:
        i = _column(rows, "posting_date")
        for row in rows[1:]:
            y, m, d = row[i].split("-")
            row[i] = f"{d}.{m}.{y}"
        return rows

    _rewrite_csv(core / day[1] / "transactions.csv", day_first)
    write_manifest(core / day[1])

    # a few bad values and a stray carriage return: quarantined, the delivery loads
    def bad_values(rows: list[list[str]]) -> list[list[str]]:
        rows[1][_column(rows, "ledger_balance")] = "12.34567"
        rows[2][_column(rows, "business_date")] = "yesterday"
        return rows

    _rewrite_csv(core / day[2] / "balances.csv", bad_values)
    customers = core / day[2] / "customers.csv"
    lines = customers.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].replace(",", ",\r", 1)
    customers.write_text("\r\n".join(lines), encoding="utf-8")
    # (the csv module would count the stray carriage return as a line end)
    write_manifest(core / day[2], {"customers.csv": {"rows": len([line for line in lines[1:] if line])}})

    # a JSON key outside the agreement in one hour file: kept and reported
    hour = sorted((web / day[3]).glob("events-*.jsonl.gz"))[0]
    events = gzip.decompress(hour.read_bytes()).decode("utf-8").split("\n")
    first = json.loads(events[0])
    events[0] = json.dumps(first | {"device_model": "X1"})
    hour.write_bytes(gzip.compress("\n".join(events).encode("utf-8"), mtime=0))
    write_manifest(web / day[3])

    # latin-1 text: refused, naming the line
    calls_file = calls / day[4] / "calls.csv"
    calls_file.write_bytes(calls_file.read_bytes().replace(b"\n", b"\n\xe9", 1))
    write_manifest_bytes(calls / day[4])

    # a required column missing from the header: refused, naming it
    _rewrite_csv(core / day[5] / "loans.csv", lambda rows: [row[1:] for row in rows])
    write_manifest(core / day[5])
    return {
        f"core_banking/{day[0]}": "data rows, the manifest says",
        f"core_banking/{day[1]}": "posting_date",
        f"call_center/{day[4]}": "not UTF-8",
        f"core_banking/{day[5]}": "missing from the header",
    }


def write_manifest_bytes(folder: Path) -> None:
    """A manifest for a folder whose file is not UTF-8: rows and checksum only (the conftest's
    helper reads text), with the rows the file had."""
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        manifest["files"][name]["sha256"] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_broken_delivery_among_many_takes_no_other_with_it(landing_copy: Path) -> None:
    # given the shared bank's deliveries, four of them broken and two damaged but loadable
    refused = break_deliveries(landing_copy / "landing")
    # when they are staged in one call, and again one delivery per call
    batched, alone, lake = stage_both_ways(landing_copy)
    # then exactly the broken ones are refused, naming their problem
    problems = {o.delivery.label: "; ".join(o.problems) for o in batched if o.refused}
    assert sorted(problems) == sorted(refused)
    for label, word in refused.items():
        assert word in problems[label], problems[label]
    # and the damaged ones load with their bad rows quarantined and the extra key reported
    quarantined = {f.source_file: f.rows_quarantined for o in batched for f in o.files if f.rows_quarantined}
    assert any(name.endswith("balances.csv") for name in quarantined)
    assert any(name.endswith("customers.csv") for name in quarantined)
    assert any(f.extra_columns == ["device_model"] for o in batched for f in o.files)
    # and everything else is what staging each delivery on its own gives, row for row
    assert_same_staging(batched, alone, lake)
