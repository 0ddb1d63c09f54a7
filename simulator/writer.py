"""Files exactly as the agreement describes them, and deliveries with their manifest.

CSV: UTF-8, one header row in the agreement's column order, RFC 4180 quoting (a field is
quoted when it holds a comma, a quote, a line break or leading/trailing blanks), `\\n` line
ends, empty field = null. JSON lines: one object per line with every column as a key, null
for empty, decimals as strings (exact, never floats), gzip with mtime 0 so that the same
bank is the same bytes. A delivery's `_manifest.json` is written last, after every file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip

from extract.contract import load_agreement
from extract.landing import MANIFEST_NAME, Manifest, ManifestFile

from .formats import replace_at


@dataclass(frozen=True)
class LandedFile:
    """One file of a delivery, rendered: its name, bytes, data rows and control totals.

    The CSV files give `parts` instead of `content`: the header, then the rendered lines'
    buffers (snapshots and daily files render them a chunk of rows at a time), written and
    hashed piece by piece, so a whole file is never copied or held at once. `whole()` gives
    the bytes where they are needed (a file cut short or missing rows, on request)."""

    name: str
    content: bytes
    rows: int
    control_totals: dict[str, str] | None = None
    parts: Callable[[], Iterator[bytes | pa.Buffer]] | None = None

    def pieces(self) -> Iterator[bytes | pa.Buffer]:
        if self.parts is None:
            yield self.content
        else:
            yield from self.parts()

    def whole(self) -> LandedFile:
        """The same file with all its bytes in `content`."""
        return self if self.parts is None else replace(self, content=b"".join(self.parts()), parts=None)


class Feed(Protocol):
    """What a source system delivers for one business date."""

    def files(self, day: int) -> list[LandedFile]: ...


def _plain(values: pa.Array) -> bool:
    """A fast screen: no value holds a character that needs quoting (byte search on the joined column)."""
    blob = _join_lines(values)
    if any(special in blob for special in (b",", b'"', b"\r", b"\t", b" \n", b"\n ")) or blob.startswith(b" "):
        return False
    return blob.count(b"\n") == len(values)


def _csv_field(values: pa.Array) -> pa.Array:
    """RFC 4180: quote a field holding a comma, a quote, a line break or a tab, or spaces at either end."""
    values = pc.fill_null(pc.cast(values, pa.string()), "")
    if _plain(values):
        return values
    needs = pc.or_(pc.starts_with(values, " "), pc.ends_with(values, " "))
    for special in (",", '"', "\n", "\r", "\t"):
        needs = pc.or_(needs, pc.match_substring(values, special))
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def _join_lines(lines: pa.Array) -> bytes:
    """Every value followed by `\\n`, as one UTF-8 byte string (to screen a column's values)."""
    if len(lines) == 0:
        return b""
    lines = pc.cast(lines, pa.large_string())
    joined = pc.binary_join(
        pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines),
        pa.scalar("\n", pa.large_string()),
    )
    return joined[0].as_buffer().to_pybytes() + b"\n"


def content(lines: pa.Array) -> bytes:
    """The bytes of a file whose lines are `lines` (each ends with its `\\n`, as `csv_lines` and
    `json_lines` render them): the lines are contiguous in the array's data buffer, so this is
    a single copy, not a join."""
    return _data(lines).to_pybytes()


def _data(lines: pa.Array) -> pa.Buffer:
    """The bytes of `lines`, without copying them (a slice of the array's data buffer)."""
    if len(lines) == 0:
        return pa.py_buffer(b"")
    if not (pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type)):
        raise TypeError(f"lines must be strings, not {lines.type}")
    if lines.null_count:
        raise ValueError("a file's lines cannot be null")
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    _, offsets, data = lines.buffers()
    assert offsets is not None and data is not None
    bounds = np.frombuffer(offsets, width, count=len(lines) + 1, offset=lines.offset * np.dtype(width).itemsize)
    return data.slice(int(bounds[0]), int(bounds[-1] - bounds[0]))


T = TypeVar("T")

SNAPSHOT_CHUNK = 200_000
"""Rows of a snapshot rendered at a time (some 50 MB of lines)."""

_PLAIN_TYPES = {"date", "timestamp", "decimal", "integer", "boolean"}


@cache
def _plain_columns(system: str, name: str) -> frozenset[str]:
    """Columns whose values can never need quoting: numbers, dates, timestamps, plain enums."""
    feed = load_agreement().file(system, name)
    return frozenset(
        c.name
        for c in feed.columns
        if c.type in _PLAIN_TYPES or (c.type == "enum" and all(v.isidentifier() for v in c.values or ()))
    )


def csv_lines(table: pa.Table, plain: frozenset[str] = frozenset()) -> pa.Array:
    """The data lines of a CSV file, one per row, each ending with `\\n`; `plain` columns are not
    screened for characters that need quoting (they cannot hold any)."""
    return _csv_lines(dict(zip(table.column_names, table.columns, strict=True)), table.num_rows, plain)


def _csv_lines(columns: dict[str, pa.Array | pa.ChunkedArray | str], n: int, plain: frozenset[str]) -> pa.Array:
    """Lines from columns in file order; a column given as a string has that value in every row
    and is joined as a literal (it must need no quoting)."""
    if n == 0:
        return pa.array([], pa.string())
    fields: list[pa.Array | pa.Scalar] = []
    for name, column in columns.items():
        if isinstance(column, str):
            if _csv_field(pa.array([column])).to_pylist() != [column]:
                raise ValueError(f"{name}: constant {column!r} would need quoting")
            fields.append(pa.scalar(column, pa.string()))
        else:
            values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            fields.append(pc.fill_null(values, "") if name in plain else _csv_field(values))
    # one join with a separator, then the line end: Arrow joins much faster with a separator
    # than with literals between the fields
    if not any(isinstance(f, pa.Array) for f in fields):
        joined = pa.array([",".join(str(f.as_py()) for f in fields)] * n, pa.string())
    else:
        joined = pc.binary_join_element_wise(*fields, ",") if len(fields) > 1 else fields[0]
    return pc.binary_join_element_wise(joined, "\n", "")


def encode_csv(table: pa.Table) -> bytes:
    header = ",".join(table.column_names).encode("utf-8") + b"\n"
    return header + content(csv_lines(table))


def feed_table(system: str, name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The columns of one feed file in the agreement's order; refuses a missing or extra column."""
    return pa.table(_in_order(system, name, columns))


def _in_order(system: str, name: str, columns: dict[str, T]) -> dict[str, T]:
    expected = load_agreement().file(system, name).column_names
    if sorted(columns) != sorted(expected):
        raise ValueError(f"{system}/{name}: columns {sorted(columns)} differ from the agreement {expected}")
    return {column: columns[column] for column in expected}


def _landed(system: str, name: str, lines: pa.Array, control_totals: dict[str, str] | None) -> LandedFile:
    feed = load_agreement().file(system, name)
    if set(feed.control_totals) != set(control_totals or {}):
        raise ValueError(f"{system}/{name}: control totals {control_totals} differ from {feed.control_totals}")
    header = ",".join(feed.column_names).encode("utf-8") + b"\n"
    # the header, then the lines straight from their buffer: the file is never copied whole
    return LandedFile(f"{name}.csv", b"", len(lines), control_totals or None, lambda: iter((header, _data(lines))))


def csv_file(
    system: str,
    name: str,
    columns: dict[str, pa.Array | str],
    control_totals: dict[str, str] | None = None,
    generated: frozenset[str] = frozenset(),
) -> LandedFile:
    """A CSV feed file from its columns; the agreement's control totals must be given, exact.
    `generated` names string columns the simulator builds from digits and letters only
    (identifiers, codes), which need no quoting either. A column given as a string (the
    business date, the currency) has that value in every row."""
    return _landed(system, name, _file_lines(system, name, columns, generated), control_totals)


def _file_lines(
    system: str, name: str, columns: dict[str, pa.Array | str], generated: frozenset[str] = frozenset()
) -> pa.Array:
    arrays = [c for c in columns.values() if not isinstance(c, str)]
    if not arrays:
        raise ValueError(f"{system}/{name}: at least one column must be an array (the number of rows)")
    if len({len(c) for c in arrays}) != 1:
        raise ValueError(f"{system}/{name}: columns of different lengths")
    ordered = _in_order(system, name, columns)
    return _csv_lines(ordered, len(arrays[0]), _plain_columns(system, name) | generated)


def chunked_csv_file(
    system: str,
    name: str,
    rows: int,
    columns: Callable[[np.ndarray], dict[str, pa.Array | str]],
    control_totals: dict[str, str] | None = None,
    generated: frozenset[str] = frozenset(),
) -> LandedFile:
    """A CSV feed file of `rows` rows whose columns are built and rendered a chunk of rows at a
    time while the file is written (`columns(index)` gives the columns of those rows): a
    large bank's daily file is never whole in memory, nor are its columns."""
    header = ",".join(load_agreement().file(system, name).column_names).encode("utf-8") + b"\n"

    def parts() -> Iterator[bytes | pa.Buffer]:
        yield header
        for start in range(0, rows, SNAPSHOT_CHUNK):
            index = np.arange(start, min(start + SNAPSHOT_CHUNK, rows))
            yield _data(_file_lines(system, name, columns(index), generated))

    feed = load_agreement().file(system, name)
    if set(feed.control_totals) != set(control_totals or {}):
        raise ValueError(f"{system}/{name}: control totals {control_totals} differ from {feed.control_totals}")
    return LandedFile(f"{name}.csv", b"", rows, control_totals or None, parts)


class Snapshot:
    """A master-data file whose rows take one of a few states (open, closed...).

    Every row is rendered once in the first state (open: nearly every row on nearly every
    day); a row is rendered in another state the first day it is delivered in it, and kept.
    A day's file then only picks the lines of the rows known that day, one `take`, which is
    far cheaper than rendering a full snapshot every day and holds one line per row, not one
    per row and state. `columns(rows, state)` gives the columns of `rows` in `state`.

    Workers rendering two days at once share the kept lines: each reads them once and
    replaces them in one assignment (a lost update only means rendering some lines again).
    """

    def __init__(self, system: str, name: str, columns: Callable[[np.ndarray, int], dict[str, pa.Array]], n: int):
        self.system, self.name, self.columns = system, name, columns
        self.plain = _plain_columns(system, name)
        self.n = n
        # rendered a chunk at a time: a large bank's columns are never all built at once
        chunks = [self.lines(np.arange(a, min(a + SNAPSHOT_CHUNK, n)), 0) for a in range(0, n, SNAPSHOT_CHUNK)]
        first = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
        self.kept: tuple[pa.Array, dict[int, np.ndarray]] = (first, {})
        """All lines rendered so far (the first state's, then others'), and for each other state
        where each row's line is in them (-1: not rendered yet)."""

    def lines(self, rows: np.ndarray, state: int) -> pa.Array:
        return csv_lines(feed_table(self.system, self.name, self.columns(rows, state)), self.plain)

    def render(self, rows: np.ndarray, state: np.ndarray | None = None) -> pa.Array:
        """Lines of `rows` (indexes, in file order), each in its `state` (0 when not given)."""
        rows = np.asarray(rows, np.int64)
        kept, where = self.kept
        index = rows.copy()
        if state is not None:
            state = np.asarray(state, np.int64)
            fresh: list[pa.Array] = []
            added = len(kept)
            for s in np.unique(state[state > 0]).tolist():
                at = where.get(s, np.full(self.n, -1, np.int64))
                new = np.unique(rows[(state == s) & (at[rows] < 0)])
                if len(new):
                    at = at.copy()
                    at[new] = added + np.arange(len(new))
                    fresh.append(self.lines(new, s))
                    added += len(new)
                    where = {**where, s: at}
                index[state == s] = at[rows[state == s]]
            if fresh:
                kept = pa.concat_arrays([kept, *fresh])
                self.kept = (kept, where)
        return kept.take(pa.array(index))

    def file(
        self, rows: np.ndarray, state: np.ndarray | None = None, patch: tuple[np.ndarray, pa.Array] | None = None
    ) -> LandedFile:
        """The day's file of `rows` in their `state`, rendered a chunk of rows at a time while it is
        written; `patch` replaces the lines at some positions (in `rows`) with others."""
        header = ",".join(load_agreement().file(self.system, self.name).column_names).encode("utf-8") + b"\n"
        rows = np.asarray(rows, np.int64)

        def parts() -> Iterator[bytes | pa.Buffer]:
            yield header
            for start in range(0, len(rows), SNAPSHOT_CHUNK):
                end = min(start + SNAPSHOT_CHUNK, len(rows))
                lines = self.render(rows[start:end], None if state is None else state[start:end])
                if patch is not None:
                    inside = (patch[0] >= start) & (patch[0] < end)
                    lines = replace_at(lines, patch[0][inside] - start, patch[1].filter(pa.array(inside)))
                yield _data(lines)

        return LandedFile(f"{self.name}.csv", b"", len(rows), None, parts)


def _escaped(values: pa.Array) -> pa.Array:
    """JSON string contents (nulls stay null); identifiers and amounts rarely need escaping, so screen first."""
    blob = _join_lines(pc.fill_null(values, ""))
    if any(special in blob for special in (b"\\", b'"')) or blob.count(b"\n") != len(values):
        values = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        values = pc.replace_substring(values, "\n", "\\n")
    return values


def json_lines(table: pa.Table, plain: frozenset[str] = frozenset()) -> pa.Array:
    """One JSON object per row, keys in column order, each line ending with `\\n`
    (`{"event_id": "E1", "user_id": null, ...}`); `plain` columns are not screened for
    characters to escape (they cannot hold any). The keys, and the quotes around the values of
    columns without nulls, are literals of one element-wise join."""
    parts: list[pa.Array | str] = []
    literal = "{"
    for i, name in enumerate(table.column_names):
        literal += ("" if i == 0 else ", ") + json.dumps(name) + ": "
        column = table.column(name).combine_chunks()
        if name not in plain:
            column = _escaped(column)
        if column.null_count == 0:
            parts += [literal + '"', column]
            literal = '"'
        else:
            parts += [literal, pc.fill_null(pc.binary_join_element_wise('"', column, '"', ""), "null")]
            literal = ""
    parts.append(literal + "}\n")
    return pc.binary_join_element_wise(*parts, "")


def gzip_lines(lines: pa.Array) -> bytes:
    """gzip by ISA-L at level 1 (four times faster than zlib's level 1, and smaller); any gzip
    reader reads it, and the same lines always give the same bytes."""
    return igzip.compress(content(lines), compresslevel=1, mtime=0)


def write_delivery(
    root: Path,
    system: str,
    business_date: date,
    extracted_at: str,
    files: list[LandedFile],
    with_manifest: bool = True,
) -> Path:
    """Write one delivery folder; a folder of an earlier run for the same date is replaced.
    Without manifest, the folder stays incomplete (a defect asked for)."""
    folder = root / system / business_date.isoformat()
    if folder.exists():
        (folder / MANIFEST_NAME).unlink(missing_ok=True)  # incomplete from now on, as the agreement says
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries = {}
    for landed in files:
        digest = hashlib.sha256()
        with (folder / landed.name).open("wb") as out:
            for piece in landed.pieces():
                out.write(piece)
                digest.update(piece)
        entries[landed.name] = ManifestFile(
            rows=landed.rows,
            sha256=digest.hexdigest(),
            control_totals={c: Decimal(v) for c, v in (landed.control_totals or {}).items()},
        )
    if with_manifest:
        Manifest(system=system, business_date=business_date, extracted_at=extracted_at, files=entries).write(folder)
    return folder
