"""Convert one landed file into typed rows and quarantined rows, in DuckDB.

Every file is first read as text (CSV fields, or JSON lines), so that nothing the source
sent is lost to a reader's error handling; each value is then cast strictly to its type
from the agreement. DuckDB's own casts are lenient where a bank cannot be (it rounds
`1.23456` into DECIMAL(18,4) and `1.5` into BIGINT, and reads dates without their
offset), so the casts below check the text's shape first. A row that has the wrong number
of fields, is not valid JSON, or holds a value that does not read as its type goes to the
quarantine with its row number, raw text and the reason; it is never silently dropped.

A column whose values mostly do not read as its type is not a few bad rows but a change of
the file's schema (a system that started sending `1.234,56` or day-first dates, say): the
file is refused whole, naming the column and its first unreadable line, rather than
quarantining most of it. `type_drift_share` is that threshold (settings: `type_drift_share`).
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.contract import DECIMAL_TYPE, Column, FeedFile
from extract.sql import ident as _ident
from extract.sql import literal as _literal
from extract.sql import path_pattern
from extract.text import CR_MARK, FileRefused, LandedRead, PlainFile, RecordCount, open_landed, plain_file

QUARANTINE_SCHEMA = pa.schema(
    [("_file", pa.string()), ("_source_row", pa.int64()), ("raw", pa.string()), ("reason", pa.string())]
)


__all__ = ["ConvertedFeed", "FileCounts", "FileRefused", "convert_feed", "count_records"]

RESERVED_PREFIX = "_"
"""The warehouse's own columns (lineage: `_load_id`, `_business_date`, `_source_file`,
`_source_row`, `_loaded_at`; working columns `_file`, `_reason`) start with `_`; no column of
the agreement does. A delivered column or key that does is refused, so that a sender cannot
forge a row's lineage."""


@dataclass
class FileCounts:
    """What one landed file held. `rows_delivered` is counted on the file's bytes, apart from
    the reading that yields `rows_loaded` and `rows_quarantined` (count_records): the audit's
    rows delivered = rows loaded + rows quarantined then checks that the reading lost nothing."""

    rows_delivered: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class ConvertedFeed:
    """The landed files of one feed in one delivery, read into `con` as view `typed` (valid
    rows, with `_file` naming the landed file) and the quarantine (same `_file` column)."""

    feed: FeedFile
    files: dict[str, FileCounts]
    quarantine: pa.Table
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files.values())

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.num_rows


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The single value a query returns (DuckDB 2 relations keep no result between calls)."""
    return con.sql(query).fetchall()[0][0]


_SHAPES = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "timestamp": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})",
    "decimal": r"[+-]?\d{1,14}(\.\d{1,4})?",
    "integer": r"[+-]?\d{1,18}",
}


def cast_expression(column: Column, source: str) -> str:
    """SQL that casts text `source` to the column's type, or NULL when the text does not fit."""
    if column.type in ("string", "enum"):
        return source
    if column.type == "boolean":
        return f"case {source} when 'Y' then true when 'N' then false end"
    target = column.duckdb_type
    shape = _SHAPES[column.type]
    return f"case when regexp_full_match({source}, {_literal(shape)}) then try_cast({source} as {target}) end"


def _describe(column: Column) -> str:
    return {
        "decimal": f"a decimal with at most 4 decimals ({DECIMAL_TYPE})",
        "date": "a date YYYY-MM-DD",
        "timestamp": "an ISO 8601 timestamp with offset",
        "integer": "an integer",
        "boolean": "Y or N",
    }.get(column.type, column.type)


DEFAULT_TYPE_DRIFT_SHARE = 0.5


def _typed_columns(feed: FeedFile) -> list[Column]:
    return [c for c in feed.columns if c.type not in ("string", "enum")]


def _refuse_type_drift(con: duckdb.DuckDBPyConnection, feed: FeedFile, share: float, header_lines: int) -> None:
    """Refuse the file(s) if a typed column fails to read in more than `share` of its non-empty values.

    Reads the flags `_checked_select` left in table `checked`, so that no value is cast twice."""
    typed = _typed_columns(feed)
    if not typed:
        return
    counts = ", ".join(
        f"count(*) filter (where _has{i}), count(*) filter (where _bad{i}), min(_source_row) filter (where _bad{i})"
        for i in range(len(typed))
    )
    problems = []
    for file, *figures in con.sql(f"select _file, {counts} from checked group by _file order by _file").fetchall():
        drifted = [(c, *figures[3 * i : 3 * i + 3]) for i, c in enumerate(typed)]
        for column, n, bad, first_row in sorted(drifted, key=lambda d: d[0].name):
            if bad and bad > share * n:
                value = scalar(
                    con,
                    f"select {_ident(column.name)} from raw where _file = {_literal(file)} "
                    f"and _source_row = {first_row}",
                )
                problems.append(
                    f"{file}: column {column.name}: {bad} of {n} values do not read as {_describe(column)} "
                    f"(first at line {first_row + header_lines}: {value!r}); refused as a change of the file's schema"
                )
    if problems:
        raise FileRefused("; ".join(problems))


def _checked_select(feed: FeedFile, extra_columns: list[str], marked_cr: list[str] | None = None) -> str:
    """Select from `raw` the typed columns, `_file`, `_source_row` and `_reason` (empty when the row
    is valid), and for the i-th typed column the flags `_has{i}` (a value was given) and `_bad{i}`
    (it does not read as its type), which the type drift check counts.

    Each value is cast once, in the inner select; the outer one judges the casts.
    `marked_cr`: the files (`_file`) that had carriage returns outside quotes, read as `CR_MARK`
    (extract.text); a row of theirs holding one is quarantined, naming the column."""
    typed = {c.name: i for i, c in enumerate(_typed_columns(feed))}
    inner, outer, flags, checks = [], [], [], []
    for column in feed.columns:
        name = _ident(column.name)
        src = f"nullif({name}, '')"
        inner.append(f"{cast_expression(column, src)} as {name}")
        outer.append(name)
        if column.name in typed:
            i = typed[column.name]
            inner.append(f"{src} as _text{i}")
            flags += [f"_text{i} is not null as _has{i}", f"_text{i} is not null and {name} is null as _bad{i}"]
            message = f"{column.name}: cannot read "
            checks.append(
                f"case when _text{i} is not null and {name} is null then "
                f"{_literal(message)} || _text{i} || {_literal(' as ' + _describe(column))} end"
            )
    if marked_cr:
        marked = "(" + ", ".join(_literal(f) for f in marked_cr) + ")"
        for j, name in enumerate(feed.column_names + extra_columns):
            message = f"{name}: a carriage return (\\r) outside quotes; the agreement's line end is \\n"
            inner.append(f"_file in {marked} and contains({_ident(name)}, chr({ord(CR_MARK)})) as _cr{j}")
            checks.append(f"case when _cr{j} then {_literal(message)} end")
    inner += [_ident(name) for name in extra_columns] + ["_file", "_source_row"]
    outer += [_ident(name) for name in extra_columns] + ["_file", "_source_row"] + flags
    reason = f"concat_ws('; ', {', '.join(checks)})" if checks else "''"
    return f"select {', '.join(outer)}, {reason} as _reason from (select {', '.join(inner)} from raw)"


def _number_rows(con: duckdb.DuckDBPyConnection, rejected: pa.Table) -> None:
    """Make view `raw`: the rows of table `raw_read` (read with `filename`) with their `_file` key
    and 1-based `_source_row`, skipping the rows the reader rejected (`rejected`: `_file`,
    `_source_row`).

    DuckDB keeps a file's rows in order in a table (insertion order), so the k-th row of a
    file in `raw_read` is the k-th data row of that file that the reader did not reject. A view,
    not a table: the checks read it once (`checked`), and numbering the rows into a table of
    their own copied every row of the run for that (issue 20).
    """
    numbered = _file_row_numbers(con, "raw_read", "_k")
    row_maps = []
    for file in sorted(set(rejected["_file"].to_pylist())):
        skipped = np.asarray(
            rejected.filter(pc.equal(rejected["_file"], file))["_source_row"].to_numpy(zero_copy_only=False)
        )
        n_valid = scalar(con, f"select coalesce(sum(_n), 0) from spans where _file = {_literal(file)}")
        all_rows = np.arange(1, n_valid + len(skipped) + 1, dtype=np.int64)
        numbers = np.setdiff1d(all_rows, skipped, assume_unique=True)
        row_maps.append(
            pa.table({"_file": [file] * n_valid, "_k": np.arange(1, n_valid + 1, dtype=np.int64), "_row": numbers})
        )
    if not row_maps:
        con.execute(f"create or replace view raw as select * exclude (_k), _k as _source_row from ({numbered})")
        return
    con.register("row_map_rows", pa.concat_tables(row_maps))
    con.execute("create or replace table row_map as select * from row_map_rows")  # the view outlives the call
    con.unregister("row_map_rows")
    con.execute(
        "create or replace view raw as select n.* exclude (_k), coalesce(m._row, n._k) as _source_row "
        f"from ({numbered}) n left join row_map m using (_file, _k)"
    )


def _file_row_numbers(con: duckdb.DuckDBPyConnection, table: str, name: str) -> str:
    """A select of `table` (read with `filename`) with its `_file` key (table `file_keys`) and
    column `name`: the row's 1-based position among its file's rows, in insertion order.

    A reader of several files inserts each file's rows one after the other, so the position is
    the row id less the file's first row id: no window sorting all rows (on a run's thousands of
    small files the window and the sort after it cost seconds). Should a file's rows ever not
    be neighbours (fewer rows than row ids between its first and last), the window numbers them
    as before: the numbers never depend on it."""
    con.execute(
        f"create or replace temp table spans as select filename, k._file, s._first, s._n, s._whole from "
        f"(select filename, min(rowid) as _first, count(*) as _n, count(*) = max(rowid) - min(rowid) + 1 as _whole "
        f"from {table} group by filename) s join file_keys k using (filename)"
    )
    whole = scalar(con, "select coalesce(bool_and(_whole), true) from spans")
    number = "t.rowid - s._first + 1" if whole else "row_number() over (partition by s._file order by t.rowid)"
    return f"select t.* exclude (filename), s._file, {number} as {name} from {table} t join spans s using (filename)"


def _register_keys(con: duckdb.DuckDBPyConnection, plains: list[PlainFile], keys: list[str]) -> str:
    """Register table `file_keys` (what DuckDB's `filename` says for a file, its key) and return
    the list of the files' patterns for a reader."""
    names, file_keys = [], []
    for plain, key in zip(plains, keys, strict=True):
        for name in {path_pattern(plain.path), str(plain.path)}:
            names.append(name)
            file_keys.append(key)
    con.register("file_keys_view", pa.table({"filename": names, "_file": file_keys}))
    con.execute("create or replace table file_keys as select * from file_keys_view")
    con.unregister("file_keys_view")
    return "[" + ", ".join(_literal(path_pattern(p.path)) for p in plains) + "]"


def read_header(path: Path) -> list[str]:
    """The CSV header's column names (a UTF-8 byte order mark before them is not part of the first)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def check_columns(file_name: str, names: list[str], feed: FeedFile, what: str = "column") -> list[str]:
    """Refuse a file whose header (or JSON keys) lacks a column of the agreement, repeats one, or
    names one in the warehouse's own namespace (`RESERVED_PREFIX`); return the extra names.

    DuckDB's names are case-insensitive: `Amount` beside `amount` is the same column twice."""
    missing = [c for c in feed.column_names if c not in names]
    if missing:
        raise FileRefused(f"{file_name}: required {what}(s) missing from the header: {', '.join(missing)}")
    folded = [n.lower() for n in names]
    duplicated = sorted({n for n in names if folded.count(n.lower()) > 1})
    if duplicated:
        raise FileRefused(
            f"{file_name}: {what}(s) appear twice (names are not case-sensitive): {', '.join(duplicated)}"
        )
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if reserved:
        raise FileRefused(
            f"{file_name}: {what}(s) {', '.join(reserved)} in the warehouse's lineage namespace "
            f"(names starting with {RESERVED_PREFIX!r} are the warehouse's own, e.g. _load_id, _source_file): "
            "refused, so that no delivery can forge where a row came from"
        )
    return [n for n in names if n not in feed.column_names]


def _reset(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the previous feed's rejects, so one connection serves a whole delivery (the
    other working tables are all `create or replace`d)."""
    con.execute("drop table if exists rejects; drop table if exists reject_scans")


def _load_csv(
    con: duckdb.DuckDBPyConnection, plains: list[PlainFile], keys: list[str], feed: FeedFile
) -> tuple[list[str], pa.Table]:
    """Read CSV files of one header (one file per delivery) in one scan into `raw_read`, numbered in view `raw`."""
    header = read_header(plains[0].path)
    for plain in plains[1:]:
        if read_header(plain.path) != header:
            raise FileRefused(f"{plain.path.name}: its header differs from {plains[0].path.name}'s in one conversion")
    extra = check_columns(plains[0].path.name, header, feed)
    columns = "{" + ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header) + "}"
    files = _register_keys(con, plains, keys)
    con.execute(
        f"""create or replace table raw_read as select * from read_csv({files}, columns = {columns},
            header = true, delim = ',', quote = '"', escape = '"', new_line = '\\n',
            auto_detect = false, strict_mode = true, filename = true, store_rejects = true,
            rejects_table = 'rejects', rejects_scan = 'reject_scans')"""
    )
    # The reader may log one error per field of a short line; report each line once.
    rejects = con.sql(
        "select k._file, r.line - 1 as _source_row, any_value(r.csv_line) as raw, "
        "case when bool_or(r.error_type in ('MISSING COLUMNS', 'TOO MANY COLUMNS')) "
        f"then 'wrong number of fields (the header has {len(header)})' "
        "else string_agg(distinct r.error_message, '; ') end as reason "
        "from rejects r join reject_scans s using (scan_id, file_id) join file_keys k on k.filename = s.file_path "
        "group by k._file, r.line order by k._file, r.line"
    ).to_arrow_table()
    _number_rows(con, rejects)
    return extra, rejects


def _load_jsonl(
    con: duckdb.DuckDBPyConnection, plains: list[PlainFile], keys: list[str], feed: FeedFile
) -> tuple[list[str], pa.Table]:
    # One JSON object per line: read lines as text (record separator 0x1E never occurs
    # unescaped in valid JSON), then parse each line in SQL. All hour files of a delivery
    # are read in one scan; `filename` and the file order keep every line's position.
    files = _register_keys(con, plains, keys)
    con.execute(
        f"""create or replace table lines as select * from read_csv({files}, columns = {{'line': 'VARCHAR'}},
            header = false, delim = chr(30), quote = '', escape = '', new_line = '\\n',
            auto_detect = false, filename = true, store_rejects = true, rejects_table = 'rejects',
            rejects_scan = 'reject_scans')"""
    )
    unreadable = con.sql(
        "select s.file_path, r.line from rejects r join reject_scans s using (scan_id, file_id) order by 1, 2"
    ).fetchall()
    if unreadable:
        where = ", ".join(f"{Path(f).name} line {line}" for f, line in unreadable[:10])
        raise FileRefused(f"unreadable line(s) (not UTF-8 text?): {where}")
    # JSON functions fail on malformed text even behind a filter, so valid objects are
    # materialised before anything is extracted.
    con.execute(
        f"create or replace table numbered as select line, _file, _source_row, "
        "coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false) as is_object "
        f"from ({_file_row_numbers(con, 'lines', '_source_row')}) order by _file, _source_row"
    )
    con.execute("create or replace table objects as select line, _file, _source_row from numbered where is_object")
    stray_cr = _literal("a carriage return (\\r) inside the line; the agreement's line end is \\n")
    rejected = con.sql(
        "select _file, _source_row, line as raw, case when line is null then 'empty line' "
        f"when contains(line, chr({ord(CR_MARK)})) then {stray_cr} "
        "else 'not a JSON object (invalid JSON)' end as reason from numbered where not is_object "
        "order by _file, _source_row"
    ).to_arrow_table()
    keys = [k for (k,) in con.sql("select distinct unnest(json_keys(line)) as k from objects order by k").fetchall()]
    names = ", ".join(p.path.name for p in plains)
    extra_keys = check_columns(names, feed.column_names + [k for k in keys if k not in feed.column_names], feed, "key")
    # `$."key"`: a JSON path that reads any key, dots and quotes included.
    fields = ", ".join(
        f"json_extract_string(line, {_literal('$.' + json.dumps(name))}) as {_ident(name)}"
        for name in feed.column_names + extra_keys
    )
    con.execute(f"create or replace table raw_read as select {fields}, _file, _source_row from objects")
    con.execute("create or replace view raw as select * from raw_read")  # as the CSV reader's `raw`, a view
    return extra_keys, rejected


TYPED_ROWS = "select * from typed order by _file, _source_row"
"""The valid rows of a conversion in the order of their files' keys and rows."""


def convert_feed(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    feed: FeedFile,
    type_drift_share: float = DEFAULT_TYPE_DRIFT_SHARE,
    keys: list[str] | None = None,
    reads: Mapping[Path, LandedRead] | None = None,
) -> ConvertedFeed:
    """Read the landed files of one feed into view `typed` of `con` (its valid rows: `TYPED_ROWS`
    reads them in order) and count what happened per file.

    Columns (CSV) or keys (JSON lines) outside the agreement are kept as text and reported
    in `extra_columns`: schema drift that loses nothing and warns.

    `keys` name the files in `_file`, the quarantine and `files` (default: the file names, for
    the files of one delivery). With keys unique across deliveries (their paths in the landing
    area), one call converts the files of many deliveries of the feed (extract.load's batches):
    a CSV feed then takes one file per delivery folder, all with the same header.

    `reads`: what `read_landed` found in the files (by path), so that they are not read again
    for their text checks and record counts; a file without is read for them here.
    """
    keys = keys or [p.name for p in paths]
    reads = reads or {}
    _reset(con)
    with tempfile.TemporaryDirectory(prefix="bankdw-plain-") as workdir:
        plains = []
        for n, path in enumerate(paths):  # a plain copy keeps its file's name, in a folder of its own
            plains.append(
                plain_file(path, Path(workdir) / str(n), csv_quoting=feed.format == "csv", read=reads.get(path))
            )
        if feed.format == "csv":
            if len({p.parent for p in paths}) != len(paths):
                raise FileRefused(f"{feed.qualified_name} is delivered as one file, got {len(paths)}")
            extra, rejected = _load_csv(con, plains, keys, feed)
        else:
            extra, rejected = _load_jsonl(con, plains, keys, feed)
    kept_extra = extra
    marked_cr = [k for k, p in zip(keys, plains, strict=True) if p.marked_cr] if feed.format == "csv" else []
    con.execute(f"create or replace table checked as {_checked_select(feed, kept_extra, marked_cr)}")
    _refuse_type_drift(con, feed, type_drift_share, header_lines=1 if feed.format == "csv" else 0)
    flags = "".join(f", _has{i}, _bad{i}" for i in range(len(_typed_columns(feed))))
    # A view, not a table: the stage step fetches the valid rows once, sorted (`TYPED_ROWS`), so a
    # sorted copy of them in DuckDB as well cost a pass over every row of the run (issue 20).
    con.execute(f"create or replace view typed as select * exclude (_reason{flags}) from checked where _reason = ''")
    raw_names = feed.column_names + kept_extra
    as_json = "json_object(" + ", ".join(f"{_literal(c)}, r.{_ident(c)}" for c in raw_names) + ")"
    bad_values = con.sql(
        f"select c._file, c._source_row, {as_json} :: varchar as raw, c._reason as reason "
        "from checked c join raw r using (_file, _source_row) where c._reason <> ''"
    ).to_arrow_table()
    quarantine = pa.concat_tables([rejected.cast(QUARANTINE_SCHEMA), bad_values.cast(QUARANTINE_SCHEMA)])
    quarantine = quarantine.sort_by([("_file", "ascending"), ("_source_row", "ascending")])
    files = {key: FileCounts() for key in keys}
    sums = "".join(f", coalesce(sum({_ident(c)}), 0) as {_ident(c)}" for c in feed.control_totals)
    for row in con.sql(f"select _file, count(*) as n{sums} from typed group by _file").fetchall():
        counts = files[row[0]]
        counts.rows_loaded = row[1]
        counts.totals = {c: Decimal(v) for c, v in zip(feed.control_totals, row[2:], strict=True)}
    for name, n in zip(*_count_by_file(quarantine), strict=True):
        files[name].rows_quarantined = n
    for key, path in zip(keys, paths, strict=True):
        counts = files[key]
        read = reads.get(path)
        counts.rows_delivered = count_records(path, feed) if read is None else records_of(read, feed)
        counts.totals = {c: counts.totals.get(c, Decimal(0)) for c in feed.control_totals}
    return ConvertedFeed(feed=feed, files=files, quarantine=quarantine, extra_columns=extra)


def _count_by_file(quarantine: pa.Table) -> tuple[list[str], list[int]]:
    grouped = quarantine.group_by("_file").aggregate([("_source_row", "count")])
    return grouped["_file"].to_pylist(), grouped["_source_row_count"].to_pylist()


_CHUNK = 1 << 20


def count_records(path: Path, feed: FeedFile) -> int:
    """The data records of a landed file, counted on its bytes without reading a value.

    Independent of the DuckDB reading above, so that the audit's conservation law can fail:
    a row the reading loses (or invents) shows as rows delivered <> loaded + quarantined.
    After the agreement (extract/feeds/README.md): a CSV record ends at a `\n` outside double
    quotes (RFC 4180: a quoted field may hold line ends; a quote inside one is doubled, which
    toggles twice), the first record is the header, and a blank line holds no record (CSV
    readers, DuckDB's and Python's, skip it: nothing is in it to lose). A JSON lines file has
    one record per line, blank lines included (the extract quarantines them as empty lines).
    A last record without its line end counts. (`read_landed` counts alike, in its one read
    of the file: `records_of`.)
    """
    count = RecordCount(quoted=feed.format == "csv", skip_blank=feed.format == "csv")
    with open_landed(path) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            count.feed(chunk)
    return _records(count.lines, feed)


def records_of(read: LandedRead, feed: FeedFile) -> int:
    """The data records `read_landed` counted (read with `csv_quoting` for a CSV feed)."""
    return _records(read.lines, feed)


def _records(lines: int, feed: FeedFile) -> int:
    return max(lines - 1, 0) if feed.format == "csv" else lines  # a CSV file's first record is its header
