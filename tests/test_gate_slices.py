"""The feed gate validates a large feed file a slice of rows at a time (issue 20: GX's pandas work
on the largest file of an initial load, 5.4 M web events, peaked at 3.7 GB), and reports what
it would have reported on the whole file: the same gates.json, the same Data Docs figures. The
uniqueness checks, which need the whole file, run in DuckDB and count what GX counts."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import expectations.data_docs
from bankdw.config import load_settings
from expectations import _gx
from expectations.batches import StagedBatches, duplicate_rows
from expectations.config import GATES_TOML, load_gates_config
from expectations.gates import _map_figures, _validate, run_gates
from expectations.results import GateReport
from expectations.suites import SUITES_DIR
from extract.contract import load_agreement
from extract.lake import Lake
from extract.sql import literal
from tests.test_gates import BASE, Rows, clean, deliver, failure

RUN = "20261121T013000000000Z"
EVE = "2026-11-19"
SLICE = 7


class SlicedBatches(StagedBatches):
    """Staged batches that note the length of every slice the gate reads."""

    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, RUN, load_agreement(), {})
        self.slice_rows: dict[str, list[int]] = {}

    def slices(self, name: str, rows: int) -> Iterator[pd.DataFrame]:
        for frame in super().slices(name, rows):
            self.slice_rows.setdefault(name, []).append(len(frame))
            yield frame


def defective() -> Rows:
    """A delivery of two business dates with every kind of defect the gate tests use, spread
    over several slices of 7 rows: nulls, values out of range and out of their set, keys that
    repeat in another slice (and another file), unknown references."""
    rows = clean()
    customer, account, posting = (
        BASE["core_banking.customers"],
        BASE["core_banking.accounts"],
        BASE["core_banking.transactions"],
    )
    rows["core_banking.customers"] = [{**customer, "customer_id": f"C{n}"} for n in range(1, 21)] + [
        {**customer, "customer_id": "C3", "full_name": "Li Wei (branch 7)"},  # row 21: C3 of row 3 again
        {**customer, "customer_id": "C5", "_business_date": EVE},  # another date: not a duplicate
    ]
    rows["core_banking.accounts"] = [
        {**account, "account_id": f"A{n}", "customer_id": f"C{n % 20 + 1}"} for n in range(1, 31)
    ] + [{**account, "account_id": "A15"}]
    for n in (4, 12, 26):
        rows["core_banking.accounts"][n - 1]["interest_rate"] = "250.0000"
    rows["core_banking.accounts"][8]["customer_id"] = "C999"
    rows["core_banking.transactions"] = [
        {
            **posting,
            "txn_id": f"T{n}",
            "account_id": f"A{n % 30 + 1}",
            **({"_business_date": EVE, "posting_date": EVE} if n <= 10 else {}),
        }
        for n in range(1, 41)
    ] + [{**posting, "txn_id": "T12"}, {**posting, "txn_id": "T1"}]
    postings = rows["core_banking.transactions"]
    for n in (2, 5, 8, 11, 14, 17, 20, 23, 26):  # nine nulls, in four slices
        postings[n - 1]["amount"] = None
    postings[5]["channel"], postings[29]["channel"] = "TELEX", "TELEX"
    postings[2]["account_id"], postings[32]["account_id"] = "X2", "X3"
    balance = BASE["core_banking.balances"]
    rows["core_banking.balances"] = [{**balance, "account_id": f"A{n}"} for n in range(1, 31)]
    rows["core_banking.balances"] += [{**balance, "account_id": "A7"}, {**balance, "account_id": "X5"}]
    event = BASE["online_banking.events"]
    rows["online_banking.events"] = [{**event, "event_id": f"E{n}", "session_id": f"S{n}"} for n in range(1, 26)]
    rows["online_banking.events"] += [{**event, "event_id": "E3"}, {**event, "event_id": "E20"}]
    rows["online_banking.events"][4]["event_type"] = rows["online_banking.events"][17]["event_type"] = "CHATBOT_OPEN"
    rows["online_banking.events"][10]["session_id"] = None
    party = BASE["core_banking.account_parties"]
    rows["core_banking.account_parties"] = [
        {**party, "account_id": f"A{n}", "customer_id": f"C{n % 20 + 1}"} for n in range(1, 21)
    ]
    rows["core_banking.account_parties"][2]["customer_id"] = None  # (A3, null) twice: GX counts both
    rows["core_banking.account_parties"].append({**party, "account_id": "A3", "customer_id": None, "role": "JOINT"})
    call = BASE["call_center.calls"]
    rows["call_center.calls"] = [{**call, "call_id": f"K{n}"} for n in range(1, 16)]
    rows["call_center.calls"][1]["csat_score"] = rows["call_center.calls"][13]["csat_score"] = "7"
    return rows


def staged(tmp_path: Path, rows: Rows) -> Lake:
    """A lake whose staging area holds `rows` as the extract stages them: a folder per business
    date, here two Parquet files in each, so that a read crosses files."""
    lake = Lake(tmp_path / "lake")
    agreement = load_agreement()
    with duckdb.connect() as con:
        for name, frame in deliver(rows).items():
            feed_dir = lake.staging(RUN).feed_dir(agreement.file(*name.split(".")))
            for day, rows_of_day in frame.groupby(frame["_business_date"].astype(str), sort=True):
                folder = feed_dir / f"business_date={day}"
                folder.mkdir(parents=True)
                half = (len(rows_of_day) + 1) // 2
                for part, piece in enumerate((rows_of_day.iloc[:half], rows_of_day.iloc[half:])):
                    con.register("piece", piece.reset_index(drop=True))
                    con.execute(f"copy piece to {literal(str(folder / f'part-{part}.parquet'))}")
                    con.unregister("piece")
    return lake


def _report(path: Path) -> dict[str, Any]:
    report = json.loads((path / "gates.json").read_text(encoding="utf-8"))
    report.pop("seconds")
    return report


def _pages(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, ...]]]:
    """What the gate hands to each Data Docs page, by feed file: per result its check, verdict and figures."""
    pages: dict[str, list[tuple[Any, ...]]] = {}
    write = expectations.data_docs.write_validation_page

    def spy(validation: Any, path: Path, severities: Any = None) -> Path:
        pages[path.stem] = [
            (
                r.expectation_config.type,
                {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"},
                r.success,
                r.result,
            )
            for r in validation.results
        ]
        pages[path.stem].append(("page", validation.success, validation.statistics["unsuccessful_expectations"]))
        return write(validation, path, severities)

    monkeypatch.setattr(expectations.data_docs, "write_validation_page", spy)
    return pages


def _comparable(pages: dict[str, list[tuple[Any, ...]]]) -> str:
    """The pages' results as text: a null amount is NaN, which equals no other NaN."""
    return json.dumps(pages, sort_keys=True, default=str)


def _all_pages(tmp_path: Path) -> Any:
    path = tmp_path / "gates.toml"
    path.write_text(GATES_TOML.read_text(encoding="utf-8").replace('data_docs = "problems"', 'data_docs = "all"'))
    return load_gates_config(path)


def test_a_file_gated_in_slices_gets_the_report_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a staged delivery of two dates, with defects in every slice of 7 rows
    lake = staged(tmp_path, defective())
    config = _all_pages(tmp_path)
    pages = _pages(monkeypatch)

    # when gated 7 rows at a time, and whole
    sliced = SlicedBatches(lake)
    run_gates(sliced, report_dir=tmp_path / "sliced", config=config, docs_dir=tmp_path / "sliced", slice_rows=SLICE)
    sliced_pages = dict(pages)
    whole = SlicedBatches(lake)
    report = run_gates(whole, report_dir=tmp_path / "whole", config=config, docs_dir=tmp_path / "whole", slice_rows=0)

    # then the files were read in slices of 7 (the transactions in 7), and whole the second time
    assert sliced.slice_rows["core_banking.transactions"] == [7, 7, 7, 7, 7, 7]
    assert all(max(lengths) <= SLICE for lengths in sliced.slice_rows.values())
    assert whole.slice_rows["core_banking.transactions"] == [42]
    # and the reports are the same, the seconds aside
    assert _report(tmp_path / "sliced") == _report(tmp_path / "whole")
    # and so are the Data Docs pages' results, one page per feed file
    assert _comparable(sliced_pages) == _comparable(pages) and set(pages) == set(clean())
    assert {p.name for p in (tmp_path / "sliced").glob("*.html")} == {f"{name}.html" for name in clean()}
    # where the uniqueness check, run in DuckDB, has its entry with GX's figures
    page = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", (tmp_path / "sliced" / "core_banking.transactions.html").read_text())
    )
    assert "values must be unique. 4 unexpected values found. ≈9.524% of 42 total rows." in page
    _assert_defects_found(report)


def _assert_defects_found(report: GateReport) -> None:
    """The defects of `defective()`, each named by file and row as a whole-file validation names them."""
    transactions = "core_banking.transactions"
    nulls = failure(report, transactions, "expect_column_values_to_not_be_null", "amount")
    assert nulls.unexpected_count == 9
    assert [(e["_source_file"][-20:], e["_source_row"]) for e in nulls.examples] == [
        ("-19/transactions.csv", 2),
        ("-19/transactions.csv", 5),
        ("-19/transactions.csv", 8),
        ("-20/transactions.csv", 1),
        ("-20/transactions.csv", 4),
    ]
    duplicates = failure(report, transactions, "expect_column_values_to_be_unique", "txn_id")
    assert duplicates.unexpected_count == 4  # T1 and T12, each twice: every row of a repeated key
    assert [(e["txn_id"], e["_source_row"]) for e in duplicates.examples] == [
        ("T1", 1),
        ("T12", 2),
        ("T12", 31),
        ("T1", 32),
    ]
    unknown = failure(report, transactions, "expect_column_values_to_be_in_set", "account_id")
    assert [(e["account_id"], e["_source_row"]) for e in unknown.examples] == [("X2", 3), ("X3", 23)]
    customers = failure(
        report, "core_banking.customers", "expect_compound_columns_to_be_unique", "customer_id, _business_date"
    )
    assert [e["_source_row"] for e in customers.examples] == [3, 21]
    parties = failure(
        report,
        "core_banking.account_parties",
        "expect_compound_columns_to_be_unique",
        "account_id, customer_id, _business_date",
    )
    assert parties.unexpected_count == 2 and [e["_source_row"] for e in parties.examples] == [3, 21]
    events = failure(report, "online_banking.events", "expect_column_values_to_be_unique", "event_id")
    assert (events.severity, events.unexpected_count) == ("warning", 4)
    rates = failure(report, "core_banking.accounts", "expect_column_values_to_be_between", "interest_rate")
    assert [e["_source_row"] for e in rates.examples] == [4, 12, 26]
    assert (
        failure(report, "core_banking.balances", "expect_column_values_to_be_in_set", "account_id").unexpected_count
        == 1
    )
    assert (
        failure(report, "call_center.calls", "expect_column_values_to_be_between", "csat_score").unexpected_count == 2
    )


# Not "duckdb": its numpy types are the staged batches' (the test above); each flavour costs a
# GX validation per slice of every feed file, about a minute of the suite's CPU.
@pytest.mark.parametrize("flavour", ["pyarrow", "arrow_dtype"])
def test_frames_in_hand_gated_in_slices_get_the_report_of_the_whole_frame(flavour: str, tmp_path: Path) -> None:
    # given the defective delivery as frames in hand, in each shape a caller may hold
    batches = deliver(defective(), flavour)

    # when gated 7 rows at a time, and whole
    run_gates(batches, report_dir=tmp_path / "sliced", slice_rows=SLICE)
    run_gates(batches, report_dir=tmp_path / "whole", slice_rows=0)

    # then the reports are the same
    assert _report(tmp_path / "sliced") == _report(tmp_path / "whole")
    assert _report(tmp_path / "whole")["outcome"] == "FAILED"


def test_a_clean_delivery_in_slices_passes_as_whole(tmp_path: Path) -> None:
    # given a clean staged delivery of two dates, several slices per feed file
    rows = defective()
    clean_rows = clean()
    clean_rows["core_banking.customers"] = rows["core_banking.customers"][:20]
    clean_rows["online_banking.events"] = [
        {**BASE["online_banking.events"], "event_id": f"E{n}", "session_id": f"S{n}"} for n in range(1, 30)
    ]
    lake = staged(tmp_path, clean_rows)

    # when gated 7 rows at a time, and whole
    sliced = run_gates(SlicedBatches(lake), report_dir=tmp_path / "sliced", slice_rows=SLICE)
    run_gates(SlicedBatches(lake), report_dir=tmp_path / "whole", slice_rows=0)

    # then both pass, with the same report
    assert sliced.failed == [], sliced.summary_lines()
    assert _report(tmp_path / "sliced") == _report(tmp_path / "whole")


@pytest.mark.parametrize(("mostly", "passes"), [(0.5, True), (0.6, False)])
def test_mostly_is_judged_on_the_whole_file(tmp_path: Path, mostly: float, passes: bool) -> None:
    # given a suite that wants user_id on at least `mostly` of the web events, and 14 events
    # whose first 7 (the first slice) have one and the last 7 none: alone, the second slice fails
    suites = tmp_path / "suites"
    shutil.copytree(SUITES_DIR, suites)
    path = suites / "online_banking.events.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "user_id", "mostly": mostly},
            "meta": {"severity": "blocking"},
        }
    )
    path.write_text(json.dumps(suite), encoding="utf-8")
    event = BASE["online_banking.events"]
    rows = {
        "online_banking.events": [
            {**event, "event_id": f"E{n}", "user_id": f"U{n}" if n <= SLICE else None} for n in range(1, 15)
        ]
    }
    batches = deliver(rows)

    # when gated 7 rows at a time, and whole
    sliced = run_gates(batches, suites_dir=suites, report_dir=tmp_path / "sliced", slice_rows=SLICE)
    run_gates(batches, suites_dir=suites, report_dir=tmp_path / "whole", slice_rows=0)

    # then the verdict is the whole file's: half the events have a user
    (check,) = [r for r in sliced.results if r.column == "user_id"]
    assert (check.success, check.unexpected_count) == (passes, 7)
    assert _report(tmp_path / "sliced") == _report(tmp_path / "whole")


def _gx_result(frame: pd.DataFrame, expectation: dict[str, Any]) -> dict[str, Any]:
    """GX's own result of `expectation` on the whole of `frame`."""
    suite = {"name": "fixture", "expectations": [{**expectation, "meta": {"severity": "blocking"}}]}
    (result,) = _validate(_gx.ephemeral_context(), "fixture", frame, suite, {}).results
    return dict(result.result)


KEYS = pd.DataFrame(
    {
        "_source_file": ["f"] * 11,
        "_source_row": range(1, 12),
        "a": ["x", "x", None, None, "y", "z", "y", None, "w", "w", "q"],
        "b": ["1", "1", "1", "1", None, None, None, None, None, "2", "1"],
    }
)


@pytest.mark.parametrize(
    "expectation",
    [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["a", "b"]}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "b"}},
    ],
)
def test_duckdb_counts_repeated_keys_as_gx_does(expectation: dict[str, Any]) -> None:
    # given keys that repeat, with nulls among them (a null equals a null in a compound key;
    # a single column's nulls, and a compound key's rows of nulls only, are not judged)
    kwargs = expectation["kwargs"]
    columns = [kwargs["column"]] if "column" in kwargs else kwargs["column_list"]

    # when GX judges them, and DuckDB
    gx = _gx_result(KEYS, expectation)
    with duckdb.connect() as con:
        con.register("batch", KEYS.assign(position=range(len(KEYS))))
        considered, unexpected, found = duplicate_rows(con, "batch", columns, "position")

    # then every row of a repeated key counts, and the same rows come first
    assert unexpected == gx["unexpected_count"] > 0
    assert list(found["position"]) == gx["partial_unexpected_index_list"]
    figures = _map_figures(len(KEYS), considered, unexpected, with_missing=True)
    assert figures == {key: gx[key] for key in figures}


def test_duckdb_finds_repeated_keys_of_staged_files_in_the_order_of_the_read(tmp_path: Path) -> None:
    # given staged transactions in four Parquet files (two dates, two parts each), T1 and T12 twice
    lake = staged(tmp_path, defective())
    batches = StagedBatches(lake, RUN, load_agreement(), {})
    name = "core_banking.transactions"
    whole = batches[name]

    # when DuckDB looks for repeated txn_id in the Parquet, and GX in the whole file read at once
    considered, unexpected, found = batches.duplicates(name, ["txn_id"])
    gx = _gx_result(whole, {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "txn_id"}})

    # then both count the same rows and name the same first ones, file and row
    assert (considered, unexpected) == (len(whole), gx["unexpected_count"]) == (42, 4)
    at_positions = whole.iloc[gx["partial_unexpected_index_list"]]
    assert found[["_source_file", "_source_row"]].equals(
        at_positions[["_source_file", "_source_row"]].reset_index(drop=True)
    )


def test_a_file_is_read_in_slices_each_row_once(tmp_path: Path) -> None:
    # given staged transactions of 42 rows in four Parquet files
    batches = StagedBatches(staged(tmp_path, defective()), RUN, load_agreement(), {})
    name = "core_banking.transactions"

    # when read 7, 5 or 1,000 rows at a time
    for rows, lengths in ((7, [7] * 6), (5, [5] * 8 + [2]), (1_000, [42])):
        slices = list(batches.slices(name, rows))
        # then the slices are the file in order, each row once, indexed from 0
        assert [len(s) for s in slices] == lengths
        assert pd.concat(slices, ignore_index=True).equals(batches[name])
        assert all(s.index.equals(pd.RangeIndex(len(s))) for s in slices)


def test_the_slice_size_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKDW_GATE_SLICE_ROWS", "250000")
    assert load_settings().gate_slice_rows == 250_000
    monkeypatch.setenv("BANKDW_GATE_SLICE_ROWS", "-1")
    with pytest.raises(ValueError, match="gate_slice_rows"):
        load_settings()


def test_an_empty_staged_file_is_one_empty_slice_gated_as_before(tmp_path: Path) -> None:
    # given a staged calls file without rows (a re-delivery of an empty file stages one)
    lake = staged(tmp_path, clean())
    folder = lake.staging(RUN).feed_dir(load_agreement().file("call_center", "calls"))
    (part,) = [p for p in folder.glob("*/*.parquet") if p.name == "part-0.parquet"]
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet({literal(str(part))}) limit 0) to {literal(str(tmp_path / 'e.parquet'))}"
        )
    for path in folder.glob("*/*.parquet"):
        path.unlink()
    (tmp_path / "e.parquet").rename(part)
    batches = SlicedBatches(lake)

    # when read and gated in slices of 7, and whole
    (empty,) = batches.slices("call_center.calls", SLICE)
    sliced = run_gates(batches, report_dir=tmp_path / "sliced", slice_rows=SLICE)
    run_gates(batches, report_dir=tmp_path / "whole", slice_rows=0)

    # then it is one slice of no rows with the file's columns, and every check of the file passes
    assert len(empty) == 0 and "call_id" in empty.columns
    assert sliced.rows["call_center.calls"] == 0
    assert [r for r in sliced.results if r.feed == "call_center.calls" and not r.success] == []
    assert _report(tmp_path / "sliced") == _report(tmp_path / "whole")


def test_gx_does_not_fingerprint_the_frames_it_validates() -> None:
    # given a frame validated as the gate validates a slice
    frame = pd.DataFrame({"customer_id": [f"C{n}" for n in range(1_000)]})
    suite = {
        "name": "s",
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}}],
    }
    validated = _validate(_gx.ephemeral_context(), "fixture", frame, suite, {})
    # then it was validated, and GX did not hash the whole frame for a batch marker nothing reads
    assert validated.success and validated.results[0].result["element_count"] == 1_000
    assert "pandas_data_fingerprint" not in validated.meta["batch_markers"]
