"""Parquet exports of the public marts, written after every publish, for tools that read files.

    <data>/exports -> .exports/<run_id>         a symbolic link, switched atomically to a new build
    <data>/.exports/<run_id>/<mart>/data_0.parquet              a mart as analysts may see it
    <data>/.exports/<run_id>/<mart>/month=<YYYY-MM>/data_0.parquet   a monthly mart, one folder a month
    <data>/.exports/<run_id>/_steward/<mart>/                   a mart with PII columns, unmasked (owner only)
    <data>/.exports/<run_id>/_manifest.json                     the build id, and each mart's rows and PII columns

Who reads what: the folders under `exports/` are *analysts'* files: every column tagged
`meta: {pii: true}` in the dbt project is masked in them as the analyst's login of the served
warehouse masks it (`mask_sql`). `_steward/` holds the few marts with PII unmasked, for the
stewards and the served warehouse (`bankdw.serve`), which loads every mart from here.

A reader never sees a half-written export: an export is written whole into a new folder, and
only then is the link `exports` renamed over (an atomic rename), so `exports/<mart>/` resolves
to one build or the other. The export before stays for readers still holding it; older ones
go. A rollback switches the link back to the restored version's export (or writes it again).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
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


def pii_columns(manifest_path: Path) -> dict[str, dict[str, str]]:
    """Per public mart, its columns tagged `meta: {pii: true}` in the dbt project, with their mask
    (`meta.mask`, default `redact`), from dbt's manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tagged: dict[str, dict[str, str]] = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or node.get("schema") != "marts":
            continue
        for name, column in node.get("columns", {}).items():
            meta = {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}
            if meta.get("pii"):
                tagged.setdefault(node["name"], {})[name] = str(meta.get("mask", "redact"))
    return tagged


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


def write_exports(settings: Settings, run_id: str, warehouse: Path, pii: dict[str, dict[str, str]]) -> Export:
    """Export every public mart of `warehouse` (the published version of `run_id`) and switch
    the link to it; keep the export before, remove older ones."""
    store = exports_store(settings)
    store.mkdir(parents=True, exist_ok=True)
    target = store / run_id
    partial = store / f".{run_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        manifest = _export(warehouse, partial, run_id, pii)
    except duckdb.Error as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ExportFailed(f"exporting {warehouse} (version {run_id}) into {partial} failed: {exc}") from exc
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)
    links.switch(exports_link(settings), target)
    links.prune(exports_store(settings), keep=target)
    log.info("exported %d marts of version %s to %s", len(manifest["marts"]), run_id, exports_link(settings))
    return Export(run_id, target, manifest)


def switch_to(settings: Settings, run_id: str) -> Export | None:
    """Point the link at the kept export of `run_id` (a rollback); None when it is not kept."""
    target = exports_store(settings) / run_id
    if not (target / MANIFEST).exists():
        return None
    links.switch(exports_link(settings), target)
    return current_export(settings)


def _export(warehouse: Path, folder: Path, run_id: str, pii: dict[str, dict[str, str]]) -> dict[str, Any]:
    con = duckdb.connect(str(warehouse), read_only=True)
    marts: dict[str, Any] = {}
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
            columns = [c[0] for c in con.sql(f"describe marts.{mart}").fetchall()]
            masked = pii.get(mart, {})
            monthly = mart.endswith("_monthly") and MONTH_COLUMN in columns
            analyst = ", ".join(f'{mask_sql(c, masked[c])} as "{c}"' if c in masked else f'"{c}"' for c in columns)
            _copy(con, f"select {analyst} from marts.{mart}", folder / mart, monthly)
            if masked:
                steward = folder / STEWARD / mart
                steward.parent.mkdir(mode=0o700, exist_ok=True)
                _copy(con, f"select * from marts.{mart}", steward, monthly)
            rows = con.sql(f"select count(*) from marts.{mart}").fetchone()
            marts[mart] = {
                "rows": rows[0] if rows else 0,
                "partitioned_by": "month" if monthly else None,
                "columns": columns,
                "pii": masked,
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
    return manifest


def _copy(con: duckdb.DuckDBPyConnection, query: str, folder: Path, monthly: bool) -> None:
    if monthly:
        # the month folder is an extra column; month_start stays in the files as the mart has it
        con.execute(
            f"copy (select *, strftime({MONTH_COLUMN}, '%Y-%m') as month from ({query})) to '{folder}' "
            "(format parquet, partition_by (month), filename_pattern 'data_{i}')"
        )
    else:
        folder.mkdir(parents=True)
        con.execute(f"copy ({query}) to '{folder / 'data_0.parquet'}' (format parquet)")
