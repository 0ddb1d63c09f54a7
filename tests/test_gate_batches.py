"""The feed gate reads a run's staged rows one feed file at a time (issue 20: an initial load of
100,000 customers held 13.8 GB when every batch was read into pandas before the first check)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import expectations.batches
from expectations.batches import StagedBatches
from expectations.gates import run_gates
from extract.contract import load_agreement
from extract.lake import Lake
from extract.sql import literal
from tests.test_gates import DAY, Rows, clean, deliver, failure

RUN = "20261121T013000000000Z"


class CountedBatches(StagedBatches):
    """Staged batches that count what the gates read."""

    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, RUN, load_agreement(), {})
        self.reads: dict[str, int] = {}
        self.columns_read: list[tuple[str, str]] = []

    def __getitem__(self, name: str) -> pd.DataFrame:
        self.reads[name] = self.reads.get(name, 0) + 1
        return super().__getitem__(name)

    def slices(self, name: str, rows: int) -> Iterator[pd.DataFrame]:
        self.reads[name] = self.reads.get(name, 0) + 1
        return super().slices(name, rows)

    def _read(self, name: str, select: str, rows: bool = True, where: str = "true") -> pd.DataFrame:
        if select != "*":
            self.columns_read.append((name, select.removeprefix("distinct ").strip('"')))
        return super()._read(name, select, rows, where)


def staged(tmp_path: Path, rows: Rows) -> Lake:
    """A lake whose staging area holds `rows` as the extract stages a delivery (one Parquet file
    per feed file and business date)."""
    lake = Lake(tmp_path / "lake")
    agreement = load_agreement()
    with duckdb.connect() as con:
        for name, frame in deliver(rows).items():
            folder = lake.staging(RUN).feed_dir(agreement.file(*name.split("."))) / DAY
            folder.mkdir(parents=True)
            con.register("frame", frame)
            con.execute(f"copy frame to {literal(str(folder / 'part-0.parquet'))}")
            con.unregister("frame")
    return lake


def test_staged_batches_are_read_once_each_with_the_verdicts_of_batches_in_hand(tmp_path: Path) -> None:
    # given a run's staged delivery, whose transactions post on one unknown account, X2
    rows = clean()
    rows["core_banking.transactions"][1]["account_id"] = "X2"
    lake = staged(tmp_path, rows)
    batches = CountedBatches(lake)

    # when the gates read it from the staging area, and the same rows are gated from frames in hand
    report = run_gates(batches)
    in_hand = run_gates({name: StagedBatches(lake, RUN, load_agreement(), {})[name] for name in batches})

    # then every feed file was read once (in one slice or several), and the referenced files' key
    # columns alone, once each
    # (four suites reference the accounts' ids, two the customers')
    assert batches.reads == {name: 1 for name in batches} and set(batches) == set(clean())
    assert ("core_banking.accounts", "account_id") in batches.columns_read
    assert all(column.endswith("_id") for _, column in batches.columns_read)
    assert len(batches.columns_read) == len(set(batches.columns_read))
    # and the verdicts are those of the frames in hand, the unknown account among them
    assert report.results == in_hand.results and report.rows == in_hand.rows
    unknown = failure(report, "core_banking.transactions", "expect_column_values_to_be_in_set", "account_id")
    assert [example["account_id"] for example in unknown.examples] == ["X2"]


def test_a_batch_read_in_chunks_is_the_batch_read_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given 5,000 staged accounts, read 2,048 rows at a time (DuckDB's vector)
    rows = clean()
    account = rows["core_banking.accounts"][0]
    rows["core_banking.accounts"] = [{**account, "account_id": f"A{n}"} for n in range(5_000)]
    lake = staged(tmp_path, rows)
    monkeypatch.setattr(expectations.batches, "CHUNK_VECTORS", 1)

    # when read as the gates read it, and in one piece
    chunked = StagedBatches(lake, RUN, load_agreement(), {})["core_banking.accounts"]
    glob = lake.staging(RUN).feed_glob(load_agreement().file("core_banking", "accounts"))
    with duckdb.connect() as con:
        at_once = con.sql(
            f"select * from read_parquet({literal(glob)}, union_by_name = true, hive_partitioning = false)"
        ).df()

    # then it is the same frame, row for row, with the same types and index
    assert len(chunked) == 5_000
    assert chunked.equals(at_once) and list(chunked.dtypes) == list(at_once.dtypes)
    assert chunked.index.equals(pd.RangeIndex(5_000))
    # and each text column in one piece, as pandas hashes it fastest
    assert chunked["account_id"].array.__arrow_array__().num_chunks == 1


def test_no_feed_file_stays_in_memory_once_gated(tmp_path: Path) -> None:
    # given a run's staged delivery with 5,000 accounts, a row count no other frame here has
    rows = clean()
    account = rows["core_banking.accounts"][0]
    rows["core_banking.accounts"] = [{**account, "account_id": f"A{n}"} for n in range(5_000)]
    batches = StagedBatches(staged(tmp_path, rows), RUN, load_agreement(), {})

    # when the gates have read and validated every feed file
    report = run_gates(batches)
    assert report.rows["core_banking.accounts"] == 5_000

    # then no frame of the accounts is left alive: neither the staged rows nor the copy GX
    # validated (GX's context, which it keeps as its global project, held every batch it was
    # given, so every feed file gated stayed in memory while the bank rules ran after them)
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == 5_000]
    assert alive == []
