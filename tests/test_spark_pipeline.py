"""The nightly run on Apache Spark (setting engine = spark, issue 18, docs/spark.md, "The nightly run
on Spark"): `bankdw run` builds the models tagged `engine_portable` on Spark, tests them as its
warehouse gate and publishes them; the next night builds on from the published state; a rollback
publishes the night before.

In a copy of the shared published bank, whose lake DuckDB built and published: a first night on
Spark (`--rebuild`: the lake has not moved since DuckDB's build; tests/conftest.py,
`spark_first_night`, which tests/test_spark.py reads too), compared mart by mart with DuckDB's
published version; a second night loading the date waiting in the landing area, run by the
Airflow DAG (`dag.test()`: every task the pipeline's step, on Spark as the settings say); a
rollback. What the models compute on Spark, model by model and over incremental nights of their
own, is tests/test_spark.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from bankdw.config import Settings, load_settings
from bankdw.exports import current_export
from bankdw.pipeline import DateSelection, rollback, run
from bankdw.publish import Version, list_versions, reader_files_path, version_path
from bankdw.reporting.run_report import RunReport
from bankdw.spark_tables import NULL_PARTITION, SparkTable, in_model_order, view_sql
from bankdw.warehouse import EngineNotReady, portable_relations, published_lake_version
from expectations.history import DBT_TESTS_FILE, MEASURED_ON_SPARK
from tests.conftest import (
    SPARK_NIGHT_SETTINGS,
    PublishedBank,
    SparkNight,
    assert_one_parse_for_build_and_tests,
    nightly_dag,
    settings_environment,
)
from tests.test_spark import as_text, duckdb_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@dataclass(frozen=True)
class SparkNights:
    """The nightly run on Spark (setting engine = spark) in a copy of the published bank: a first
    night that builds the bank afresh on Spark (`--rebuild`: the lake is the one DuckDB published),
    tests and publishes it; a second that loads the date waiting in the landing area and builds on
    from the first's published state; then a rollback to the first."""

    settings: Settings
    first: RunReport
    second: RunReport
    rolled_back: Version
    first_published: dict[str, Any]
    """What readers saw after the first night: the latest balance date, the export."""
    first_log: str
    """dbt's log in the data dir after the first night."""
    first_lake_version: str | None
    """The lake version the first night built and published."""
    second_tests: dict[str, str]
    """The second night's warehouse tests: their SQL as dbt compiled it on Spark, by test id."""


@pytest.fixture(scope="module")
def spark_nights(spark_first_night: SparkNight, published_bank: PublishedBank) -> SparkNights:
    """The suite's first night on Spark (conftest's `spark_first_night`: the published bank built
    afresh, tested and published), then, in its data dir, the second night as the scheduler runs
    it (the Airflow DAG) and the rollback."""
    settings, first = spark_first_night.settings, spark_first_night.report
    first_published = published_facts(settings)
    first_log, first_lake_version = dbt_log(settings), published_lake_version(settings)
    second = night_by_the_dag(settings, published_bank.next_date)
    assert second.outcome == "SUCCESS", second.failures
    # (what the DAG's warehouse gate ran: its own dbt process wrote dbt's run results)
    tests = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    compiled = {result["unique_id"]: result["compiled_code"] or "" for result in tests["results"]}
    return SparkNights(
        settings, first, second, rollback(settings), first_published, first_log, first_lake_version, compiled
    )


def dbt_log(settings: Settings) -> str:
    return (settings.root / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")


def night_by_the_dag(settings: Settings, night: date) -> RunReport:
    """The night of business date `night` run by the nightly DAG under `dag.test()` (each task in
    this process, in order), its settings from the environment as a scheduler's workers read
    them: the data dir's, with SPARK_NIGHT_SETTINGS (engine = spark)."""
    env = {"BANKDW_DATA_DIR": str(settings.root)} | settings_environment(SPARK_NIGHT_SETTINGS)
    runs_before = {path.name for path in settings.runs_dir.iterdir() if path.is_dir()}
    with pytest.MonkeyPatch.context() as patch:
        dag = nightly_dag(env, patch)
        # the scheduled run of 02:30 the next morning, in the bank's time zone, loads `night`
        logical = datetime.combine(night + timedelta(days=1), clock(2, 30), tzinfo=ZoneInfo(settings.timezone))
        dag_run = dag.test(logical_date=logical)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success" and set(states.values()) == {"success"}, states
    (run_id,) = {path.name for path in settings.runs_dir.iterdir() if path.is_dir()} - runs_before
    return RunReport.load(settings, run_id)


def published_facts(settings: Settings) -> dict[str, Any]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(latest,)] = con.sql("select max(business_date) from marts.fct_account_balance_daily").fetchall()
    return {"latest_balance_date": latest.isoformat(), "export": current_export(settings)}


def test_the_nightly_run_builds_tests_and_publishes_on_spark(
    spark_nights: SparkNights, published_bank: PublishedBank
) -> None:
    # given the nightly run on Spark, asked to build afresh the lake DuckDB published (spark_nights)
    first = spark_nights.first
    # then it built the portable models in full, ran their tests as the warehouse gate, and published
    assert (first.build_mode, first.warehouse_tested) == ("full refresh", True)
    tests = json.loads((spark_nights.settings.runs_dir / first.run_id / DBT_TESTS_FILE).read_text(encoding="utf-8"))
    assert len(tests) > 300 and {test["outcome"] for test in tests} <= {"passed", "warned"}, len(tests)
    assert any(test["subject"] == "assert_interest_reconciles_to_ledger" for test in tests)
    manifest = json.loads((spark_nights.settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = sum(node["resource_type"] == "model" for node in manifest["nodes"].values())
    assert f"built on Spark: all {models} of the project's models (tag engine_portable)" in first.notes, first.notes
    # and its build and tests ran in one dbt process, on one Spark session, which parsed the project
    # once (the whole project: the copied parse was DuckDB's profile)
    assert_one_parse_for_build_and_tests(spark_nights.settings, spark_nights.first_log, saved=False)
    # and its published version is a DuckDB file of views over the Parquet files Spark wrote,
    # linked into the version, read-only: every portable mart holds DuckDB's published rows, typed alike
    spark = duckdb.connect()
    spark.execute(f"attach '{version_path(spark_nights.settings, first.run_id)}' as spark (read_only)")
    spark.execute(f"attach '{version_path(published_bank.settings, published_bank.report.run_id)}' as duck (read_only)")
    spark.execute("set TimeZone = 'UTC'")
    marts = [
        name
        for (name,) in spark.sql(
            "select view_name from duckdb_views() where database_name = 'spark' and schema_name = 'marts'"
        ).fetchall()
    ]
    # (every portable mart: the build's manifest says which)
    built = portable_relations(spark_nights.settings.root / "dbt" / "target").values()
    assert sorted(marts) == sorted(relation.split(".")[1] for relation in built if relation.startswith("marts.")), marts
    compared = 0
    for mart in marts:
        duck = spark.sql(duckdb_rows({mart: f"duck.marts.{mart}"}, mart))
        view = spark.sql(f"select * from spark.marts.{mart}")
        # (in the contract's order: Spark's partition columns are not last here)
        assert list(zip(view.columns, map(str, view.types), strict=True)) == list(
            zip(duck.columns, map(str, duck.types), strict=True)
        ), mart
        expected = as_text(duck.fetchall())
        assert as_text(view.select(*duck.columns).fetchall()) == expected, mart
        compared += expected.total()
    assert compared > 1000, "the comparison would prove little"
    # and its audit holds the night's warehouse tests among the checks, as a DuckDB version's does
    [(tested,)] = spark.sql(
        f"select count(*) from spark.audit.check_results where run_id = '{first.run_id}' and stage = 'warehouse'"
    ).fetchall()
    assert tested == len(tests)
    files = list(reader_files_path(spark_nights.settings, first.run_id).rglob("*.parquet"))
    assert files and all(path.stat().st_mode & 0o222 == 0 for path in files)
    spark.close()


def test_a_night_on_spark_builds_on_from_the_published_state(spark_nights: SparkNights) -> None:
    # given a second night on Spark: the date waiting in the landing area, loaded
    settings, first, second = spark_nights.settings, spark_nights.first, spark_nights.second
    assert second.deliveries_loaded and second.published
    # then it built incrementally, from the first night's published state (its Spark warehouse and
    # metastore restored into the build area), tested and published
    assert (second.build_mode, second.warehouse_tested) == ("incremental", True)
    v1, v2 = (
        reader_files_path(settings, run.run_id) / "marts" / "fct_account_balance_daily" for run in (first, second)
    )
    # and the facts' date partitions the night did not touch are the first night's files, linked
    # (Spark overwrote only the night's partitions), where the night's date is new
    kept = {path.relative_to(v1): path for path in v1.rglob("*.parquet")}
    now = {path.relative_to(v2): path for path in v2.rglob("*.parquet")}
    assert set(kept) < set(now)
    assert all(now[name].samefile(path) for name, path in kept.items())
    new_dates = {name.parts[0] for name in set(now) - set(kept)}
    assert new_dates == {f"business_date={date.fromisoformat(second.business_date or '')}"}, new_dates

    # and its warehouse tests read the night's rows, as a DuckDB night's do (macros/night_tests.sql):
    # a staging view's uniqueness the keys of the loads newer than the first night's lake version,
    # the leads' candidates none (checked where the leads read them)
    def compiled(name: str) -> str:
        (code,) = (code for test, code in spark_nights.second_tests.items() if name in test)
        return code

    accounts = compiled("unique_combination_of_columns_stg_core_banking__accounts_account_id__snapshot_date")
    assert f"_load_id > '{spark_nights.first_lake_version}'" in accounts, accounts
    assert "where false" in compiled("unique_combination_of_columns_int_lead_candidates_customer_key__candidate_date")
    assert len(spark_nights.second_tests) > 300
    # and the DAG ran its build and its tests as tasks of their own, each a dbt process on Spark
    # (`bankdw run` runs both in one: the first night's test checks it)
    tonight = dbt_log(settings)[len(spark_nights.first_log) :]
    assert "'invocation_command': 'dbt build --target spark" in tonight
    assert "'invocation_command': 'dbt test --target spark" in tonight


def test_a_rollback_on_spark_publishes_the_night_before(spark_nights: SparkNights) -> None:
    # given the second night on Spark published, then rolled back
    settings, first = spark_nights.settings, spark_nights.first
    # then readers see the first night's version again: the file, its balances, its exports
    assert spark_nights.rolled_back.run_id == first.run_id
    assert settings.warehouse_path.samefile(version_path(settings, first.run_id))
    assert published_facts(settings) == spark_nights.first_published
    # and both versions are kept, the second with its files
    assert [v.run_id for v in list_versions(settings)][:2] == [spark_nights.second.run_id, first.run_id]
    assert reader_files_path(settings, spark_nights.second.run_id).is_dir()


def test_the_nightly_run_refuses_a_spark_catalog_in_memory(tmp_path: Path) -> None:
    # given settings that pick Spark with its tables' names kept in one process's memory
    settings = load_settings(data_dir=tmp_path / "data", engine="spark", spark_catalog="in-memory")
    # when the nightly run starts, then it refuses before anything is loaded, naming the setting
    with pytest.raises(EngineNotReady, match="BANKDW_SPARK_CATALOG=hive"):
        run(settings, DateSelection())
    assert not settings.lake_dir.exists()


def test_a_view_over_spark_files_types_its_partitions_and_reads_a_null_partition(tmp_path: Path) -> None:
    # given a table's files as Spark writes them: partitioned by a date, one partition of a null
    # date (Spark names its folder __HIVE_DEFAULT_PARTITION__), and a table with no file at all
    con = duckdb.connect()
    for folder, amount in (("d=2026-01-02", "1.25"), (f"d={NULL_PARTITION}", "2.5")):
        (tmp_path / "t" / folder).mkdir(parents=True)
        con.execute(f"copy (select {amount}::decimal(18, 2) as x) to '{tmp_path / 't' / folder / 'part-0.parquet'}'")
    columns = [("x", "decimal(18,2)"), ("d", "date")]
    table, empty = SparkTable("s", "t", "t", columns, ["d"]), SparkTable("s", "e", "e", columns, ["d"])
    # when a view reads them (bankdw.spark_tables.view_sql)
    rows = con.sql(view_sql(table, tmp_path / "t"))
    # then the partition column is typed as Spark typed it, the null partition a null, money exact
    assert [str(kind) for kind in rows.types] == ["DECIMAL(18,2)", "DATE"]
    assert sorted(rows.fetchall(), key=str) == [(Decimal("1.25"), date(2026, 1, 2)), (Decimal("2.50"), None)]
    # and a table with no file reads as no row, typed alike
    nothing = con.sql(view_sql(empty, tmp_path / "e"))
    assert [str(kind) for kind in nothing.types] == ["DECIMAL(18,2)", "DATE"] and nothing.fetchall() == []


def test_a_published_view_orders_columns_as_the_model_selects_them(tmp_path: Path) -> None:
    # given a mart whose contract declares every column, partitioned by its first (Spark lists it
    # last), and an audit table that documents two of its columns (no contract)
    manifest = tmp_path / "manifest.json"
    nodes = {
        "model.mart": {"resource_type": "model", "schema": "marts", "name": "f", "columns": {"month": {}, "k": {}}},
        "model.audit": {
            "resource_type": "model",
            "schema": "audit",
            "name": "audit_model_runs",
            "alias": "model_runs",
            "columns": {"run_id": {}, "action": {}},
        },
    }
    manifest.write_text(json.dumps({"nodes": nodes}), encoding="utf-8")
    mart = SparkTable("marts", "f", "f", [("k", "string"), ("month", "date")], ["month"])
    runs = [("run_id", "string"), ("model", "string"), ("action", "string"), ("ran_at", "timestamp")]
    audit = SparkTable("audit", "model_runs", "model_runs", runs, [])
    # when the published version orders their columns (bankdw.spark_tables.in_model_order)
    ordered = in_model_order([mart, audit], manifest)
    # then the mart's are its contract's, and the audit table's are its select's, as on DuckDB
    assert [column for column, _ in ordered[0].columns] == ["month", "k"]
    assert ordered[1].columns == runs


MEASURE_ON_SPARK = """
import json, sys
from pathlib import Path
from types import SimpleNamespace
from pyspark.sql import SparkSession
from bankdw.dbt_command import measure_differences

nodes = json.loads(sys.argv[1])
results = SimpleNamespace(results=[
    SimpleNamespace(node=SimpleNamespace(unique_id=key, resource_type=kind, compiled_code=sql))
    for key, (kind, sql) in nodes.items()
])
spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
measure_differences(results, Path(sys.argv[2]))
spark.stop()
"""
"""A dbt process on Spark as far as measure_differences sees it: a Spark session, dbt's run results."""


def test_a_spark_gate_measures_its_tests_differences_on_spark(tmp_path: Path) -> None:
    # given the run results of a gate on Spark: a reconciliation with two broken rows, one with
    # none, a test whose SQL names a difference but returns none, one whose SQL Spark cannot
    # run, and a model
    broken = (
        "select 'a' as account_id, cast(0.10 as decimal(18, 2)) as difference "
        "union all select 'b', cast(-0.25 as decimal(18, 2))"
    )
    nodes = {
        "test.bank.reconciles": ("test", broken),
        "test.bank.clean": ("test", f"select * from ({broken}) as rows where false"),
        "test.bank.no_difference_column": ("test", "select 'a' as difference_kind"),
        "test.bank.not_spark_sql": ("test", "select difference from read_parquet('lake/*.parquet')"),
        "model.bank.m": ("model", broken),
    }
    # when the dbt process that ran them measures their differences on its Spark session
    # (bankdw.dbt_command; a process of its own, as dbt's on Spark is: its JVM ends with it)
    options = f"--driver-java-options '{os.environ.get('BANKDW_SPARK_DRIVER_JAVA_OPTIONS', '')}' pyspark-shell"
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_ON_SPARK, json.dumps(nodes), str(tmp_path)],
        env=os.environ | {"PYSPARK_SUBMIT_ARGS": options},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # then only the broken reconciliation has a note, measured by Spark to the cent, as the
    # pipeline measures a DuckDB build's (expectations.history.differences_note)
    measured = json.loads((tmp_path / MEASURED_ON_SPARK).read_text(encoding="utf-8"))
    assert measured == {
        "test.bank.reconciles": "2 row(s) beyond the amount tolerance: sum of differences 0.35, largest 0.25"
    }
    # and the test Spark could not run is named, its verdict left as dbt gave it
    assert "could not measure the differences of test.bank.not_spark_sql" in done.stderr
