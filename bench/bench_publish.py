"""What a night's publish costs as history grows: the reader file, the exports, the state copy.

Ten days of a bank hide what grows with its history, and a year of a 100,000-customer bank
cannot be simulated and loaded on this machine. So this bench makes a long history from a
published data dir: a copy of its published state (the build file) whose dated and monthly
marts are repeated `--months - 1` times, each copy a month earlier (the other tables as they
are). On that state it times what a night's publish does with it:

- the copy of the state a night's build starts from (`copy_published_state` copies the file);
- the reader file written anew (`bankdw.publish._write_reader`, a first publish or a full refresh);
- the exports written whole (a first export);
- after a night in which every dated mart gained a day (its latest day's rows again, a day
  later) and the latest month of every monthly mart and every other mart changed (a row of each
  deleted): the reader file anew, then from the one before (only the parts that changed written,
  the digests the export kept), by month as before 2026-12-06 and by day (`days`), each checked
  to hold the rows of the one written anew; and the exports (only what changed written, a dated
  mart's a file a day, with the reader's digests).

Beside them, the reference measured in the same run: DuckDB alone writing every reader table's
rows to Parquet once (one `COPY` a table). The machine is shared: compare the ratios.

    .venv/bin/python bench/bench_publish.py --data data/bench-scale/bank-100000x20 --months 12
    .venv/bin/python bench/bench_publish.py --data data --months 1    # the bank as it is
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from compare_warehouses import compare, report

from bankdw.config import load_settings
from bankdw.exports import (
    MONTH_COLUMN,
    Export,
    Parts,
    day_columns,
    month_column,
    month_columns,
    month_sql,
    pii_columns,
    write_exports,
)
from bankdw.publish import READER_SCHEMAS, _write_reader, published_state_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a published data dir (not changed)")
    parser.add_argument("--months", type=int, default=12, help="months of history to make (1: as it is)")
    parser.add_argument("--work", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    settings = load_settings(data_dir=args.data)
    manifest = settings.root / "dbt" / "target" / "manifest.json"
    months, days, pii = month_columns(manifest), day_columns(manifest), pii_columns(manifest)
    work = Path(tempfile.mkdtemp(prefix="bench-publish-", dir=args.work))
    state = work / "state.duckdb"
    shutil.copyfile(published_state_path(settings), state)
    state.chmod(0o600)
    rows, split = _stretch(state, months, args.months)
    print(f"{args.months} month(s) of history: {rows:,} rows in {split} dated or monthly marts, state {_mb(state)}")
    figures: list[tuple[str, float]] = [
        ("reference: DuckDB writes every reader table to Parquet", _reference(state, work))
    ]
    figures.append(("copy of the state a night starts from", _timed(lambda: shutil.copyfile(state, work / "copy"))))
    figures.append(("reader file written", _timed(lambda: _write_reader(state, work / "reader.duckdb"))))
    exports = load_settings(data_dir=work / "data")
    exported: list[Export] = []
    first = _timed(
        lambda: exported.append(
            write_exports(exports, "20990101T000000000000Z", work / "reader.duckdb", pii, months, days=days)
        )
    )
    figures.append(("exports, whole", first))
    _night(state, months, days)
    fresh = _timed(lambda: _write_reader(state, work / "reader-fresh.duckdb"))
    figures.append(("after a night: reader file anew", fresh))
    known = {mart: info["parts"] for mart, info in exported[0].manifest["marts"].items()}
    known_days = {mart: info["days"] for mart, info in exported[0].manifest["marts"].items() if "days" in info}
    digests: dict[str, Parts] = {}
    before = work / "reader.duckdb"
    by_month = _timed(lambda: _write_reader(state, work / "reader-months.duckdb", before, months, known))
    figures.append(("  reader file from the one before, by month (before)", by_month))

    def reader_from_before() -> None:
        written = _write_reader(state, work / "reader-2.duckdb", before, months, known, days, known_days)
        digests.update(written[1])

    figures.append(("  reader file from the one before, by day", _timed(reader_from_before)))
    night = _timed(
        lambda: write_exports(exports, "20990102T000000000000Z", work / "reader-2.duckdb", pii, months, digests, days)
    )
    figures.append(("  exports (the reader's digests)", night))
    differences = [
        t
        for written in ("reader-months.duckdb", "reader-2.duckdb")
        for t in compare(work / "reader-fresh.duckdb", work / written, list(READER_SCHEMAS))
        if not t.is_equal
    ]
    if differences:
        raise SystemExit(
            f"the reader file from the one before differs from the one written anew:\n{report(differences)}"
        )
    print(
        f"the reader file from the one before holds the rows of the one written anew; "
        f"{_mb(work / 'reader-2.duckdb')} against {_mb(work / 'reader-fresh.duckdb')}"
    )
    reference = figures[0][1]
    print(f"  {'part':<58}{'seconds':>9}{'x ref':>8}")
    for name, seconds in figures:
        print(f"  {name:<58}{seconds:>9.1f}{seconds / reference:>8.2f}")
    shutil.rmtree(work, ignore_errors=True)


def _stretch(state: Path, months: dict[str, str], count: int) -> tuple[int, int]:
    """Repeat each dated or monthly mart of `state` `count - 1` times, a month earlier each."""
    with duckdb.connect(str(state)) as con:
        split = dict(months)
        for (table,) in con.sql("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall():
            if table.endswith("_monthly"):
                split[table] = MONTH_COLUMN
        rows = 0
        for table, column in split.items():
            columns = [row[0] for row in con.sql(f"describe marts.{table}").fetchall()]
            shifted = ", ".join(
                f'cast("{c}" - interval (k) month as date)' if c == column else f'"{c}"' for c in columns
            )
            con.execute(f"insert into marts.{table} select {shifted} from marts.{table}, range(1, {count}) as r(k)")
            rows += con.sql(f"select count(*) from marts.{table}").fetchone()[0]  # type: ignore[index]
        con.execute("checkpoint")
    return rows, len(split)


def _night(state: Path, months: dict[str, str], days: dict[str, str]) -> None:
    """What a night changes: every dated mart gains a day (its latest day's rows again, a day
    later), and the latest month of every monthly mart and every other mart change (one row of
    each gone)."""
    with duckdb.connect(str(state)) as con:
        for (mart,) in con.sql("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall():
            columns = [row[0] for row in con.sql(f"describe marts.{mart}").fetchall()]
            if (day := days.get(mart)) in columns:
                later = ", ".join(f'cast("{c}" + 1 as date)' if c == day else f'"{c}"' for c in columns)
                con.execute(
                    f"insert into marts.{mart} select {later} from marts.{mart} "
                    f'where "{day}" = (select max("{day}") from marts.{mart})'
                )
                continue
            part = month_sql(month_column(mart, columns, months))
            con.execute(
                f"delete from marts.{mart} where rowid = (select max(rowid) from marts.{mart} "
                f"where {part} = (select max({part}) from marts.{mart}))"
            )


def _reference(state: Path, work: Path) -> float:
    schemas = ", ".join(f"'{name}'" for name in READER_SCHEMAS)
    with duckdb.connect(str(state), read_only=True) as con:
        tables = con.sql(f"select schema_name, table_name from duckdb_tables() where schema_name in ({schemas})")
        names = tables.fetchall()
        started = time.monotonic()
        for schema, table in names:
            con.execute(f"copy {schema}.{table} to '{work / f'{schema}.{table}.parquet'}' (format parquet)")
        return time.monotonic() - started


def _timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:,.0f} MB"


if __name__ == "__main__":
    main()
