"""`dbt` as its own command line, with the cycle collector of a night's dbt session.

`python -m bankdw.dbt_command build ...` is `dbt build ...`. The dbt commands that run in a
process of their own (outside a night's session, `bankdw.dbt_session`: the scheduler's tasks,
the docs, a test's own command, every command on Spark) start through it, so that Python's cycle
collector passes over dbt's objects as seldom as in the session's worker (`COLLECTOR_THRESHOLDS`).

On Spark (`--target spark`, setting engine) dbt runs through its programmatic runner instead of its
command line, so that the normalisation functions are registered in the session dbt-spark opens
(`models.identity.spark_udfs.udf_registrar`) and the Python models run in this process
(`bankdw.spark_python`), and a command that built tables then describes them
(`bankdw.spark_tables.describe`) while that session is still open: what the pipeline reads of a
Spark build, it reads from the tables' Parquet files with DuckDB, by that description.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult
    from dbt.contracts.graph.manifest import Manifest

COLLECTOR_THRESHOLDS = (50_000, 20, 100)
"""`gc.set_threshold`: a pass over the young objects every 50,000 allocations, over the older
ones every 20 such passes, over all every 100 of those (Python's defaults: 700, 10, 10). dbt
allocates millions of small objects a command (nodes, Jinja contexts, events), so with the
defaults the collector keeps walking them; what this saves: docs/performance.md, item 7."""

SPARK_TARGET = "spark"
"""The target of dbt_project/profiles.yml that builds on Spark (`Settings.dbt_target`)."""
BUILDING_COMMANDS = ("build", "run", "seed")
TESTING_COMMANDS = ("build", "test")


def command_line() -> list[str]:
    """The start of the command line of one dbt command; its arguments follow."""
    return [sys.executable, "-m", "bankdw.dbt_command"]


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def invoke_on_spark(args: list[str], manifest: Manifest | None = None) -> dbtRunnerResult:
    """dbt's command `args` on Spark, in this process (given `manifest`, dbt's parse of the project:
    a night's session, `bankdw.dbt_session`), and the tables it built described."""
    from dbt.cli.main import dbtRunner

    from bankdw import spark_python
    from bankdw.spark_tables import describe
    from expectations.history import MEASURED_ON_SPARK
    from models.identity.normalise import DEFAULT_REGION
    from models.identity.spark_udfs import python_worker_environment, udf_registrar

    dbt_vars = json.loads(_option(args, "--vars") or "{}")
    os.environ.update(python_worker_environment())
    spark_python.register()
    registrar = udf_registrar(dbt_vars.get("phone_region") or DEFAULT_REGION)
    if args[0] in TESTING_COMMANDS:  # no measure of an earlier command's tests is left to read
        (Path(os.environ["BANKDW_SPARK_DIR"]) / MEASURED_ON_SPARK).unlink(missing_ok=True)
    done = dbtRunner(manifest=manifest, callbacks=[registrar]).invoke(args)
    if done.success and args[0] in BUILDING_COMMANDS:
        describe(os.environ["BANKDW_SPARK_DIR"])
    if args[0] in TESTING_COMMANDS and done.result is not None:
        measure_differences(done.result, Path(os.environ["BANKDW_SPARK_DIR"]))
    return done


def measure_differences(results: Any, spark_dir: Path) -> None:
    """Write to `<spark_dir>/test_differences.json` the differences of the tests of `results` (dbt's
    run results) that return a `difference` column per broken row, measured on this process's Spark
    session with the tests' own SQL (rows within a test's tolerance included), as the pipeline
    measures them with DuckDB on a DuckDB build (expectations.history.WarehouseBuild)."""
    from pyspark.sql import SparkSession

    from expectations.history import DIFFERENCE, MEASURED_ON_SPARK, differences_note, differences_sql

    spark = SparkSession.builder.getOrCreate()
    measured = {}
    for result in getattr(results, "results", []):
        node = result.node
        sql = getattr(node, "compiled_code", None) or ""
        if node.resource_type != "test" or DIFFERENCE not in sql:
            continue
        try:
            if DIFFERENCE not in spark.sql(sql).columns:  # analysed, not run
                continue
            [(n, total, largest)] = spark.sql(differences_sql(sql)).collect()
        except Exception as exc:  # noqa: BLE001 - a measure the report can go without; the test's verdict stands
            sys.stderr.write(f"could not measure the differences of {node.unique_id}: {exc}\n")
            continue
        note = differences_note(n, total, largest)
        if note is not None:
            measured[node.unique_id] = note
    (spark_dir / MEASURED_ON_SPARK).write_text(json.dumps(measured, indent=1) + "\n", encoding="utf-8")


def run_on_spark(args: list[str]) -> int:
    """dbt's command `args` on Spark, in this process; returns the exit code dbt's command line
    would (0 done, 1 a node failed, 2 dbt could not run)."""
    done = invoke_on_spark(args)
    if done.exception is not None:
        sys.stderr.write(f"dbt {args[0]} on Spark could not run: {done.exception}\n")
        return 2
    return 0 if done.success else 1


def on_spark(args: list[str]) -> bool:
    """Whether the dbt command line `args` (or its common part) builds on Spark."""
    return _option(args, "--target") == SPARK_TARGET


def main() -> None:
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    args = sys.argv[1:]
    if on_spark(args):
        sys.exit(run_on_spark(args))
    from dbt.cli.main import cli

    # the program's name in dbt's messages and log ("Command `dbt build` succeeded"): click would
    # otherwise derive one from `python -m`
    sys.exit(cli(prog_name="dbt"))


if __name__ == "__main__":
    main()
