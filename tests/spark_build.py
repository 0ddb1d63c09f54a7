"""The models tagged `engine_portable` as the nightly run on Spark built them, written each as
Parquet, and the lake's identity resolved with splink on the same Spark session, for
tests/test_spark.py.

`python -m tests.spark_build <data_dir> <out_dir> <spark_state>`: `<spark_state>` is the Spark
folder of a version the nightly run on Spark published (tests/conftest.py, `spark_first_night`:
the suite's one full Spark build, of the same lake as `<data_dir>`'s). dbt runs in this process
with the setting engine = spark (the pipeline's own dbt command line, `bankdw.warehouse.dbt_args`),
so that the Spark session dbt-spark opened (session mode) is still there to read what it built.
The state's tables are registered in that session's catalog over hard links to their files
(`register_night`) and the portable views created on them (`dbt run`: views hold no file); then
every portable model is left in `<out_dir>/<model>/` as Parquet (instants as Parquet timestamps,
profiles.yml), `write_out`: a table's own files, which Spark already stored as Parquet
(file_format parquet), copied (a partitioned table's in a folder per partition, `column=value`),
and a view's rows written out by Spark (one job each; a table's copy is a few small files, no
job). The normalisation UDFs are registered in that session before dbt's first model
(`models.identity.spark_udfs`).

Then the models that compute CTEs once are compiled (`dbt compile`) on the registered tables, where
they are incremental, and the tables left beside them listed in `<out_dir>/left_by_compile.json`
(none: only a run writes them). (What the incremental models build on Spark as a night, with a
merge of customers, reversals of an earlier posting and late web events, is the nightly run's own
second night: tests/test_spark_pipeline.py.)

Then the resolve step's work (`resolve_lake`) runs with splink's Spark backend on the same
session (no second JVM), twice, into `<out_dir>/identity/<case>/`:
    first_run   from an empty registry, as the published bank's first run resolved it on DuckDB;
    own_keys    from `<out_dir>/registry/own_keys/`, written here: a registry in which every record
                holds a key of its own, so that every group of several records merges keys;
and, since the shared bank gives splink nothing to decide (its records without national id are
matched by the deterministic rules), the hand-built records of `splink_cases` (test_identity's
records for splink: a training bank, two legacy records of one person, a look-alike) are
resolved and keyed (`identify`) into `<out_dir>/identity/splink_cases/`.
A process of its own: the JVM and its Derby metastore end with it, and the test's process never
holds Spark.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from bankdw.config import Settings, load_settings
from bankdw.spark_tables import APPENDED_PREFIX, SparkTable, described
from bankdw.warehouse import (
    PORTABLE_TAG,
    build_path,
    dbt_args,
    dbt_environment,
    portable_relations,
    spark_runner_in_this_process,
)
from models.identity.keys import REGISTRY_FILE, REGISTRY_SCHEMA, KeyRegistry, new_key
from models.identity.probabilistic import SparkBackend
from models.identity.resolve import identify, resolve_lake, write_identity

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

IDENTITY_CASES = ("first_run", "own_keys")
SPLINK_CASES_AS_OF = date(2026, 11, 20)


def splink_cases() -> pa.Table:
    """Records that splink links (two legacy records of person 7, through address and postal code)
    and one it must not (a look-alike of person 8 sharing only name and birth date), among the
    records splink learns from (tests/test_identity.py)."""
    from tests.test_identity import person, records, training_bank

    legacy = {"full_name": "PERSON 7", "birth_date": date(1957, 8, 8), "gender": "F", "postal_code": "200007"}
    return records(
        *training_bank(),
        person("C9997", **legacy, address="No. 7 Nanjing Road"),
        person("C9998", **legacy, address="no. 7  nanjing road"),
        person("C9999", full_name="Person 8", birth_date=date(1958, 9, 9), gender="M", address="No. 1 Other Street"),
    )


def own_keys_registry(records: pa.Table, directory: Path) -> Path:
    """A registry in which every record holds a key of its own, created on dates that differ (the
    oldest key of a group survives a merge): the records of `records` (customer_id)."""
    ids = sorted(records.column("customer_id").to_pylist())
    registry = pa.table(
        {
            "customer_id": ids,
            "customer_key": [new_key(f"own/{customer_id}") for customer_id in ids],
            "key_created_on": [date(2026, 1, 1) + timedelta(days=n % 7) for n in range(len(ids))],
        },
        schema=REGISTRY_SCHEMA,
    )
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(registry, directory / REGISTRY_FILE)
    return directory


def write_out(spark: SparkSession, relation: str, target: Path) -> None:
    """The rows of `relation` as Parquet in `target`: a table's own files, copied as Spark stored
    them (a plain Parquet table: file_format parquet, a partitioned one in a folder per partition,
    `column=value`), or, for a view (or a table with no file: no row and partitioned), the rows
    Spark computes, written out. Spark's writes never change a file in place (an overwrite writes
    new files and deletes the old), so a copy keeps the rows the table held when it was taken."""
    files = table_files(spark, relation)
    if files is not None and next(files.rglob("*.parquet"), None) is not None:
        shutil.copytree(files, target, ignore=shutil.ignore_patterns(".*", "_SUCCESS", "_temporary"))
    else:
        spark.table(relation).coalesce(1).write.parquet(str(target))


def table_files(spark: SparkSession, relation: str) -> Path | None:
    """The folder of a plain Parquet table's files (its location, from the catalog), or None."""
    details = {row[0]: row[1] for row in spark.sql(f"describe table extended {relation}").collect()}
    if details.get("Type") == "VIEW" or str(details.get("Provider")).lower() != "parquet":
        return None
    location = urlparse(str(details["Location"]))
    return Path(unquote(location.path)) if location.scheme in ("", "file") else None


def dbt(runner: dbtRunner, settings: Settings, command: str, *args: str) -> None:
    done = runner.invoke([*dbt_args(settings, command), *args])
    if not done.success:
        raise SystemExit(f"dbt {command} on Spark failed: {done.exception or 'see the dbt log under the data dir'}")


def partitions(settings: Settings) -> dict[str, list[str]]:
    """The portable tables Spark partitions (config partition_by), with their partition columns."""
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    partitioned = {}
    for node in manifest["nodes"].values():
        columns = node["config"].get("partition_by") if node["resource_type"] == "model" else None
        if columns and PORTABLE_TAG in node["tags"]:
            partitioned[node["name"]] = [columns] if isinstance(columns, str) else list(columns)
    return partitioned


def left_by_compile(runner: dbtRunner, settings: Settings, spark: SparkSession) -> dict[str, list[str]]:
    """`dbt compile` of the models that compute CTEs once (`computed_once`, macros/engines.sql) on
    the registered tables, where they are incremental: the models, and the tables beside them
    that compile left (none: only a run or a build computes them)."""
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    nodes = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "computed_once(" in node["raw_code"]
    ]
    models = sorted(node["name"] for node in nodes)
    dbt(runner, settings, "compile", "--select", *models, "--indirect-selection", "empty")
    tables = [
        f"{schema}.{table.name}"
        for schema in sorted({node["schema"] for node in nodes})
        for table in spark.catalog.listTables(schema)
        if "__once_" in table.name
    ]
    return {"models": models, "tables": sorted(tables)}


def register_night(spark: SparkSession, state: Path, target: Path) -> None:
    """The tables of a Spark build's state (`state`: a published version's Spark folder, its tables
    described in `tables.json`, bankdw.spark_tables) in this session's catalog, over a copy of
    their files in `target`: hard links (Spark never changes a file in place: an overwrite writes
    new files and removes the old, here the links), without the files the warehouse gate appended
    after the build (its tests' results in audit.check_results, APPENDED_PREFIX), so that each
    table holds what dbt built. Registered as external tables at their copy's folder: a full
    refresh drops one (its files stay where they are) and creates the model's table in the
    warehouse, as in any build. About 7 s for the hundred tables of the shared bank, where
    building them took minutes."""
    shutil.copytree(
        state / "warehouse",
        target / "warehouse",
        copy_function=os.link,
        ignore=shutil.ignore_patterns(f"{APPENDED_PREFIX}*"),
    )
    tables: list[SparkTable] = described(state)
    for schema in sorted({table.schema for table in tables}):
        spark.sql(f"create database if not exists {schema}")
    for table in tables:
        columns = ", ".join(f"`{name}` {kind}" for name, kind in table.columns)
        partitioned = f" partitioned by ({', '.join(table.partitions)})" if table.partitions else ""
        location = str(target / table.folder).replace("\\", "\\\\").replace("'", "\\'")
        spark.sql(f"create table {table.relation} ({columns}) using parquet{partitioned} location '{location}'")
        if table.partitions:
            spark.sql(f"alter table {table.relation} recover partitions")


def main(data_dir: Path, out_dir: Path, night: Path) -> None:
    from pyspark.sql import SparkSession

    settings = load_settings(data_dir=data_dir, engine="spark")
    runner = spark_runner_in_this_process(settings, dbt_environment(settings, build_path(settings)))
    dbt(runner, settings, "show", "--inline", "select 1")  # opens dbt-spark's session, one per process
    spark = SparkSession.builder.getOrCreate()
    register_night(spark, night, settings.root / "night")
    dbt(runner, settings, "run", "--select", f"tag:{PORTABLE_TAG},config.materialized:view")
    built = portable_relations(settings.root / "dbt" / "target")
    for model, relation in built.items():
        write_out(spark, relation, out_dir / model)
    (out_dir / "models.json").write_text(json.dumps(built, indent=2, sort_keys=True), encoding="utf-8")
    (out_dir / "partitions.json").write_text(json.dumps(partitions(settings)), encoding="utf-8")
    (out_dir / "left_by_compile.json").write_text(
        json.dumps(left_by_compile(runner, settings, spark)), encoding="utf-8"
    )

    backend, seconds = SparkBackend(spark), {}
    records = pq.read_table(settings.identity_dir / "customer_records.parquet", columns=["customer_id"])
    registries = {"first_run": out_dir / "registry" / "empty", "own_keys": out_dir / "registry" / "own_keys"}
    registries["first_run"].mkdir(parents=True)
    own_keys_registry(records, registries["own_keys"])
    for case in IDENTITY_CASES:
        began = time.perf_counter()
        resolve_lake(
            settings.lake_dir,
            registries[case],
            out_dir / "identity" / case,
            settings.phone_region,
            settings.identity_config(),
            backend,
        )
        seconds[case] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    empty = KeyRegistry(registries["first_run"])
    identity = identify(splink_cases(), empty, SPLINK_CASES_AS_OF, settings.identity_config(), backend)
    write_identity(identity, out_dir / "identity" / "splink_cases")
    seconds["splink_cases"] = round(time.perf_counter() - began, 1)
    (out_dir / "identity" / "seconds.json").write_text(json.dumps(seconds), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
