"""Published warehouse versions: publish a build, keep the last few, roll back to one.

    <data>/warehouse/bank.duckdb                     what analysts and BI tools open (read-only)
    <data>/warehouse/versions/bank-<run_id>.duckdb   each published build as readers see it (newest `keep_versions`)
    <data>/warehouse/versions/state-<run_id>/bank.duckdb  the whole build it was made from, which the next starts from
    <data>/warehouse/versions/identity-<run_id>/     the identity (key registry, merge log) each was built with
    <data>/warehouse/checksums/bank-<run_id>.duckdb.sha256  each kept version's checksum, recorded when published
    <data>/warehouse/versions/scores-<run_id>/       the archive of scores each was built with
    <data>/lake/_identity/                           the published version's identity, installed beside the lake
    <data>/lake/_scores/                             the published version's archive of scores, installed too

Built on Spark (setting engine, docs/spark.md), a version has two more entries and the same file:

    <data>/warehouse/versions/state-<run_id>/spark/   Spark's warehouse, metastore and tables.json,
                                                      which the next build restores (`restore_spark_state`)
    <data>/warehouse/versions/bank-<run_id>/<schema>/<table>/   the reader tables' Parquet files,
                                                      linked from the state, read-only
    bank-<run_id>.duckdb and state-<run_id>/bank.duckdb are then DuckDB files of views over those files

A published build is moved into `versions/` and then *hard-linked* over the published path:
a link under a temporary name, renamed over `bank.duckdb`. The rename is atomic, so a reader
that opens `bank.duckdb` gets either the old file or the new one, whole, and a reader holding
the old one keeps it until it reconnects. Linking instead of copying costs no time and no
space (a warehouse may be gigabytes); it is safe because nothing opens a published file
for writing: a published version is made read-only (the link shares its inode, so the
published file is too), and its checksum is recorded (`<warehouse>/checksums/<version>.sha256`). A build
starts only from a published file whose checksum is a kept version's, and a rollback only
to a version that still has its checksum; either says so when not. Rolling back swaps an
older version in the same way, holding the run lock (`bankdw.pipeline.rollback`).

What readers see is not the whole build: a published version holds the schemas of
`READER_SCHEMAS` only (the public marts, `audit`, the `assumptions`), copied table by table
from the build. After an incremental build it starts as a copy of the published version and
takes only the tables, or days or months of a table, whose rows changed (`_write_reader`); after a full
refresh it is written anew, which also leaves no page of rows deleted since in the file. The
build's `staging` views (which name the lake's absolute paths) and its `intermediate` tables
(customers' national ids, phones, e-mails and addresses, unmasked) stay in the build's *state*
(`state-<run_id>/bank.duckdb`: under the build's file name, which its views name it by; sealed
and checksummed like the version, never linked where readers look): the next incremental build
starts from a copy of it (`copy_published_state`), and so does training on the published
history (`published_state_path`).

What a run writes beside the build that must outlive the warehouse file is published with it
(`KEPT_DIRS`, in bankdw.warehouse: the build's dbt command line names them), by one
mechanism: the build area's folder is kept beside the version
(`versions/<kind>-<run_id>/`), then installed beside the lake, each file linked in under a
temporary name and renamed over the published one, files of another version removed, and a
marker naming the run written last. A rollback installs the folders of the version it
restores. Two kinds: the build's identity (models/identity/resolve.py: the key registry and
merge log the build's keys come from), installed as `<lake>/_identity/`, so the next night keys
from what is published; and the archive of scores (bankdw/scores.py: every published night's
model scores, which the score marts are built from), installed as `<lake>/_scores/`, so a
rolled-back night's scores are gone and a full refresh rebuilds the marts from what was published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bankdw import docs
from bankdw.config import Settings
from bankdw.exports import (
    Parts,
    current_export,
    day_column,
    day_columns,
    day_sql,
    days_condition,
    month_column,
    month_columns,
    month_sql,
    part_digests,
    pii_columns,
    switch_to,
    write_exports,
)
from bankdw.spark_tables import SparkTable, create_views, described, in_model_order, write_catalog
from bankdw.warehouse import (
    BUILD_INFO_TABLE,
    IDENTITY,
    KEPT_DIRS,
    KeptDir,
    build_path,
    published_run_id,
    versions_dir,
)
from extract.landing import sha256_of
from extract.sql import literal

log = logging.getLogger(__name__)

VERSION_PREFIX = "bank-"
STATE_PREFIX = "state-"
READER_SCHEMAS = ("marts", "audit", "assumptions")
"""The schemas a published version holds: what analysts and BI tools may open."""
IDENTITY_MARKER = "_published.json"
"""Written last into `<lake>/_identity/` (and any kept folder) when it is installed: the run it belongs to."""
INSTALLING = ".installing"


class RollbackError(Exception):
    """There is no such version, or no version older than the published one."""


@dataclass(frozen=True)
class Version:
    run_id: str
    path: Path
    lake_version: str | None
    built_at: str | None
    published: bool
    size_bytes: int


def version_path(settings: Settings, run_id: str) -> Path:
    return versions_dir(settings) / f"{VERSION_PREFIX}{run_id}.duckdb"


def state_path(settings: Settings, run_id: str) -> Path:
    """The whole build of version `run_id` (every schema): what the next build starts from. Under
    the build's own file name (DuckDB names a database after its file, and the build's views
    name their tables with it), in a folder of its own."""
    return versions_dir(settings) / f"{STATE_PREFIX}{run_id}" / build_path(settings).name


def identity_version_path(settings: Settings, run_id: str) -> Path:
    return IDENTITY.version_path(settings, run_id)


def publish_version(settings: Settings, built: Path, run_id: str, incremental: bool = True) -> Path:
    """Keep the build and its kept folders (identity, scores) as a version, swap it in as the
    published warehouse, install its folders beside the lake, prune old versions. `incremental`:
    the reader file starts from the published one (`_write_reader`); a full refresh writes it anew."""
    version = version_path(settings, run_id)
    version.parent.mkdir(parents=True, exist_ok=True)
    timer = _Timer(run_id)
    for kept in KEPT_DIRS:
        built_dir = kept.build(settings)
        if built_dir.is_dir():
            shutil.rmtree(kept.version_path(settings, run_id), ignore_errors=True)
            built_dir.replace(kept.version_path(settings, run_id))
    state = state_path(settings, run_id)
    state.parent.mkdir(exist_ok=True)
    if settings.engine == "spark":
        _keep_spark_state(settings, built, state)
    else:
        built.replace(state)
    _seal(state)
    timer.done(f"build state kept and sealed ({state.stat().st_size / 1e6:,.0f} MB)")
    digests: dict[str, Parts] | None = None
    manifest = _manifest(settings)
    months = month_columns(manifest) if manifest.exists() else {}
    days = day_columns(manifest) if manifest.exists() else {}
    if settings.engine == "spark":
        _write_spark_reader(settings, state, version, run_id)
        timer.done("reader file written")
    else:
        before = settings.warehouse_path if incremental and settings.warehouse_path.exists() else None
        known, known_days = _known_digests(settings, days)
        written, digests = _write_reader(state, version, before, months, known, days, known_days)
        timer.done(f"reader file written ({written} tables or parts of one written, the rest kept from {before})")
    _seal(version)
    timer.done(f"reader file sealed ({version.stat().st_size / 1e6:,.0f} MB)")
    _swap_in(settings, version)
    install_kept(settings, run_id)
    log.info("published %s (version %s)", settings.warehouse_path, run_id)
    export(settings, run_id, digests, months, days)
    timer.done("exports written")
    if settings.publish_docs:
        generate_docs(settings, run_id)
        timer.done("docs generated")
    prune(settings)
    timer.done("old versions pruned")
    return settings.warehouse_path


class _Timer:
    """Logs how long each part of a publish took (the log file's detail: where a night's
    publish time goes at bank scale, docs/performance.md)."""

    def __init__(self, run_id: str) -> None:
        self.run_id, self.last = run_id, time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        log.info("publish %s: %s in %.1f s", self.run_id, what, now - self.last)
        self.last = now


def generate_docs(settings: Settings, run_id: str) -> None:
    """The dbt docs of published version `run_id` (`bankdw.docs`). Docs are not the data: when
    dbt cannot make them the version stays published and the link keeps the last good docs."""
    try:
        docs.generate(settings, run_id)
    except docs.DocsFailed as failed:
        log.warning("version %s is published without its docs: %s", run_id, failed)


def export(
    settings: Settings,
    run_id: str,
    digests: dict[str, Parts] | None = None,
    months: dict[str, str] | None = None,
    days: dict[str, str] | None = None,
) -> None:
    """Write the Parquet exports of published version `run_id` (`bankdw.exports`), masking the
    columns the dbt project tags as PII (dbt's manifest of the build says which). `digests`: its
    marts' digests, when the publish measured them; `months`, `days`: the marts split by a date's
    months and exported a file a day (`bankdw.exports.month_columns`, `day_columns`), when the
    publish read them."""
    manifest = _manifest(settings)
    if not manifest.exists():  # a version not built by dbt here: PII unknown, so nothing unmasked goes out
        log.warning("no dbt manifest at %s: the PII columns are unknown, version %s is not exported", manifest, run_id)
        return
    months = month_columns(manifest) if months is None else months
    days = day_columns(manifest) if days is None else days
    write_exports(settings, run_id, version_path(settings, run_id), pii_columns(manifest), months, digests, days)


def _manifest(settings: Settings) -> Path:
    """dbt's manifest of the build, in the data dir's dbt target folder."""
    return settings.root / "dbt" / "target" / "manifest.json"


def _known_digests(settings: Settings, days: dict[str, str]) -> tuple[dict[str, Parts], dict[str, Parts]]:
    """The published version's marts' digests, from its export: by folder, and by day for the
    marts it exported a file a day of the date they are held by now (`days`); none when the
    export is of another version, or older than the digests."""
    exported = current_export(settings)
    if exported is None or exported.run_id != published_run_id(settings):
        return {}, {}
    marts = exported.manifest["marts"].items()
    return (
        {mart: info["parts"] for mart, info in marts if "parts" in info},
        {mart: info["days"] for mart, info in marts if "days" in info and info.get("day_column") == days.get(mart)},
    )


def _write_reader(
    state: Path,
    version: Path,
    before: Path | None = None,
    months: dict[str, str] | None = None,
    known: dict[str, Parts] | None = None,
    days: dict[str, str] | None = None,
    known_days: dict[str, Parts] | None = None,
) -> tuple[int, dict[str, Parts]]:
    """Write into `version` the tables of `READER_SCHEMAS` of the build `state`, with their
    constraints and comments. Returns how many tables, or days or months of one, were written,
    and the marts' `part_digests` by their parts here (which the export takes: it exports a dated
    mart a file a day, and sums the days' digests for its folders).

    A new file holds no page of the build's other schemas (the intermediates' unmasked PII). It
    starts as a copy of the published version `before` (a reader file too) when given: a table
    defined as before keeps the parts whose rows have the same digests, and only the others are
    deleted and inserted again; a table whose every part changed, or defined anew, is written
    whole. A part is a day of a dated mart (`days`: its date column, `bankdw.exports.day_columns`),
    a month of a monthly mart (`bankdw.exports.month_column`), else the whole table. A night then
    writes the days it changed, not the month nor the history (docs/performance.md). Pages of
    rows deleted so stay in the file as free blocks until reused; a full refresh writes the file
    anew. `known`, `known_days`: the marts' digests in `before` (its export's, by folder and,
    for a mart exported a file a day, by day), else they are measured there (a dated mart once
    whole, the first night after an export by month)."""
    partial = version.with_name(f".{version.name}.partial")
    partial.unlink(missing_ok=True)
    partial.with_name(f"{partial.name}.wal").unlink(missing_ok=True)
    if before is not None:
        shutil.copyfile(before, partial)  # the published file is read-only, its copy not
        partial.chmod(0o600)
    schemas = ", ".join(f"'{name}'" for name in READER_SCHEMAS)
    written, digests = 0, {}
    con = duckdb.connect(str(partial))
    try:
        con.execute(f"attach {literal(state)} as build (read_only)")
        [(reader,)] = con.sql("select current_database()").fetchall()
        held_in = f"database_name = '{reader}' and schema_name in ({schemas})"
        built_in = f"database_name = 'build' and schema_name in ({schemas})"
        built = con.sql(
            f"select schema_name, table_name, sql, comment from duckdb_tables() where {built_in} order by all"
        ).fetchall()
        held = {
            (r[0], r[1]): (r[2], r[3])
            for r in con.sql(
                f"select schema_name, table_name, sql, comment from duckdb_tables() where {held_in}"
            ).fetchall()
        }
        for schema, view in con.sql(
            f"select schema_name, view_name from duckdb_views() where {held_in} and not internal"
        ).fetchall():
            con.execute(f"drop view {schema}.{view}")  # a version built on Spark holds views (bankdw.spark_tables)
        for schema, table in held.keys() - {(row[0], row[1]) for row in built}:
            con.execute(f"drop table {schema}.{table}")
        for schema in {row[0] for row in built}:
            con.execute(f"create schema if not exists {schema}")
        for schema, table, create, comment in built:
            described = con.sql(f"describe build.{schema}.{table}").fetchall()
            columns = [row[0] for row in described]
            split = month_column(table, columns, months or {}) if schema == "marts" else None
            day = day_column(table, described, days or {}) if schema == "marts" else None
            part = day_sql(day) if day else month_sql(split)
            parts = part_digests(con, f"build.{schema}.{table}", part)
            if schema == "marts":
                digests[table] = parts
            held_create, held_comment = held.get((schema, table), (None, None))
            if held_create == create:
                # the file before's parts as its export knew them (by day or by folder), else measured
                was = ((known_days if day else known) or {}).get(table) if schema == "marts" else None
                was = part_digests(con, f"{schema}.{table}", part) if was is None else was
                changed = sorted(key for key in parts.keys() | was.keys() if parts.get(key) != was.get(key))
                if changed and set(changed) < parts.keys() | was.keys():  # some parts as they were
                    which = days_condition(day, changed) if day else f"{part} in ({', '.join(map(literal, changed))})"
                    con.execute(f"delete from {schema}.{table} where {which}")
                    con.execute(f"insert into {schema}.{table} select * from build.{schema}.{table} where {which}")
                    written += len(changed)
                elif changed:
                    _write_table(con, schema, table, create, replace=True)
                    written, held_comment = written + 1, None
            else:
                _write_table(con, schema, table, create, replace=held_create is not None)
                written, held_comment = written + 1, None
            if held_comment != comment:
                con.execute(f"comment on table {schema}.{table} is {_quoted(comment) if comment else 'null'}")
        columns_of = "select schema_name, table_name, column_name, comment from duckdb_columns() where "
        said = {row[:3]: row[3] for row in con.sql(columns_of + held_in).fetchall()}
        for schema, table, column, comment in con.sql(columns_of + built_in).fetchall():
            if said.get((schema, table, column)) != comment:
                con.execute(
                    f'comment on column {schema}.{table}."{column}" is {_quoted(comment) if comment else "null"}'
                )
        con.execute("detach build")
        con.execute("checkpoint")
    finally:
        con.close()
    partial.replace(version)
    return written, digests


def _write_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, create: str, replace: bool) -> None:
    """Write `schema.table` whole from the attached build, as `create` defines it; `replace`: drop
    the one there first, its blocks freed (a checkpoint) for what is written next."""
    if replace:
        con.execute(f"drop table {schema}.{table}")
        con.execute("checkpoint")
    con.execute(create)  # `CREATE TABLE schema.table(...)`: types and NOT NULL as the contract built them
    con.execute(f"insert into {schema}.{table} select * from build.{schema}.{table}")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SPARK_STATE = "spark"
"""A Spark build's state in its version's state folder: Spark's warehouse (the tables' Parquet
files), its metastore and the tables' description (`bankdw.spark_tables`)."""
SPARK_METASTORE = ("metastore_db", "derby.log")
"""What of a Spark state its process writes in place (Derby's files): copied, never linked."""


def spark_state_path(settings: Settings, run_id: str) -> Path:
    return state_path(settings, run_id).parent / SPARK_STATE


def reader_files_path(settings: Settings, run_id: str) -> Path:
    """The Parquet files of a version built on Spark, linked from its state, which the version's
    views read (`_write_spark_reader`); none for a version built on DuckDB."""
    return versions_dir(settings) / f"{VERSION_PREFIX}{run_id}"


def _keep_spark_state(settings: Settings, built: Path, state: Path) -> None:
    """Keep a Spark build as its version's state: the Spark folder moved beside `state`, and `state`
    a DuckDB file of views over the files there with the build's stamp, as the build file was
    (`bankdw.spark_tables.write_catalog`): what the models' training and the next build read."""
    kept = state.parent / SPARK_STATE
    shutil.rmtree(kept, ignore_errors=True)
    settings.spark_dir.replace(kept)
    write_catalog(kept, state)
    _copy_build_info(built, state)
    built.unlink()


def _copy_build_info(source: Path, target: Path) -> None:
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach {literal(source)} as build (read_only)")
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table {BUILD_INFO_TABLE} as select * from build.{BUILD_INFO_TABLE}")
        con.execute("detach build")
        con.execute("checkpoint")


def _write_spark_reader(settings: Settings, state: Path, version: Path, run_id: str) -> None:
    """Write `version` for a build on Spark: the tables of `READER_SCHEMAS` as views over their
    Parquet files, linked from the state into `reader_files_path` (read-only: what readers open is
    never written again; Spark's next build, starting from links of the same files, replaces
    files, it never writes one in place), their columns in their models' order (`in_model_order`),
    and the build's stamp, as a table. Nothing is copied."""
    spark_state, files = state.parent / SPARK_STATE, reader_files_path(settings, run_id)
    reader_tables = [table for table in described(spark_state) if table.schema in READER_SCHEMAS]
    tables = in_model_order(reader_tables, _manifest(settings))
    shutil.rmtree(files, ignore_errors=True)
    for table in tables:
        _link_tree(spark_state / table.folder, _reader_folder(files, table), mode=0o440)
    partial = version.with_name(f".{version.name}.partial")
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        create_views(con, tables, lambda table: _reader_folder(files, table))
        con.execute("checkpoint")
    _copy_build_info(state, partial)
    partial.replace(version)


def _reader_folder(files: Path, table: SparkTable) -> Path:
    return files / table.schema / table.name


def _link_tree(source: Path, target: Path, mode: int | None = None, copied: tuple[str, ...] = ()) -> None:
    """`target` made to hold `source`'s files, each a hard link (a copy across file systems, and for
    the names in `copied`), but for hidden ones (Spark's checksums) and `_SUCCESS` markers."""
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source)
        if path.is_dir() or path.name.startswith(".") or path.name == "_SUCCESS":
            continue
        linked = target / name
        linked.parent.mkdir(parents=True, exist_ok=True)
        if name.parts[0] in copied:
            shutil.copy2(path, linked)
            continue
        _link_or_copy(path, linked)
        if mode is not None:
            linked.chmod(mode)


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` a hard link to `source`, or a copy where a link cannot be made (another file system)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def restore_spark_state(settings: Settings) -> None:
    """Start a Spark build from the state of the published version: its Spark folder cloned into the
    build area, the tables' files linked (Spark replaces files, it never writes one in place), the
    metastore copied (Derby writes its files in place). The metastore names the tables' folders by
    absolute path, the build area's, where the state was built: so they are found again (a data
    dir moved elsewhere builds afresh, `bankdw.warehouse.project_fingerprint`)."""
    run_id = published_run_id(settings)
    state = spark_state_path(settings, run_id) if run_id else None
    if state is None or not state.is_dir():
        raise VersionChanged(
            f"the published version ({run_id or 'none'}) keeps no Spark state to build on from "
            f"({state}): rebuild from the lake (`bankdw run --rebuild`)"
        )
    verify_published(settings)
    shutil.rmtree(settings.spark_dir, ignore_errors=True)
    _link_tree(state, settings.spark_dir, copied=SPARK_METASTORE)


CHECKSUM_SUFFIX = ".sha256"
"""Of every kept version, `<warehouse>/checksums/<version file>.sha256`: `<sha256>  <file name>`
(sha256sum's format), read-only, written when the version is published: the versions' audit,
which a build and a rollback check."""


def checksum_path(version: Path) -> Path:
    if version.parent.name.startswith(STATE_PREFIX):  # versions/state-<run_id>/bank.duckdb
        return version.parent.parent.parent / "checksums" / (f"{version.parent.name}.duckdb" + CHECKSUM_SUFFIX)
    return version.parent.parent / "checksums" / (version.name + CHECKSUM_SUFFIX)


def _seal(version: Path) -> None:
    """Make a published version read-only (the published file is a hard link to it: the same
    inode, so read-only too) and record its checksum beside it."""
    version.chmod(0o440 if version.parent.stat().st_mode & 0o050 else 0o400)
    record = checksum_path(version)
    record.parent.mkdir(parents=True, exist_ok=True)
    partial = record.with_name(f".{record.name}.tmp")
    partial.write_text(f"{sha256_of(version)}  {version.name}\n", encoding="utf-8")
    partial.chmod(0o400)
    partial.replace(record)


def recorded_checksum(version: Path) -> str | None:
    """The checksum recorded when `version` was published (None: published before checksums were)."""
    record = checksum_path(version)
    return record.read_text(encoding="utf-8").split()[0] if record.exists() else None


class VersionChanged(Exception):
    """A published or kept version no longer has the checksum recorded when it was published."""


def verify_published(settings: Settings, copy_to: Path | None = None) -> None:
    """Raise `VersionChanged` if the published warehouse is not, byte for byte, a kept version as
    it was published (someone opened it read-write and changed it, say). Versions published
    before checksums were recorded are taken as they are.

    With `copy_to`, the published file is also copied there in the same read (the nightly
    build starts from that copy): a large warehouse is read once, not once to check and once
    to copy. A copy that fails the check is removed."""
    published = settings.warehouse_path
    if not published.exists():
        return
    recorded = {recorded_checksum(v): v for v in versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb")}
    recorded.pop(None, None)
    if not recorded:
        if copy_to is not None:
            shutil.copyfile(published, copy_to)
        return
    actual = sha256_of(published) if copy_to is None else _copy_hashing(published, copy_to)
    if actual not in recorded:
        if copy_to is not None:
            copy_to.unlink(missing_ok=True)
        raise VersionChanged(
            f"the published warehouse {published} has sha256 {actual}, which no kept version had when it was "
            "published: it was changed in place. Nothing is built from it; roll back to a kept version "
            "(`bankdw rollback`) or rebuild from the lake (`bankdw run --rebuild`)"
        )


def published_state_path(settings: Settings) -> Path:
    """The whole build behind the published version (its staging and intermediate schemas too):
    what a build and the models' training start from. A version published before versions kept
    their state is whole itself. Found by the run that built the published file (its
    `audit.warehouse_build`), not by its link: a copied data dir keeps no links."""
    run_id = published_run_id(settings)
    state = state_path(settings, run_id) if run_id else None
    return state if state is not None and state.exists() else settings.warehouse_path


def copy_published_state(settings: Settings, copy_to: Path) -> None:
    """Copy the whole build behind the published version to `copy_to` (where the nightly build
    starts), checking as it copies that neither the published file nor that state changed since
    they were published (`VersionChanged`). On Spark the build starts from the published version's
    Spark state instead (`restore_spark_state`): `copy_to`, a catalog of views, is written after the build."""
    if settings.engine == "spark":
        restore_spark_state(settings)
        return
    state = published_state_path(settings)
    if state == settings.warehouse_path:
        verify_published(settings, copy_to)
        return
    verify_published(settings)
    expected = recorded_checksum(state)
    actual = _copy_hashing(state, copy_to)
    if expected is not None and actual != expected:
        copy_to.unlink(missing_ok=True)
        raise VersionChanged(
            f"the build state {state} has sha256 {actual}, not {expected} as when it was published: it was "
            "changed in place. Nothing is built from it; roll back to a kept version (`bankdw rollback`) "
            "or rebuild from the lake (`bankdw run --rebuild`)"
        )


def _copy_hashing(source: Path, target: Path, chunk_size: int = 1 << 20) -> str:
    """Copy `source` to `target` and return its sha256, reading it once."""
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(chunk_size):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def _verify_version(version: Path) -> None:
    expected = recorded_checksum(version)
    if expected is not None and sha256_of(version) != expected:
        raise VersionChanged(
            f"version {version.name} has changed since it was published (sha256 differs from {expected})"
        )


def install_kept(settings: Settings, run_id: str) -> None:
    """Install version `run_id`'s kept folders beside the lake (`KEPT_DIRS`)."""
    for kept in KEPT_DIRS:
        _install(kept.version_path(settings, run_id), kept.installed(settings), run_id)


def _install(source: Path, target: Path, run_id: str) -> None:
    """Make `target` hold what `source` holds: each file linked (a copy across file systems)
    under a temporary name and renamed over the one installed, then the files no longer in
    `source` removed (a rolled-back night's scores), then the marker naming the run. Kept files
    are never written in place (every writer renames a new file in), so links are safe."""
    if not source.is_dir():
        log.warning("version %s keeps no %s (published before it was kept): %s left as is", run_id, source.name, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    wanted = {path.relative_to(source) for path in source.rglob("*") if path.is_file()}
    for name in sorted(wanted):
        installed = target / name
        if installed.exists() and installed.samefile(source / name):
            continue
        installed.parent.mkdir(parents=True, exist_ok=True)
        partial = installed.with_name(f".{installed.name}{INSTALLING}")
        partial.unlink(missing_ok=True)
        _link_or_copy(source / name, partial)
        partial.replace(installed)
    for stale in sorted(target.rglob("*"), reverse=True):  # files before the folders that held them
        name = stale.relative_to(target)
        if stale.is_file() and name not in wanted and name != Path(IDENTITY_MARKER):
            stale.unlink()
        elif stale.is_dir() and not any(stale.iterdir()):
            stale.rmdir()
    marker = target / f".{IDENTITY_MARKER}{INSTALLING}"
    marker.write_text(json.dumps({"run_id": run_id}) + "\n", encoding="utf-8")
    marker.replace(target / IDENTITY_MARKER)


def published_identity_dir(settings: Settings) -> Path:
    """The identity of the published version, which the next resolve step keys from."""
    return published_kept_dir(settings, IDENTITY)


def published_kept_dir(settings: Settings, kept: KeptDir) -> Path:
    """The folder of kind `kept` of the published version, which the next run starts from: the
    one kept beside it, or the one installed beside the lake for a version published before
    such folders were kept (or none published yet: then it holds nothing)."""
    for version in versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb"):
        if _is_published(settings, version):
            found = kept.version_path(settings, version.stem.removeprefix(VERSION_PREFIX))
            if found.is_dir():
                return found
    return kept.installed(settings)


def _swap_in(settings: Settings, version: Path) -> None:
    published = settings.warehouse_path
    published.parent.mkdir(parents=True, exist_ok=True)
    for stray in published.parent.glob(f".{published.name}.*.tmp"):  # links a killed publish left
        stray.unlink(missing_ok=True)
    tmp = published.with_name(f".{published.name}.{version.stem}.tmp")
    os.link(version, tmp)
    tmp.replace(published)


def _is_published(settings: Settings, path: Path) -> bool:
    published = settings.warehouse_path
    return published.exists() and path.exists() and published.samefile(path)


def list_versions(settings: Settings) -> list[Version]:
    """Every kept version, newest first, with the build stamp it carries."""
    found = []
    for path in sorted(versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb"), reverse=True):
        lake_version = built_at = None
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                row = con.sql(f"select lake_version, built_at from {BUILD_INFO_TABLE}").fetchone()
            if row is not None:
                lake_version, built_at = row[0], str(row[1])
        except duckdb.Error as exc:
            log.warning("version %s cannot be read: %s", path, exc)
        found.append(
            Version(
                run_id=path.stem.removeprefix(VERSION_PREFIX),
                path=path,
                lake_version=lake_version,
                built_at=built_at,
                published=_is_published(settings, path),
                size_bytes=path.stat().st_size,
            )
        )
    return found


def prune(settings: Settings) -> list[Path]:
    """Remove versions beyond the newest `keep_versions`, with their kept folders; the published
    one is always kept. Kept folders whose version is gone (an interrupted publish) go too."""
    paths = sorted(versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb"), reverse=True)
    removed = []
    for path in paths[settings.keep_versions :]:
        if not _is_published(settings, path):
            state = state_path(settings, path.stem.removeprefix(VERSION_PREFIX))
            for stale in (path, state):
                checksum_path(stale).unlink(missing_ok=True)
                stale.unlink(missing_ok=True)
            shutil.rmtree(state.parent, ignore_errors=True)
            shutil.rmtree(reader_files_path(settings, path.stem.removeprefix(VERSION_PREFIX)), ignore_errors=True)
            removed.append(path)
    for state in versions_dir(settings).glob(f"{STATE_PREFIX}*"):  # an interrupted publish's
        if not version_path(settings, state.name.removeprefix(STATE_PREFIX)).exists():
            checksum_path(state / build_path(settings).name).unlink(missing_ok=True)
            shutil.rmtree(state)
            removed.append(state)
    for files in versions_dir(settings).glob(f"{VERSION_PREFIX}*"):  # a Spark version's files, its version gone
        if files.is_dir() and not version_path(settings, files.name.removeprefix(VERSION_PREFIX)).exists():
            shutil.rmtree(files)
            removed.append(files)
    for kept in KEPT_DIRS:
        for folder in versions_dir(settings).glob(f"{kept.prefix}*"):
            if not version_path(settings, folder.name.removeprefix(kept.prefix)).exists():
                shutil.rmtree(folder)
                removed.append(folder)
    return removed


def rollback(settings: Settings, to: str | None = None) -> Version:
    """Publish an earlier version atomically: `to` (a run id), or the one before the published one."""
    versions = list_versions(settings)
    if to is not None:
        chosen = [v for v in versions if v.run_id == to]
        if not chosen:
            known = ", ".join(v.run_id for v in versions) or "none"
            raise RollbackError(f"no published version {to!r} is kept (kept: {known})")
        target = chosen[0]
    else:
        current = [i for i, v in enumerate(versions) if v.published]
        older = versions[current[0] + 1 :] if current else []
        if not older:
            raise RollbackError("no version older than the published one is kept")
        target = older[0]
    try:
        _verify_version(target.path)
    except VersionChanged as changed:
        raise RollbackError(str(changed)) from changed
    _swap_in(settings, target.path)
    install_kept(settings, target.run_id)
    if switch_to(settings, target.run_id) is None:
        export(settings, target.run_id)
    if not docs.switch_to(settings, target.run_id) and settings.publish_docs:
        generate_docs(settings, target.run_id)
    log.info("rolled back: %s now serves version %s", settings.warehouse_path, target.run_id)
    return Version(**{**target.__dict__, "published": True})
