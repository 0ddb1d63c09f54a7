"""A run's staged rows, one feed file at a time, as the feed gates read them.

An initial load stages tens of millions of rows. Read into pandas all at once, before the first
check, they held 13.8 GB at 100,000 customers x 20 days (bench/bench_scale.py). The gates
validate one feed file at a time (`expectations.gates.run_gates`), so this mapping reads a feed
file's rows when the gates come to it and keeps nothing. A feed file larger than the gate's
slice (setting `gate_slice_rows`) is read a slice of rows at a time (`slices`), in one ordered
pass, so the gate's peak is one slice in pandas and GX's work on it, not the largest file. What
needs the whole file is asked of DuckDB over the staged Parquet: the keys that repeat
(`duplicates`) and, for a reference check, the distinct values of the referenced column of the
other feed file, read once (`reference_keys`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator, Mapping, Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from extract.contract import FeedAgreement
from extract.lake import Lake
from extract.sql import DuckDBConfig, ident, literal

CHUNK_VECTORS = 100
"""DuckDB vectors (2,048 rows each) per chunk fetched into pandas."""
DEFAULT_SLICE_ROWS = 1_000_000
"""Rows of a feed file that the gate validates at once (setting `gate_slice_rows`): GX's pandas
work costs about 700 bytes a row at its peak, so the gate's peak follows the slice, not the file:
1.2 GB for 5 M web events in slices of a million, 3.5 GB whole, in the same time
(bench/bench_gate_slices.py; docs/performance.md, "GX in slices of rows")."""
EXAMPLES = 5
"""Failing rows a check reports (as expectations.gates)."""


class StagedBatches(Mapping[str, pd.DataFrame]):
    """`"<system>.<file>"` -> the run's staged rows of that feed file, read from the staged
    Parquet on each access (no frame is kept: the caller holds one as long as it needs it).
    Only the feed files the run staged rows for are keys."""

    def __init__(self, lake: Lake, run_id: str, agreement: FeedAgreement, duckdb_config: DuckDBConfig) -> None:
        staging = lake.staging(run_id)
        self._globs = {
            feed.qualified_name: staging.feed_glob(feed)
            for feed in agreement.files
            if any(staging.feed_dir(feed).glob("*/*.parquet"))
        }
        self._config = dict(duckdb_config)
        self._keys: dict[tuple[str, str], pd.Series | None] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._read(name, "*")

    def __iter__(self) -> Iterator[str]:
        return iter(self._globs)

    def __len__(self) -> int:
        return len(self._globs)

    def __contains__(self, name: object) -> bool:  # Mapping's own would read the batch to find out
        return name in self._globs

    def columns(self, name: str) -> list[str]:
        """The columns of feed file `name`'s staged rows, read from the Parquet schemas alone."""
        return [str(column) for column in self._read(name, "*", rows=False).columns]

    def slices(self, name: str, rows: int) -> Iterator[pd.DataFrame]:
        """Feed file `name`'s staged rows, `rows` at a time (0: all of them at once), in the order
        of one read (the order `self[name]` has): each row once, the last slice the remainder, an
        empty file one empty slice. One query streams the whole file; a slice is in pandas only
        while the caller holds it, and DuckDB holds a few chunks ahead of it."""
        with duckdb.connect(config=self._config) as con:
            con.execute(self._query(name, "*"))
            chunk = con.fetch_df_chunk(CHUNK_VECTORS)
            empty = chunk.iloc[:0].copy()  # an empty file's slice, with its columns and types
            held, yielded = 0, False
            pending: list[pd.DataFrame] = []
            while len(chunk):
                take = len(chunk) if not rows else min(len(chunk), rows - held)
                pending.append(chunk.iloc[:take])
                held += take
                chunk = chunk.iloc[take:]
                if rows and held == rows:
                    yield _joined(_taken(pending))  # the generator keeps no reference to the slice
                    held, yielded = 0, True
                if not len(chunk):
                    chunk = con.fetch_df_chunk(CHUNK_VECTORS)
            if pending or not yielded:
                yield _joined(_taken(pending) or [empty])

    def duplicates(self, name: str, columns: Sequence[str]) -> tuple[int, int, pd.DataFrame]:
        """Feed file `name`'s rows whose `columns` repeat, found by DuckDB over the staged Parquet
        (see `duplicate_rows`): the rows judged, the rows of a repeated key, and the first
        `EXAMPLES` of them in the order of `slices` (the Parquet files in name order, each in its
        row order: how DuckDB reads a glob)."""
        source = (
            f"read_parquet({literal(self._globs[name])}, union_by_name = true, hive_partitioning = false, "
            "filename = true, file_row_number = true)"
        )
        with duckdb.connect(config=self._config) as con:
            return duplicate_rows(con, source, columns, "filename, file_row_number")

    def reference_keys(self, name: str, column: str) -> pd.Series | None:
        """The distinct non-null values of `column` in feed file `name`'s batch (None if the batch
        has no such column): what a reference check needs of the file it references. Read once
        and kept (keys, not rows: 270 k account ids where the batch holds 5.4 M account rows),
        since several files reference the same keys (four reference the accounts)."""
        if (name, column) not in self._keys:
            if column not in self._read(name, "*", rows=False).columns:
                self._keys[name, column] = None
            else:
                self._keys[name, column] = self._read(
                    name, f"distinct {ident(column)}", where=f"{ident(column)} is not null"
                )[column]
        return self._keys[name, column]

    def _query(self, name: str, select: str, where: str = "true") -> str:
        # hive_partitioning off: the date is a column; DuckDB would add another from the folder names.
        return (
            f"select {select} from read_parquet({literal(self._globs[name])}, "
            f"union_by_name = true, hive_partitioning = false) where {where}"
        )

    def _read(self, name: str, select: str, rows: bool = True, where: str = "true") -> pd.DataFrame:
        query = self._query(name, select, where)
        with duckdb.connect(config=self._config) as con:
            if not rows:
                return con.sql(f"{query} limit 0").df()
            # Chunk by chunk: `.df()` of the whole result holds DuckDB's copy of it beside pandas'
            # (1.4 M web events: 2.3 GB at the peak for 384 MB in pandas); in chunks, 0.9 GB and
            # the same frame, dtypes included.
            con.execute(query)
            parts = [con.fetch_df_chunk(CHUNK_VECTORS)]
            while len(parts[-1]):
                parts.append(con.fetch_df_chunk(CHUNK_VECTORS))
        filled = [part for part in parts if len(part)] or parts[:1]
        return _contiguous(pd.concat(filled, ignore_index=True)) if len(filled) > 1 else filled[0]


def duplicate_rows(
    con: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str], order: str
) -> tuple[int, int, pd.DataFrame]:
    """The rows of `source` (a table, view or table function) whose `columns` repeat, as GX's
    pandas uniqueness checks count them: every row of a repeated key (both rows of a pair), nulls
    equal to each other (pandas' `duplicated`), rows whose key columns are all null not judged
    (the single column check ignores nulls; the compound one rows all of whose columns are null).
    Returns the rows judged, the rows of a repeated key, and the first `EXAMPLES` of those by
    `order`, with `_source_file`, `_source_row`, the key columns and `order`'s columns.

    In DuckDB rather than GX: a key can repeat anywhere in a feed file, so GX would need the whole
    file in pandas (about 700 bytes a row at its peak); DuckDB's aggregate spills to
    `duckdb_temp_dir` beyond `duckdb_memory_limit` instead of growing."""
    keys = ", ".join(ident(column) for column in columns)
    judged = " or ".join(f"{ident(column)} is not null" for column in columns)
    same = " and ".join(f"rows.{ident(c)} is not distinct from repeated.{ident(c)}" for c in columns)
    con.execute(
        f"create or replace temp table repeated as select {keys}, count(*) as n from {source} "
        f"where {judged} group by all having count(*) > 1"
    )
    considered = int(con.sql(f"select count(*) from {source} where {judged}").fetchall()[0][0])
    unexpected = int(con.sql("select coalesce(sum(n), 0) from repeated").fetchall()[0][0])
    examples = con.sql(
        f"select rows._source_file, rows._source_row, {', '.join(f'rows.{ident(c)}' for c in columns)}, {order} "
        f"from {source} as rows semi join repeated on {same} order by {order} limit {EXAMPLES}"
    ).df()
    return considered, unexpected, examples


def release_freed_memory() -> None:
    """Hand the memory of freed frames back to the operating system.

    A frame the gates let go is freed, but the allocators keep its pages for reuse: glibc's
    malloc (numpy's columns) and Arrow's pool (text columns, mimalloc), so the process's resident
    set stays at its largest feed file and the bank rules' DuckDB comes on top of it. A
    10,000-customer bank's 20 days staged, the gate step alone (2026-12-03): a peak of 1.42 GB
    without this, 1.12 GB with it (docs/performance.md, "The gate's memory"). Costs a few
    milliseconds; on a system without glibc's `malloc_trim` only Arrow's pool is released."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: no malloc_trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _taken(parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The items of `parts`, which is left empty."""
    taken = parts[:]
    parts.clear()
    return taken


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of consecutive chunks (or pieces of chunks), indexed 0..n-1."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return _contiguous(pd.concat(parts, ignore_index=True))


def _contiguous(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each Arrow-backed column (text) in one piece: concatenated, they hold one
    piece per chunk, and pandas' hashing (`duplicated`, GX's uniqueness checks) is then about
    1.8x slower (4.0 s instead of 2.3 s for 5.7 M event ids)."""
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.StringDtype | pd.ArrowDtype) and hasattr(column.array, "__arrow_array__"):
            pieces = column.array.__arrow_array__()
            if isinstance(pieces, pa.ChunkedArray) and pieces.num_chunks > 1:
                frame[name] = pd.Series(pd.array(pieces.combine_chunks(), dtype=column.dtype), index=frame.index)
    return frame
