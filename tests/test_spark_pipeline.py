"""The nightly run on Apache Spark (setting engine = spark, issue 18, docs/spark.md, "The nightly run
on Spark"): `bankdw run` builds the models tagged `engine_portable` on Spark, tests them as its
warehouse gate and publishes them; the next night builds on from the published state; a rollback
publishes the night before.

In a copy of the shared published bank, whose lake DuckDB built and published: a first night on
Spark (`--rebuild`: the lake has not moved since DuckDB's build; tests/conftest.py,
`spark_first_night`, which tests/test_spark.py reads too), compared mart by mart with DuckDB's
published version; a second night loading the date waiting in the landing area, run by the
Airflow DAG (`dag.test()`: every task the pipeline's step, on Spark as the settings say), its
delivery carrying reversals of an earlier posting and a merge of two customers (tests/planted.py),
compared mart by mart and, for what the incremental models build, table by table with the same
deliveries loaded on DuckDB; a rollback. What the models compute on Spark in a full build, model
by model, is tests/test_spark.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest

from bankdw.config import Settings, load_settings
from bankdw.exports import current_export
from bankdw.pipeline import DateSelection, rollback, run
from bankdw.publish import (
    Version,
    identity_version_path,
    list_versions,
    published_identity_dir,
    reader_files_path,
    spark_state_path,
    version_path,
)
from bankdw.reporting.run_report import RunReport
from bankdw.spark_tables import NULL_PARTITION, SparkTable, described, in_model_order, view_sql
from bankdw.warehouse import EngineNotReady, portable_relations, published_lake_version
from expectations.history import DBT_TESTS_FILE, MEASURED_ON_SPARK
from models.identity.resolve import IDENTITY_FILE
from tests.conftest import (
    SPARK_NIGHT_SETTINGS,
    PublishedBank,
    SparkNight,
    assert_one_parse_for_build_and_tests,
    nightly_dag,
    settings_environment,
)
from tests.planted import REVERSALS, PlantedMerge, PlantedReversal, plant_merge, plant_reversals
from tests.test_spark import ENGINE_DIGESTS, RUN_STAMPS, as_text, duckdb_rows, duckdb_state, spark_parquet

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
    reversal: PlantedReversal
    merge: PlantedMerge
    """What the second night's core banking delivery carries besides the bank's own (tests/planted.py)."""
    duckdb_night: Settings
    """A copy of the published bank that loaded the same deliveries on DuckDB, published (`bankdw run`)."""
    duckdb_run: RunReport
    """That night's run on DuckDB: its load id is its run id, where the second night's is its own."""


@pytest.fixture(scope="module")
def spark_nights(
    spark_first_night: SparkNight, published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory
) -> SparkNights:
    """The suite's first night on Spark (conftest's `spark_first_night`: the published bank built
    afresh, tested and published), then, in its data dir, the second night as the scheduler runs
    it (the Airflow DAG) and the rollback. The second night's delivery carries reversals of a
    posting of the first night and a record that merges two customers (tests/planted.py); the
    same deliveries are loaded on DuckDB too, in a copy of the published bank."""
    settings, first = spark_first_night.settings, spark_first_night.report
    first_published = published_facts(settings)
    first_log, first_lake_version = dbt_log(settings), published_lake_version(settings)
    reversal, merge = plant(settings, published_bank.next_date)
    # (DuckDB's window of recent balances stays its default: one parse of the project for the
    # suite's default settings; the comparison reads DuckDB's within Spark's, duckdb_rows)
    duckdb_night = published_bank.copy(tmp_path_factory.mktemp("duckdb_night") / "data")
    assert plant(duckdb_night, published_bank.next_date) == (reversal, merge)
    on_duckdb = run(duckdb_night, DateSelection())
    assert on_duckdb.outcome == "SUCCESS" and on_duckdb.business_date == published_bank.next_date.isoformat(), (
        on_duckdb.failures
    )
    second = night_by_the_dag(settings, published_bank.next_date)
    assert second.outcome == "SUCCESS", second.failures
    # (what the DAG's warehouse gate ran: its own dbt process wrote dbt's run results)
    tests = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    compiled = {result["unique_id"]: result["compiled_code"] or "" for result in tests["results"]}
    return SparkNights(
        settings,
        first,
        second,
        rollback(settings),
        first_published,
        first_log,
        first_lake_version,
        compiled,
        reversal,
        merge,
        duckdb_night,
        on_duckdb,
    )


def plant(settings: Settings, night: date) -> tuple[PlantedReversal, PlantedMerge]:
    """The reversals and the merge (tests/planted.py) in the pending deliveries of `night`."""
    core, online = (settings.landing_dir / system / night.isoformat() for system in ("core_banking", "online_banking"))
    reversal = plant_reversals(core, settings.lake_dir, settings.timezone)
    return reversal, plant_merge(core, published_identity_dir(settings) / IDENTITY_FILE, online)


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


def both_versions(spark_version: Path, duck_version: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a version published on Spark (`spark`) and one published on DuckDB
    (`duck`), both read-only, instants read in UTC."""
    con = duckdb.connect()
    con.execute(f"attach '{spark_version}' as spark (read_only)")
    con.execute(f"attach '{duck_version}' as duck (read_only)")
    con.execute("set TimeZone = 'UTC'")
    return con


def assert_marts_are_duckdbs(
    con: duckdb.DuckDBPyConnection, settings: Settings, same: Mapping[str, str] | None = None
) -> None:
    """Every portable mart of the version `spark` (the build's manifest in `settings`' data dir says
    which) holds the rows of the same mart in the version `duck`, its columns typed alike, in the
    contract's order (Spark's partition columns are not last here); money compared as text. A
    value of DuckDB's that `same` names is compared as the value it maps to (a load id: the run
    that loaded the same deliveries)."""
    marts = [
        name
        for (name,) in con.sql(
            "select view_name from duckdb_views() where database_name = 'spark' and schema_name = 'marts'"
        ).fetchall()
    ]
    built = portable_relations(settings.root / "dbt" / "target").values()
    assert sorted(marts) == sorted(relation.split(".")[1] for relation in built if relation.startswith("marts.")), marts
    compared = 0
    for mart in marts:
        duck = con.sql(duckdb_rows({mart: f"duck.marts.{mart}"}, mart))
        view = con.sql(f"select * from spark.marts.{mart}")
        assert list(zip(view.columns, map(str, view.types), strict=True)) == list(
            zip(duck.columns, map(str, duck.types), strict=True)
        ), mart
        expected = as_text(duck.fetchall(), same)
        assert as_text(view.select(*duck.columns).fetchall()) == expected, mart
        compared += expected.total()
    assert compared > 1000, "the comparison would prove little"


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
    spark = both_versions(
        version_path(spark_nights.settings, first.run_id),
        version_path(published_bank.settings, published_bank.report.run_id),
    )
    assert_marts_are_duckdbs(spark, spark_nights.settings)
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
    v1, v2 = (reader_files_path(settings, run.run_id) / "marts" / "fct_loan_daily" for run in (first, second))
    # and the facts' date partitions the night did not touch are the first night's files, linked
    # (Spark overwrote only the night's partitions), where the night's date is new: the loans, which
    # neither customer the night merged holds (the merge re-keys every date of the balances of the
    # merged record's accounts, test_a_night_on_spark_publishes_what_the_same_night_publishes_on_duckdb)
    merged = "', '".join(spark_nights.merge.keys)
    assert duckdb.sql(
        f"select count(*) from read_parquet('{v1}/*/*.parquet') where customer_key in ('{merged}')"
    ).fetchall() == [(0,)]
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


def test_a_night_on_spark_publishes_what_the_same_night_publishes_on_duckdb(spark_nights: SparkNights) -> None:
    # given the second night on Spark (incremental, run by the DAG), whose core banking delivery
    # carries two reversals of a posting of the first night and a record that makes two customers
    # one (tests/planted.py), and the same deliveries loaded on DuckDB in a copy of the published bank
    settings, second = spark_nights.settings, spark_nights.second
    con = both_versions(version_path(settings, second.run_id), spark_nights.duckdb_night.warehouse_path)
    # then every portable mart it published holds what the DuckDB night published, row for row
    assert_marts_are_duckdbs(con, settings, {spark_nights.duckdb_run.run_id: second.run_id})
    con.close()


# What the incremental models build as a night on Spark, model by model (issue 18): the second
# night (run by the DAG, incremental from the first night's published state) against DuckDB's
# whole build of the same deliveries (`SparkNights.duckdb_night`: a copy of the published bank in
# another folder, which builds afresh, bankdw.warehouse.project_fingerprint). The night brings a new
# date, late web events and events sent twice (the bank's own), two reversals of a posting of the
# first night and a record whose new national id merges two customers (tests/planted.py).

WEB_MODELS = ("int_web_events_deduplicated", "int_web_events_sessionised", "fct_web_sessions")
"""The web events (incremental by delivery date) and sessions (incremental by session: on Spark
partitioned by session date); int_web_sessions_keyed, between them, is a view."""
VALUE_MODELS = (
    "int_account_activity_monthly",
    "int_web_user_activity_monthly",
    "int_customer_relationships_monthly",
    "int_customer_activity_monthly",
    "int_customer_value_features_monthly",
)
"""The value chain's portable tables incremental by month (not what ranks a month's customers
against each other: pyramid, RFM, migration, compared as marts)."""
TAIL_TABLES = {
    "int_account_balances_daily_filled": ("balance_date", "as_of_load_id"),
    "int_ftp_rates_daily": ("balance_date", "as_of_load_id"),
    "int_account_interest_monthly": ("month_start", "as_of_load_id"),
    "int_account_postings_monthly": ("month_start", "as_of_load_id"),
    "int_account_service_costs_monthly": ("month_start", "as_of_load_id"),
    "int_account_profitability_monthly": ("month_start", "interest_load_id, postings_load_id, built_in_run"),
    "int_account_profitability_shared_monthly": ("month_start", "profitability_built_in_run"),
}
"""The profitability chain's tables incremental by account and date (replace_tail): their date, and
the lineage of the incremental build besides rebuilt_from (the loads or build a row was built from)."""
TAIL_MARTS = (
    "int_account_provisions_monthly",
    "int_service_contacts_costed",
    "fct_account_balance_monthly",
    "int_customer_profitability_monthly",
    "fct_account_profitability_monthly",
    "fct_customer_profitability_monthly",
)
"""Tables of the chain built whole each night, from the incremental ones or beside them."""
VALUE_LINEAGE = {
    model: (
        *((ENGINE_DIGESTS[model], "rebuilt_from") if model in ENGINE_DIGESTS else ("load_id",)),
        *RUN_STAMPS[model],
    )
    for model in VALUE_MODELS
}
"""The lineage of the value chain's tables in their incremental build: the build that wrote a row
(RUN_STAMPS), and the load a month's activity came from or, for what is rebuilt by customer, the
restart it was rebuilt from and its digest (ENGINE_DIGESTS: each engine's own)."""
FIRST_FULL_REFRESH = date(1, 1, 1)
"""rebuilt_from of a row a full refresh wrote (or a customer rebuilt whole)."""


@dataclass(frozen=True)
class NightCompared:
    """The second night's tables on Spark beside DuckDB's build of the same deliveries."""

    con: duckdb.DuckDBPyConnection
    """DuckDB's whole build of the night (its version's state file), read-only, in UTC."""
    tables: dict[str, SparkTable]
    spark_state: Path
    first_state: Path
    """The Spark state the first and the second night published (their tables' files)."""
    night_load: str
    duck_load: str
    """The load id of the night's deliveries on Spark, and on DuckDB (each its run's id)."""
    survived: str
    retired: str
    """The key of the merged customer, and the key the merge retired."""
    night: date
    reversal: PlantedReversal
    """The night's reversals of a posting of the first night (tests/planted.py)."""

    def duck(self, model: str) -> str:
        return f"{self.tables[model].schema}.{model}"

    def spark(self, model: str, first: bool = False) -> str:
        return spark_parquet((self.first_state if first else self.spark_state) / self.tables[model].folder)

    def assert_same(self, model: str, columns: str = "*", where: str = "true", duck_sql: str | None = None) -> None:
        """Spark's table `model` holds DuckDB's rows (of `duck_sql`, by default the model's), every
        value as text, the night's load id as Spark's, and there is at least one; `columns` and
        `where` select the same of both."""
        duck = self.con.sql(f"select {columns} from ({duck_sql or f'select * from {self.duck(model)}'}) where {where}")
        spark = self.con.sql(f"select {columns} from {self.spark(model)} where {where}")
        expected = as_text(duck.fetchall(), {self.duck_load: self.night_load})
        assert expected and as_text(spark.select(*duck.columns).fetchall()) == expected, model


@pytest.fixture(scope="module")
def night(spark_nights: SparkNights) -> Iterator[NightCompared]:
    """The second night on Spark beside DuckDB's build of the same deliveries (closed after the module)."""
    settings, second = spark_nights.settings, spark_nights.second
    con = duckdb_state(spark_nights.duckdb_night, spark_nights.duckdb_run.run_id)
    con.execute("set TimeZone = 'UTC'")
    survived = {
        row["customer_key"]
        for row in pq.read_table(identity_version_path(settings, second.run_id) / IDENTITY_FILE).to_pylist()
        if row["customer_id"] in (spark_nights.merge.customer_id, spark_nights.merge.joins)
    }
    assert len(survived) == 1 and survived <= set(spark_nights.merge.keys), (survived, spark_nights.merge)
    [retired] = set(spark_nights.merge.keys) - survived
    spark_state = spark_state_path(settings, second.run_id)
    yield NightCompared(
        con,
        {table.name: table for table in described(spark_state)},
        spark_state,
        spark_state_path(settings, spark_nights.first.run_id),
        second.run_id,
        spark_nights.duckdb_run.run_id,
        next(iter(survived)),
        retired,
        date.fromisoformat(second.business_date or ""),
        spark_nights.reversal,
    )
    con.close()


def test_the_customer_history_built_incrementally_on_spark_is_duckdbs(night: NightCompared) -> None:
    # given the customer history built on Spark as two nights: the published lake (a full refresh),
    # then incrementally a new snapshot date, with a record merged into another customer (its key
    # retired), the night's tables rewritten from the rows that stay and the new ones
    # then every day's golden record, the history and the current customers are DuckDB's, row for row
    for model in ("int_customers_unified_daily", "dim_customer_history", "dim_customer"):
        night.assert_same(model)
    # and so are the versions, but for which build last changed a version (load_id: the first
    # night, for the versions the second left alone) and where a customer's rewrite began
    night.assert_same("int_customer_versions", "* exclude (load_id, replace_from)")
    # and the ledgers hold DuckDB's dates, loads, keys and fingerprints (and the key retired that
    # night), and say what the second night found new: the new snapshot date, the customer whose
    # records changed and the retired key
    night.assert_same("int_customer_history_dates", "snapshot_date, load_id")
    changed = night.con.sql(f"select snapshot_date from {night.spark('int_customer_history_dates')} where is_changed")
    assert changed.fetchall() == [(night.night,)]
    night.assert_same("int_customer_history_keys", "customer_key, member_fingerprint, n_members")
    retired = f"select member_fingerprint, n_members from {night.spark('int_customer_history_keys')} where customer_key = '{night.retired}'"
    assert night.con.sql(retired).fetchall() == [(None, 0)]
    changed_keys = night.con.sql(
        f"select customer_key from {night.spark('int_customer_history_keys')} where is_changed"
    ).fetchall()
    assert {key for (key,) in changed_keys} == {night.survived, night.retired}


def test_the_balance_facts_built_incrementally_on_spark_are_duckdbs(night: NightCompared) -> None:
    # given the balance facts built on Spark as two nights: the first keyed the merged record's
    # accounts to its own key; the second brings a new date (a partition of its own) and the merge,
    # which re-keys those accounts' older partitions (refresh_customer_keys)
    balances = "fct_account_balance_daily"
    keyed_first = (
        f"select account_id, business_date from {night.spark(balances, first=True)} "
        f"where customer_key = '{night.retired}'"
    )
    [(n_keyed,)] = night.con.sql(f"select count(*) from ({keyed_first})").fetchall()
    assert n_keyed >= 1, "the first night keyed no balance to the retired key"
    for model in (balances, "fct_account_balance_daily_recent"):
        # then the second night holds DuckDB's build, row for row: every date, key and amount
        night.assert_same(model, duck_sql=duckdb_rows({model: night.duck(model)}, model))
    # and every account-day the first night keyed to the retired key, the older partitions' too,
    # is keyed to the key that survived; none to the retired one
    rekeyed = night.con.sql(
        f"select customer_key, count(*) from {night.spark(balances)} where (account_id, business_date) in "
        f"(select (account_id, business_date) from ({keyed_first})) group by all"
    )
    assert rekeyed.fetchall() == [(night.survived, n_keyed)]
    retired = f"select count(*) from {night.spark(balances)} where customer_key = '{night.retired}'"
    assert night.con.sql(retired).fetchall() == [(0,)]
    # and the recent balances' window moved on: the second night dropped the partition of a date
    # the first night held (drop_dates_before_window), as DuckDB's build leaves it out
    dates = "select distinct business_date from {}"
    recent = "fct_account_balance_daily_recent"
    first = {d for (d,) in night.con.sql(dates.format(night.spark(recent, first=True))).fetchall()}
    second = {d for (d,) in night.con.sql(dates.format(night.spark(recent))).fetchall()}
    dropped = first - second
    assert len(dropped) == 1 and max(dropped) < min(second) and night.night in second, (first, second)


def test_the_calls_and_loans_built_incrementally_on_spark_are_duckdbs(night: NightCompared) -> None:
    # given the calls and the daily loans built on Spark as two nights, the second's date in a
    # partition of its own
    for model in ("fct_calls", "fct_loan_daily"):
        # then the second night holds DuckDB's build, row for row, the new date from its load
        night.assert_same(model)


def test_the_web_sessions_built_incrementally_on_spark_are_duckdbs(night: NightCompared) -> None:
    # given the web events and sessions built on Spark as two nights: the second's events hold late
    # events and copies of events of sessions the first night built, whose session-date partitions
    # the second night overwrites (incremental_by_key), and the merged record's web user, whose
    # sessions the night re-keys
    for model in WEB_MODELS:
        # then the second night holds DuckDB's build, row for row: an event kept once, from its
        # first receipt; a session once, from all its events
        night.assert_same(model)
    # and the comparison covers sessions the first night built that the second changed: late
    # events of a session of an earlier date, in a partition the night's new date is not
    sessions = (
        f"select count(*) from {night.spark('fct_web_sessions', first=True)} as first "
        f"join {night.spark('fct_web_sessions')} as second using (session_id) where {{}}"
    )
    changed = night.con.sql(
        sessions.format(f"second.session_date < date '{night.night}' and second.n_events > first.n_events")
    )
    assert changed.fetchall()[0][0] >= 1, "no session of an earlier date was rebuilt: the comparison would prove little"
    # and sessions the first night keyed to the retired key that the second did not rebuild hold the
    # merged customer's key: only the post-hook refresh_customer_keys (on Spark an overwrite of their
    # session-date partitions) re-keyed them
    rekeyed = night.con.sql(
        sessions.format(
            f"first.customer_key = '{night.retired}' and second.load_id <> '{night.night_load}' "
            f"and second.customer_key = '{night.survived}'"
        )
    )
    assert rekeyed.fetchall()[0][0] >= 1, night.retired


def test_the_profitability_chain_built_incrementally_on_spark_is_duckdbs(night: NightCompared) -> None:
    # given the profitability chain built on Spark as two nights: the published lake (a full
    # refresh), then a new date, from which the second night rebuilds every account from its
    # restart (strategy replace_tail: on Spark the partitions from the night's restart overwritten,
    # every earlier one left as the first night wrote it), and the merged customer's accounts whole
    before = night.con.sql(
        f"select max(business_date) from staging.stg_core_banking__balances where business_date < date '{night.night}'"
    ).fetchall()[0][0]
    for model, (day, lineage) in TAIL_TABLES.items():
        # then the second night holds DuckDB's build, row for row, but for the lineage of the
        # incremental build (the restart a row was rebuilt from, the loads or build it came from)
        night.assert_same(model, f"* exclude (rebuilt_from, {lineage})")
        if lineage != "as_of_load_id":
            continue
        # and the second night wrote exactly the rows from its restart on: the days after the
        # first night's last one, the night's month (leaving out the merged customer's accounts,
        # which it rebuilt whole, rebuilt_from FIRST_FULL_REFRESH: checked below)
        written = night.con.sql(
            f"select cast({day} as varchar), cast(rebuilt_from as varchar), count(*) "
            f"from {night.spark(model)} where as_of_load_id = '{night.night_load}' and rebuilt_from <> date '{FIRST_FULL_REFRESH}' "
            f"group by all order by all"
        ).fetchall()
        if day == "balance_date":
            assert written and [d for d, _, _ in written] == [
                str(before + timedelta(days=n)) for n in range(1, (night.night - before).days + 1)
            ], (model, written)
            # (the account days restart from the night's balances; their rates from the first
            # account day the first table wrote anew)
            restart = night.night if model == "int_account_balances_daily_filled" else before + timedelta(days=1)
            assert {r for _, r, _ in written} == {str(restart)}, (model, written)
        else:
            assert [d for d, _, _ in written] == [str(night.night.replace(day=1))], (model, written)
        # and every row the second night did not write is the first night's (a full refresh)
        assert night.con.sql(
            f"select count(*) from {night.spark(model)} "
            f"where as_of_load_id <> '{night.night_load}' and rebuilt_from <> date '{FIRST_FULL_REFRESH}'"
        ).fetchall() == [(0,)], model
    # and the second night rebuilt whole the accounts of the merged customer (their customer
    # changed: every month of them from the first, as DuckDB deletes them)
    profitability = "int_account_profitability_monthly"
    rebuilt_whole = night.con.sql(
        f"select count(*) from {night.spark(profitability)} where rebuilt_from = date '{FIRST_FULL_REFRESH}' "
        f"and customer_key = '{night.survived}' and built_in_run not in "
        f"(select built_in_run from {night.spark(profitability, first=True)})"
    ).fetchall()[0][0]
    assert rebuilt_whole >= 1, night.survived
    # and the tables built whole from them are DuckDB's, row for row
    for model in TAIL_MARTS:
        night.assert_same(model)
    # and the reversed posting's month holds the reversals and the reversed posting
    reversal = night.reversal
    assert night.con.sql(
        f"select reversed_fingerprint = md5('{reversal.reversed_txn_id}') from {night.spark('int_account_postings_monthly')} "
        f"where account_id = '{reversal.account_id}' and month_start = date '{reversal.reversed_posting_date.replace(day=1)}'"
    ).fetchall() == [(True,)]


def test_the_value_chain_built_incrementally_on_spark_is_duckdbs(night: NightCompared) -> None:
    # given the value chain's activity, relationships and features built on Spark as two nights:
    # the published lake (a full refresh), then the night's facts (incremental: the activity's month
    # partitions overwritten, the customers' months from the restart, and the merged customer,
    # whose users and accounts changed, rebuilt whole: strategy replace_tail, value_markers)
    for model, lineage in VALUE_LINEAGE.items():
        # then the second night holds DuckDB's build, row for row, but for the lineage
        night.assert_same(model, f"* exclude ({', '.join(lineage)})")
    # and the merged customer's activity was rebuilt whole by the second night
    activity = "int_customer_activity_monthly"
    restarts = night.con.sql(
        f"select distinct rebuilt_from from {night.spark(activity)} where customer_key = '{night.survived}' "
        f"and built_in_run not in (select built_in_run from {night.spark(activity, first=True)})"
    ).fetchall()
    assert restarts == [(FIRST_FULL_REFRESH,)], restarts
    # and the account activity's month came from the night's load
    loads = night.con.sql(f"select distinct load_id from {night.spark('int_account_activity_monthly')}").fetchall()
    assert (night.night_load,) in loads, loads


def test_a_later_reversal_marks_a_posting_of_an_earlier_night_on_spark(night: NightCompared) -> None:
    # given the postings built on Spark as two nights, the second with two reversals of a posting
    # of the first night's oldest date, a partition the second night's query does not write: only
    # the post-hook refresh_reversals (on Spark a partition overwrite) can mark that posting
    reversal = night.reversal
    assert reversal.reversed_posting_date < night.night
    postings = night.spark("fct_transactions")
    marked = (
        "select business_date, is_reversed, reversed_by_txn_id, reversed_on from {} "
        f"where txn_id = '{reversal.reversed_txn_id}'"
    )
    assert night.con.sql(marked.format(night.spark("fct_transactions", first=True))).fetchall() == [
        (reversal.reversed_posting_date, False, None, None)
    ]
    # then the reversed posting is marked in its own date's partition, with the first reversal by
    # date and id, on the night's date
    first = min(REVERSALS)
    assert night.con.sql(marked.format(postings)).fetchall() == [
        (reversal.reversed_posting_date, True, first, night.night)
    ]
    assert as_text(night.con.sql(f"select * from {night.spark('int_transactions_reversed')}").fetchall()) == Counter(
        {(reversal.reversed_txn_id, first, str(night.night), "2"): 1}
    )
    # and every posting is DuckDB's, row for row
    night.assert_same("fct_transactions")
    # and the reversals are postings of the night's date, of the reversed posting's account and customer
    [(customer_key,)] = night.con.sql(
        f"select customer_key from {postings} where txn_id = '{reversal.reversed_txn_id}'"
    ).fetchall()
    assert sorted(
        night.con.sql(
            "select txn_id, is_reversal, is_reversed, reversed_txn_id, account_id, customer_key, amount, "
            f"business_date, load_id from {postings} where txn_type = 'REVERSAL'"
        ).fetchall()
    ) == [
        (
            txn_id,
            True,
            False,
            reversal.reversed_txn_id,
            reversal.account_id,
            customer_key,
            -reversal.amount,
            night.night,
            night.night_load,
        )
        for txn_id in REVERSALS
    ]


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
