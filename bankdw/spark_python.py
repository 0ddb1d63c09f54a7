"""dbt's Python models on Spark: run in dbt's own process on DuckDB, over the Spark build's tables,
their rows written back as a Spark table.

dbt-spark 1.11 submits a Python model to Databricks only (its submission methods `all_purpose_cluster`
and `job_cluster` call Databricks' job API); in session mode, a local PySpark or a cluster's driver,
it has none (dbt-labs/dbt-spark#415; a `session` method, dbt-labs/dbt-spark#1063, is not merged).
The project's five Python models (households, leads, the churn, lifetime value and campaign scores:
docs/models.md) are one machine's work written against DuckDB: a loop over a customer's leads,
connected components, a trained model applied to point-in-time features whose SQL is shared with
training. So on Spark they keep that form, and the dbt process of a Spark build gains a submission
method of its own, `bankdw_session` (`register`; the project's config `submission_method`,
dbt_project.yml) that runs the model's compiled code in that process, where dbt-spark's session is:

- the model's script ends with a call to `materialize` instead of dbt-spark's Databricks tail
  (`spark__create_table_as`, macros/engines.sql);
- `materialize` opens a DuckDB database in memory, in the Spark session's time zone (the bank's:
  on-run-start sets it), and gives the model `dbt.ref(...)` as DuckDB relations named as Spark
  names them (`intermediate.int_x`), so that the model's SQL reads them by name as on DuckDB: a
  Parquet table of Spark's is a view over its files (`bankdw.spark_tables.view_sql`, typed as Spark
  typed it), the model's own table too when it is incremental; a Spark view is first written as
  Parquet by Spark to a scratch folder in the Spark dir, which is removed after the model ran;
- the rows the model returns (an Arrow table) become the Spark table dbt named (the model, or its
  `__dbt_tmp` batch for an incremental strategy, which then runs as Spark SQL).

The rows pass through the driver: what a Python model reads and returns must fit one machine, as on
DuckDB. On a cluster the same code runs on the driver, which must see the warehouse's files on its
own file system (`spark_dir` refuses another scheme: docs/spark.md, "Not yet").
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa

from bankdw.spark_tables import SparkTable, create_views, describe_table
from extract.sql import ident, literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import SparkSession

SUBMISSION_METHOD = "bankdw_session"
"""The submission method of dbt's config `submission_method` for the project's Python models
(dbt_project.yml); DuckDB's adapter has none and ignores it."""
SCRATCH = "python_model_inputs"
"""The folder in the Spark dir where a Python model's Spark views are written for DuckDB to read."""


class SessionPythonJob:
    """dbt's Python job helper (dbt.adapters.base.impl.PythonJobHelper's interface): runs a Python
    model's compiled script in this process."""

    def __init__(self, parsed_model: dict[str, Any], credentials: Any) -> None:
        self.name = str(parsed_model.get("unique_id") or parsed_model.get("name"))

    def submit(self, compiled_code: str) -> None:
        exec(compile(compiled_code, f"<dbt Python model {self.name}>", "exec"), {"__name__": "__dbt_model__"})


_registered = False


def register() -> None:
    """Add `bankdw_session` to dbt-spark's submission methods, for the dbt commands of this process
    (dbt-spark lists its methods in a property of its adapter class: that property is replaced by
    one that adds ours to its list)."""
    global _registered
    if _registered:
        return
    from dbt.adapters.spark.impl import SparkAdapter

    original = SparkAdapter.python_submission_helpers.fget

    def with_session(adapter: Any) -> dict[str, Any]:
        return {**original(adapter), SUBMISSION_METHOD: SessionPythonJob}

    SparkAdapter.python_submission_helpers = property(with_session)
    _registered = True


ROOT = Path("/")
"""Folders are absolute here (`describe_table`'s relative to the root)."""


def spark_dir(spark: SparkSession) -> Path:
    """The local folder that holds the Spark warehouse (`<spark_dir>/warehouse`, profiles.yml), from
    the session's warehouse dir, which Spark gives as a URI (`file:/...`)."""
    warehouse = urlparse(str(spark.conf.get("spark.sql.warehouse.dir")))
    if warehouse.scheme not in ("", "file"):
        raise RuntimeError(
            f"a Python model runs on the driver and reads the Spark warehouse's files there: "
            f"{warehouse.geturl()} is not on this machine's file system (docs/spark.md)"
        )
    return Path(unquote(warehouse.path)).resolve().parent


class SparkInputs:
    """The Spark tables and views a Python model reads, as DuckDB relations of `con`."""

    def __init__(self, spark: SparkSession, con: duckdb.DuckDBPyConnection, scratch: Path) -> None:
        self.spark, self.con, self.scratch = spark, con, scratch
        self.loaded: set[str] = set()

    def load(self, name: str) -> duckdb.DuckDBPyRelation:
        schema, table = name.replace("`", "").split(".")[-2:]
        relation = f"{schema}.{table}"
        if relation not in self.loaded:
            found = describe_table(self.spark, schema, table, ROOT)
            if found is None:  # a view (or a table DuckDB cannot read in place): written by Spark
                folder = self.scratch / relation
                frame = self.spark.table(relation)
                frame.write.parquet(str(folder))
                found = SparkTable(schema, table, str(folder.resolve()), list(frame.dtypes), [])
            create_views(self.con, [found], lambda described: ROOT / described.folder)
            self.loaded.add(relation)
        return self.con.sql(f"select * from {ident(schema)}.{ident(table)}")


def materialize(model: Callable[..., Any], dbt_class: Callable[..., Any], target: str, file_format: str) -> None:
    """Run the Python model `model` (its script's `dbtObj` is `dbt_class`) on DuckDB over the Spark
    build's tables and write its rows as the Spark table `target`."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    scratch = spark_dir(spark) / SCRATCH / uuid.uuid4().hex
    try:
        with duckdb.connect() as con:
            con.execute(f"set TimeZone = {literal(spark.conf.get('spark.sql.session.timeZone'))}")
            inputs = SparkInputs(spark, con, scratch)
            dbt = dbt_class(inputs.load)
            if dbt.is_incremental:  # the model reads its own table by name
                inputs.load(repr(dbt.this))
            rows = model(dbt, con)
            if isinstance(rows, duckdb.DuckDBPyRelation):
                rows = rows.to_arrow_table()
            if not isinstance(rows, pa.Table):
                raise TypeError(f"a Python model returns a pyarrow Table or a DuckDB relation, not {type(rows)}")
            frame = spark.createDataFrame(rows)
        frame.write.mode("overwrite").format(file_format).option("overwriteSchema", "true").saveAsTable(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(OSError):  # the folder of them all, when no other model uses it
            scratch.parent.rmdir()
