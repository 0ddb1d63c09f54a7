"""A Spark build's tables as DuckDB reads them: where their Parquet files are, and a DuckDB file of
views over them.

The warehouse builds on Spark (setting engine = spark) into Spark's own warehouse, plain Parquet
tables (dbt_project.yml, `file_format`) under `<spark_dir>/warehouse/<schema>.db/<table>/`, a
partitioned one in a folder per partition (`column=value`). Everything the pipeline itself reads of
a build (the build's stamp, the run's notes, the warehouse tests' measured differences) and
everything readers open (the published version, its exports, the served warehouse) it reads with
DuckDB from those files: no second JVM, no Spark in the scheduler's process, and the published
version is a DuckDB file as on the embedded engine, its tables views over Parquet files that
nothing rewrites (`bankdw.publish`).

    <spark_dir>/tables.json     every table Spark holds: schema, name, folder (relative to
                                `<spark_dir>`), columns with Spark's types, partition columns,
                                comments. Written by the dbt command that built them, in Spark's
                                session (`describe`): Spark's catalog (a Derby metastore) is
                                Spark's alone, and a table with no row has no file to read a type from.

Why views over the files rather than tables copied into DuckDB: a bank on Spark has outgrown one
machine; a published version must not copy its marts. A view costs nothing to write and reads
the files Spark wrote, linked into the version (hard links: one file system).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import duckdb

from extract.sql import ident, literal

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TABLES_FILE = "tables.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
"""The folder name Spark gives a partition whose value is null (`column=__HIVE_DEFAULT_PARTITION__`)."""
APPENDED_PREFIX = "part-appended-"
"""How the files `append_file` adds to a built table start (Spark's own are `part-<n>-...`)."""


@dataclass(frozen=True)
class SparkTable:
    schema: str
    name: str
    folder: str
    """Where its files are, relative to the Spark dir."""
    columns: list[tuple[str, str]]
    """(name, Spark type) in Spark's order: partition columns last."""
    partitions: list[str]
    comment: str | None = None
    column_comments: dict[str, str] | None = None

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


def describe(spark_dir: str | Path, spark: SparkSession | None = None) -> list[SparkTable]:
    """Describe every Parquet table of the Spark session's catalog into `<spark_dir>/tables.json`
    (views are Spark SQL, which DuckDB cannot run: left out). Run in the process whose session
    built them (`bankdw.dbt_command`)."""
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.builder.getOrCreate()
    root = Path(spark_dir).resolve()
    tables = []
    for database in sorted(db.name for db in spark.catalog.listDatabases()):
        for table in sorted(spark.catalog.listTables(database), key=lambda t: t.name):
            if table.tableType == "VIEW" or table.isTemporary:
                continue
            found = _parquet_table(spark, database, table.name, table.description, root)
            if found is not None:
                tables.append(found)
    partial = root / f".{TABLES_FILE}.partial"
    partial.write_text(json.dumps([table.__dict__ for table in tables], indent=1) + "\n", encoding="utf-8")
    partial.replace(root / TABLES_FILE)
    return tables


def describe_table(spark: SparkSession, database: str, name: str, root: Path) -> SparkTable | None:
    """The table `database.name` of Spark's catalog, its folder relative to `root` (the Spark dir);
    None when it is a view or not a Parquet table on this machine's file system."""
    table = spark.catalog.getTable(f"{database}.{name}")
    if table.tableType == "VIEW" or table.isTemporary:
        return None
    return _parquet_table(spark, database, name, table.description, root)


def _parquet_table(spark: SparkSession, database: str, name: str, comment: str | None, root: Path) -> SparkTable | None:
    relation = f"{database}.{name}"
    described = {row[0]: row[1] for row in spark.sql(f"describe table extended {relation}").collect()}
    if str(described.get("Provider")).lower() != "parquet":
        return None
    location = urlparse(str(described["Location"]))
    if location.scheme not in ("", "file"):
        return None
    columns = spark.catalog.listColumns(name, database)
    return SparkTable(
        schema=database,
        name=name,
        folder=os.path.relpath(unquote(location.path), root),
        columns=[(c.name, c.dataType) for c in columns],
        partitions=[c.name for c in columns if c.isPartition],
        comment=comment or None,
        column_comments={c.name: c.description for c in columns if c.description} or None,
    )


def described(spark_dir: Path) -> list[SparkTable]:
    """The tables `describe` found in `spark_dir` (none: nothing built there)."""
    path = spark_dir / TABLES_FILE
    if not path.exists():
        return []
    return [
        SparkTable(**{**row, "columns": [tuple(column) for column in row["columns"]]})
        for row in json.loads(path.read_text(encoding="utf-8"))
    ]


_SIMPLE_TYPES = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    # Spark's timestamp is an instant (written as Parquet's UTC-adjusted timestamp, profiles.yml)
    "timestamp": "TIMESTAMPTZ",
    "timestamp_ntz": "TIMESTAMP",
    "binary": "BLOB",
}


def duckdb_type(spark_type: str) -> str:
    """DuckDB's name of a Spark SQL type (as Spark's catalog writes it: `decimal(18,2)`, `string`)."""
    decimal = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", spark_type)
    if decimal:
        return f"DECIMAL({decimal.group(1)}, {decimal.group(2)})"
    if spark_type.startswith(("varchar", "char")):
        return "VARCHAR"
    if spark_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[spark_type]
    raise ValueError(f"no DuckDB type is known here for Spark's {spark_type!r} (bankdw/spark_tables.py)")


def typed_columns(table: SparkTable) -> str:
    """The select list of `table`'s columns, each cast to DuckDB's name of its Spark type, a partition
    column's value as its folder name gives it (Spark's name for a null partition a null)."""
    return ", ".join(
        f"cast({f'nullif({ident(name)}, {literal(NULL_PARTITION)})' if name in table.partitions else ident(name)} "
        f"as {duckdb_type(kind)}) as {ident(name)}"
        for name, kind in table.columns
    )


def view_sql(table: SparkTable, folder: Path) -> str:
    """The query of a view over `table`'s Parquet files in `folder`, typed as Spark typed it: a
    partition column as the folder names give it (read as text, Spark's name for a null partition
    a null, cast like the others; Spark escapes some characters of a text value in a folder name,
    which this does not undo: the project partitions by dates), a table with no file as no row."""
    columns = typed_columns(table)
    if next(folder.rglob("*.parquet"), None) is None:
        nulls = ", ".join(f"null as {ident(name)}" for name, _ in table.columns)
        return f"select {columns} from (select {nulls}) where false"
    files = literal(f"{folder.resolve()}/**/*.parquet")
    hive = "true, hive_types_autocast = false" if table.partitions else "false"
    return f"select {columns} from read_parquet({files}, hive_partitioning = {hive})"


def create_views(con: duckdb.DuckDBPyConnection, tables: list[SparkTable], folder_of: Any) -> None:
    """Create in `con` a view of every table of `tables` over its files in `folder_of(table)`, with
    Spark's comments."""
    for schema in sorted({table.schema for table in tables}):
        con.execute(f"create schema if not exists {ident(schema)}")
    for table in tables:
        relation = f"{ident(table.schema)}.{ident(table.name)}"
        con.execute(f"create or replace view {relation} as {view_sql(table, folder_of(table))}")
        if table.comment:
            con.execute(f"comment on view {relation} is {literal(table.comment)}")
        for column, comment in (table.column_comments or {}).items():
            con.execute(f"comment on column {relation}.{ident(column)} is {literal(comment)}")


def in_model_order(tables: list[SparkTable], manifest: Path) -> list[SparkTable]:
    """`tables` with their columns in the order their models declare them (dbt's `manifest`: the
    contracts' order, DuckDB's), where Spark lists a partitioned table's partition columns last:
    a published mart reads alike on both engines (`select *`). A model that documents only some
    of its columns (no contract) keeps Spark's order, which is its select's."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values() if manifest.exists() else []
    declared = {
        f"{node['schema']}.{node.get('alias') or node['name']}": list(node.get("columns") or {})
        for node in nodes
        if node["resource_type"] in ("model", "seed")
    }
    ordered = []
    for table in tables:
        kinds, documented = dict(table.columns), declared.get(table.relation, [])
        columns = [(name, kinds[name]) for name in documented] if set(documented) == set(kinds) else table.columns
        ordered.append(SparkTable(**{**table.__dict__, "columns": columns}))
    return ordered


def append_file(spark_dir: Path, schema: str, name: str, rows: Path, catalog: Path) -> None:
    """Add the rows of the Parquet file `rows` to the table `schema.name` of the Spark build in
    `spark_dir`: a file of its own in the table's folder (Spark, and the views here, read every file
    of a plain Parquet table's folder), its columns those of the table, in its order and types; and
    that table's view in the build's `catalog` (`write_catalog`) made again over its files, the
    rest of the catalog (the build's stamp) as it is. For the warehouse tests' results of a night,
    which DuckDB's build inserts into its audit.check_results (bankdw.pipeline.warehouse_gate_step)."""
    [table] = [table for table in described(spark_dir) if (table.schema, table.name) == (schema, name)]
    target = spark_dir / table.folder / f"{APPENDED_PREFIX}{rows.stem}.parquet"
    columns = typed_columns(SparkTable(**{**table.__dict__, "partitions": []}))  # the rows' own columns
    with duckdb.connect() as con:
        con.execute(f"copy (select {columns} from read_parquet({literal(rows)})) to {literal(target)} (format parquet)")
    with duckdb.connect(str(catalog)) as con:
        create_views(con, [table], lambda table: spark_dir / table.folder)
        con.execute("checkpoint")


def write_catalog(spark_dir: Path, target: Path) -> list[SparkTable]:
    """`target`: a new DuckDB file of views over every table of the Spark build in `spark_dir`
    (`described`), which the pipeline reads the build through."""
    tables = described(spark_dir)
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        create_views(con, tables, lambda table: spark_dir / table.folder)
        con.execute("checkpoint")
    return tables
