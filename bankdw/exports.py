"""Parquet exports of the public marts, written after every publish, for tools that read files.

    <data>/exports -> .exports/<run_id>         a symbolic link, switched atomically to a new build
    <data>/.exports/<run_id>/<mart>/data_0.parquet              a mart as analysts may see it
    <data>/.exports/<run_id>/<mart>/month=<YYYY-MM>/data_0.parquet   a monthly mart, one folder a month
    <data>/.exports/<run_id>/<mart>/month=<YYYY-MM>/data_<YYYY-MM-DD>.parquet   a dated mart, a file a day
    <data>/.exports/<run_id>/_steward/<mart>/                   a mart with PII columns, unmasked (owner only)
    <data>/.exports/<run_id>/_manifest.json                     the build id, and each mart's rows and PII columns

Who reads what: the folders under `exports/` are *analysts'* files: every column tagged
`meta: {pii: true}` in the dbt project is masked in them as the analyst's login of the served
warehouse masks it (`mask_sql`). `_steward/` holds the few marts with PII unmasked, for the
stewards and the served warehouse (`bankdw.serve`), which loads every mart from here.

A mart named `*_monthly` is exported one folder a month of its `month_start`; a mart whose
model names a date column in `meta: {export_month: <column>}` (the daily facts, the events, the
nightly scores) one folder a month of that date, and a file a day within it (`day_columns`:
a dated mart exported whole, the recent balances, a file a day in its own folder). An export
writes only what changed: a file of a day, or a folder (a month, or a mart not split by month),
whose rows are those of the export before (the same count and the same sum of the rows' hashes,
the same columns and masks) is linked from it, not written again, so that a night's export does
not grow with the history it holds, nor with the days of the month before it.

A reader never sees a half-written export: an export is written whole into a new folder, and
only then is the link `exports` renamed over (an atomic rename), so `exports/<mart>/` resolves
to one build or the other. The export before stays for readers still holding it; older ones
go. A rollback switches the link back to the restored version's export (or writes it again).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from bankdw import links
from bankdw.config import Settings

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
STEWARD = "_steward"
MONTH_COLUMN = "month_start"
"""A mart named `*_monthly` with this column is exported one folder a month (`month=YYYY-MM`)."""
MASKS = ("redact", "year")
"""How a PII column is masked for analysts: `redact` (the value is replaced by `***`, null kept),
`year` (a date becomes the first of January of its year)."""


class ExportFailed(Exception):
    """The exports of a published version could not be written; the link still names the last good one."""


def exports_link(settings: Settings) -> Path:
    """What readers open: `<data>/exports/<mart>/`."""
    return settings.root / "exports"


def exports_store(settings: Settings) -> Path:
    return settings.root / ".exports"


def mask_sql(column: str, mask: str) -> str:
    """The SQL expression (the same in DuckDB and PostgreSQL) that masks `column` for analysts."""
    quoted = f'"{column}"'
    if mask == "year":
        return f"cast(date_trunc('year', {quoted}) as date)"
    if mask == "redact":
        return f"case when {quoted} is null then null else '***' end"
    raise ValueError(f"unknown PII mask {mask!r} on column {column}: known masks are {', '.join(MASKS)}")


def _mart_nodes(manifest_path: Path) -> list[dict[str, Any]]:
    """The public marts' models in dbt's manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return [
        node
        for node in manifest["nodes"].values()
        if node.get("resource_type") == "model" and node.get("schema") == "marts"
    ]


def _meta(entry: dict[str, Any]) -> dict[str, Any]:
    """A model's or column's `meta` in dbt's manifest, as given directly or under `config`."""
    return {**entry.get("meta", {}), **entry.get("config", {}).get("meta", {})}


def pii_columns(manifest_path: Path) -> dict[str, dict[str, str]]:
    """Per public mart, its columns tagged `meta: {pii: true}` in the dbt project, with their mask
    (`meta.mask`, default `redact`), from dbt's manifest."""
    tagged: dict[str, dict[str, str]] = {}
    for node in _mart_nodes(manifest_path):
        for name, column in node.get("columns", {}).items():
            meta = _meta(column)
            if meta.get("pii"):
                tagged.setdefault(node["name"], {})[name] = str(meta.get("mask", "redact"))
    return tagged


def month_columns(manifest_path: Path) -> dict[str, str]:
    """Per public mart exported one folder a month of a date, that column: its model's
    `meta: {export_month: <column>}`, from dbt's manifest."""
    return {
        node["name"]: str(meta["export_month"])
        for node in _mart_nodes(manifest_path)
        if "export_month" in (meta := _meta(node))
    }


def day_columns(manifest_path: Path) -> dict[str, str]:
    """Per public mart that a published file holds a day at a time (`bankdw.publish`: a night
    writes the days it changed, not the month), its date column: the one its export's months are
    of (`meta: {export_month: <column>}`), or `meta: {publish_day: <column>}` for a dated mart
    exported whole (the recent balances' window), from dbt's manifest."""
    days = {}
    for node in _mart_nodes(manifest_path):
        meta = _meta(node)
        column = meta.get("publish_day", meta.get("export_month"))
        if column:
            days[node["name"]] = str(column)
    return days


def day_column(mart: str, described: list[tuple[Any, ...]], days: dict[str, str]) -> str | None:
    """The date column a published file holds `mart` by, a day at a time, and its export writes
    a file a day of: what `days` names, when the mart has it as a DATE (`described`: its
    `describe` rows), else None (the mart is held by month or whole)."""
    column = days.get(mart)
    return column if (column, "DATE") in {(row[0], row[1]) for row in described} else None


def month_of_day(key: str) -> str:
    """The month part (`month_sql`) of a day part (`day_sql`): `YYYY-MM`, or 'none'."""
    return key if key == "none" else key[:7]


def month_column(mart: str, columns: list[str], months: dict[str, str]) -> str | None:
    """The date column whose months split `mart` (its export, and its updates in a published
    file, `bankdw.publish`): a `*_monthly` mart's `month_start`, else what `months` names."""
    return MONTH_COLUMN if mart.endswith("_monthly") and MONTH_COLUMN in columns else months.get(mart)


def month_sql(column: str | None) -> str:
    """The SQL of a row's part: the month of `column` (`YYYY-MM`), or '' for a table not split."""
    return f"""coalesce(strftime("{column}", '%Y-%m'), 'none')""" if column else "''"


Parts = dict[str, list[Any]]
"""Per part of a table (`month_sql`), its rows and the sum of their hashes (`part_digests`)."""


def day_sql(column: str) -> str:
    """The SQL of a row's day (`YYYY-MM-DD`, or 'none'), a finer part than `month_sql`'s month:
    `column` is a date."""
    return f"""coalesce(cast("{column}" as varchar), 'none')"""


def part_digests(con: duckdb.DuckDBPyConnection, table: str, part: str, where: str = "true") -> Parts:
    """Per part of `table` (of its rows where `where`), its rows and the sum of their hashes:
    equal figures, equal rows (the order of rows does not count, two equal rows do not cancel)."""
    measure = f"select {part}, count(*), cast(sum(hash(r)) as varchar) from {table} as r where {where} group by all"
    return {key: [rows, digest] for key, rows, digest in con.sql(measure).fetchall()}


def by_month(days: Parts, split: bool) -> Parts:
    """The digests of parts by day (`day_sql`) as `part_digests` gives them by month
    (`month_sql`: a day's month, 'none' for none) or, not `split`, of the table whole (''): a
    part's rows and its sum of hashes are the sums of its days'."""
    summed: dict[str, tuple[int, int]] = {}
    for day, (rows, digest) in days.items():
        key = month_of_day(day) if split else ""
        count, total = summed.get(key, (0, 0))
        summed[key] = (count + rows, total + int(digest))
    return {key: [count, str(total)] for key, (count, total) in summed.items()}


@dataclass(frozen=True)
class Export:
    run_id: str
    path: Path
    manifest: dict[str, Any]


def current_export(settings: Settings) -> Export | None:
    """The export the link names now (None: nothing exported yet)."""
    link = exports_link(settings)
    manifest = link / MANIFEST
    if not manifest.exists():
        return None
    content = json.loads(manifest.read_text(encoding="utf-8"))
    return Export(str(content["build_id"]), link.resolve(), content)


def write_exports(
    settings: Settings,
    run_id: str,
    warehouse: Path,
    pii: dict[str, dict[str, str]],
    months: dict[str, str] | None = None,
    digests: dict[str, Parts] | None = None,
    days: dict[str, str] | None = None,
) -> Export:
    """Export every public mart of `warehouse` (the published version of `run_id`) and switch
    the link to it; keep the export before, remove older ones. `months`: the marts exported one
    folder a month of a date column other than `month_start` (`month_columns`); `days`: the marts
    exported a file a day of their date column (`day_columns`), each in its month's folder or the
    mart's own; `digests`: the marts' `part_digests` as the publish measured them (by day for a
    mart in `days`, else by its folders), when known (else measured here)."""
    store = exports_store(settings)
    store.mkdir(parents=True, exist_ok=True)
    target = store / run_id
    partial = store / f".{run_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    before = current_export(settings)
    try:
        manifest, written = _export(warehouse, partial, run_id, pii, months or {}, before, digests or {}, days or {})
    except (duckdb.Error, OSError, ExportFailed) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ExportFailed(f"exporting {warehouse} (version {run_id}) into {partial} failed: {exc}") from exc
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)
    links.switch(exports_link(settings), target)
    links.prune(exports_store(settings), keep=target)
    folders = sum(len(info.get("days") or info["parts"]) for info in manifest["marts"].values())
    log.info(
        "exported %d marts of version %s to %s: %d of %d folders or days written, the others linked from %s",
        len(manifest["marts"]),
        run_id,
        exports_link(settings),
        written,
        folders,
        before.run_id if before else "no export before",
    )
    return Export(run_id, target, manifest)


def switch_to(settings: Settings, run_id: str) -> Export | None:
    """Point the link at the kept export of `run_id` (a rollback); None when it is not kept."""
    target = exports_store(settings) / run_id
    if not (target / MANIFEST).exists():
        return None
    links.switch(exports_link(settings), target)
    return current_export(settings)


def _export(
    warehouse: Path,
    folder: Path,
    run_id: str,
    pii: dict[str, dict[str, str]],
    months: dict[str, str],
    before: Export | None,
    digests: dict[str, Parts],
    days: dict[str, str],
) -> tuple[dict[str, Any], int]:
    """Write the export into `folder`; the manifest, and how many folders or files of a day were
    written (the others are linked from the export `before`)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    marts: dict[str, Any] = {}
    written = 0
    try:
        build = con.sql("select lake_version, cast(built_at as varchar) from audit.warehouse_build").fetchone()
        # tables, or views over a Spark build's files (bankdw.spark_tables)
        tables = [
            row[0]
            for row in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        for mart in sorted(tables):
            described = con.sql(f"describe marts.{mart}").fetchall()
            columns = [c[0] for c in described]
            masked = pii.get(mart, {})
            split = month_column(mart, columns, months)
            if split is not None and (split not in columns or split in masked):
                raise ExportFailed(f"mart {mart} cannot be exported by month of {split!r}: no such column, or masked")
            if days.get(mart) in masked:
                raise ExportFailed(
                    f"mart {mart} cannot be exported a file a day of {days[mart]!r}: the column is masked"
                )
            day = day_column(mart, described, days)  # as the publish holds it
            part = month_sql(split)
            measured = digests.get(mart)  # as the publish found them writing the version (the same rows)
            files = None
            if day is not None:  # a file a day: the digests are the days'
                files = measured if measured is not None else part_digests(con, f"marts.{mart}", day_sql(day))
                measured = by_month(files, split is not None)
            # a mart without rows is one file of its columns, whatever its split: readers find them
            parts = (measured if measured is not None else part_digests(con, f"marts.{mart}", part)) or {"": [0, "0"]}
            by_month_folder = split is not None and "" not in parts
            by_day = day is not None and bool(files)
            kept, source = (before.manifest["marts"].get(mart, {}), before.path) if before else ({}, None)
            alike = (
                kept.get("columns"),
                kept.get("pii"),
                kept.get("month_column"),
                kept.get("day_column"),
            ) == (columns, masked, split, day if by_day else None)
            analyst = ", ".join(f'{mask_sql(c, masked[c])} as "{c}"' if c in masked else f'"{c}"' for c in columns)
            places = [(analyst, Path(mart))] + ([("*", Path(STEWARD) / mart)] if masked else [])
            if masked:
                (folder / STEWARD).mkdir(mode=0o700, exist_ok=True)
            if by_day:  # linked or written a file a day, else a folder a part
                assert day is not None and files is not None
                held, kept_as = files, "days"
                files_of, write = partial(_day_files, split=split), partial(_copy_days, con, day=day, split=split)
            else:
                held, kept_as = parts, "parts"
                files_of = partial(_part_files, by_month=by_month_folder)
                write = partial(_copy, con, part=part if by_month_folder else None)
            kept_parts = kept.get(kept_as, {}) if alike else {}
            written += _export_parts(mart, folder, places, held, kept_parts, source, files_of, write)
            marts[mart] = {
                "rows": sum(rows for rows, _ in parts.values()),
                "partitioned_by": "month" if split else None,
                "month_column": split,
                "day_column": day if by_day else None,
                "columns": columns,
                "pii": masked,
                "parts": parts,
                **({"days": files} if by_day else {}),
            }
    finally:
        con.close()
    manifest = {
        "build_id": run_id,
        "lake_version": build[0] if build else None,
        "built_at": build[1] if build else None,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "marts": marts,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest, written


def _copy(con: duckdb.DuckDBPyConnection, query: str, folder: Path, parts: list[str], part: str | None) -> None:
    """Write the rows of `query` into `folder`: one file, or with `part` (a month's SQL) one
    folder `month=<YYYY-MM>` each of `parts`."""
    if part is None:
        con.execute(f"copy ({query}) to '{folder / 'data_0.parquet'}' (format parquet)")
        return
    months = ", ".join(f"'{month}'" for month in parts)
    # the month folder is an extra column; the date stays in the files as the mart has it
    con.execute(
        f"copy (select * from (select *, {part} as month from ({query})) where month in ({months})) to '{folder}' "
        "(format parquet, partition_by (month), filename_pattern 'data_{i}')"
    )


def _export_parts(
    mart: str,
    folder: Path,
    places: list[tuple[str, Path]],
    parts: Parts,
    kept: Parts,
    source: Path | None,
    files_of: Callable[[Path, str], list[Path]],
    write: Callable[[str, Path, list[str]], None],
) -> int:
    """Export `mart` by `parts` (its folders a month, the mart whole, or its files a day) into
    each of `places`: a part whose rows are those of the export before (`kept`) and whose files
    (`files_of` a place and a part) are all still there in `source` is linked, file by file; the
    others are written (`write` the place's query, the place's folder, the parts) in one pass.
    Returns how many parts were written."""
    unchanged = [
        key
        for key, figures in parts.items()
        if source is not None and kept.get(key) == figures and all(files_of(source / place, key) for _, place in places)
    ]
    changed = [key for key in parts if key not in unchanged]
    for select, place in places:
        (folder / place).mkdir()
        if changed:  # first: DuckDB writes partitions only into an empty folder
            write(f"select {select} from marts.{mart}", folder / place, changed)
        for key in unchanged:
            assert source is not None
            for file in files_of(source / place, key):
                target = folder / place / file.relative_to(source / place)
                target.parent.mkdir(exist_ok=True)
                os.link(file, target)
    return len(changed)


def _day_file(place: Path, key: str, split: str | None) -> Path:
    """The file of day `key` (`day_sql`) of a mart exported a file a day: in its month's folder
    when the mart is split by month, else in the mart's own."""
    return (place / f"month={month_of_day(key)}" if split else place) / f"data_{key}.parquet"


def _day_files(place: Path, key: str, split: str | None) -> list[Path]:
    """The files of day `key` there (DuckDB may write a large day as several)."""
    file = _day_file(place, key, split)
    return sorted(file.parent.glob(f"data_{key}*.parquet")) if file.parent.is_dir() else []


def _copy_days(
    con: duckdb.DuckDBPyConnection, query: str, folder: Path, keys: list[str], day: str, split: str | None
) -> None:
    """Write the rows of `query` of the days `keys` into `folder`, a file a day (`_day_file`):
    one pass partitioned by day into a folder of its own, each day's files then moved."""
    staged = folder / ".days"
    con.execute(
        f"copy (select * from (select *, {day_sql(day)} as day_key from ({query})) where {days_condition(day, keys)}) "
        f"to '{staged}' (format parquet, partition_by (day_key), filename_pattern 'data_{{i}}')"
    )
    for key in keys:
        target = _day_file(folder, key, split)
        target.parent.mkdir(exist_ok=True)
        for index, file in enumerate(sorted((staged / f"day_key={key}").glob("*.parquet"))):
            file.replace(target if index == 0 else target.with_name(f"data_{key}_{index}.parquet"))
    shutil.rmtree(staged)


def days_condition(column: str, days: list[str]) -> str:
    """The rows of `days` (`day_sql`'s keys) as a condition on the date `column` itself, which
    DuckDB takes to its scans (a day's rows are found by the column's min and max per row group)."""
    dates = [f"date '{day}'" for day in days if day != "none"]
    held = [f'"{column}" in ({", ".join(dates)})'] if dates else []
    return " or ".join(held + ([f'"{column}" is null'] if "none" in days else []))


def _part(place: Path, key: str, by_month: bool) -> Path:
    """The folder of a mart's part `key`: its month's, or the mart's own."""
    return place / f"month={key}" if by_month else place


def _part_files(place: Path, key: str, by_month: bool) -> list[Path]:
    """The files of a mart's part `key` there (`_part`)."""
    return sorted(_part(place, key, by_month).glob("*.parquet"))
