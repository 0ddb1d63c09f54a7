"""A run's staged rows, one feed file at a time, as the feed gates read them.

An initial load stages tens of millions of rows. Read into pandas all at once, before the first
check, they held 13.8 GB at 100,000 customers x 20 days (bench/bench_scale.py). The gates
validate one feed file at a time (`expectations.gates.run_gates`), so this mapping reads a feed
file's rows when the gates come to it and keeps nothing: the gate's peak is the largest feed
file in pandas, not the sum of all of them. A reference check reads only the distinct values of
the referenced column of the other feed file, once (`reference_keys`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from extract.contract import FeedAgreement
from extract.lake import Lake
from extract.sql import DuckDBConfig, ident, literal

CHUNK_VECTORS = 100
"""DuckDB vectors (2,048 rows each) per chunk fetched into pandas."""


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

    def _read(self, name: str, select: str, rows: bool = True, where: str = "true") -> pd.DataFrame:
        # hive_partitioning off: the date is a column; DuckDB would add another from the folder names.
        query = (
            f"select {select} from read_parquet({literal(self._globs[name])}, "
            f"union_by_name = true, hive_partitioning = false) where {where}"
        )
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
