"""The models tagged `engine_portable` as the nightly run on Spark built them, written each as
Parquet, then built again as nights of their own, and the lake's identity resolved with splink on
the same Spark session, for tests/test_spark.py.

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

Then the customer history, the facts by date (balances, postings, calls, daily loans), the
web sessions, the profitability chain's account days and months (TAIL_MODELS) and the value
chain's months (VALUE_MODELS) are built
again as two nights (`history_nights`): a full refresh of their models
from the lake without its newest customer snapshot, facts and web events, then, those back (the
facts and events in a load of their own, the postings with two reversals of a posting of the
first night, the events with late events of sessions of the first night), an incremental build
(the Spark forms of their strategies and post-hooks: the history's tables rewritten, the facts'
date partitions, the sessions' partitions and the account days' and months' partitions from the
night's restart overwritten, macros/engines.sql and macros/incremental.sql), each model written
out to `<out_dir>/incremental/<model>/`, and the first night's sessions to
`<out_dir>/first_night/fct_web_sessions/` (the first build's copies are taken before the full
refresh drops their tables). The tables Spark partitions are listed in
`<out_dir>/partitions.json` (Spark lists partition columns last). On those tables the
models that compute CTEs once are then compiled (`dbt compile`), and the tables that left
beside them listed in `<out_dir>/incremental/left_by_compile.json` (none: only a run writes them).

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
import pyarrow.compute as pc
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

HISTORY_MODELS = (
    "int_customer_history_dates",
    "int_customer_history_keys",
    "int_customers_unified_daily",
    "int_customer_versions",
    "dim_customer",
    "dim_customer_history",
)
"""The customer history's incremental models and the marts built from them (history_nights)."""
KEYED_MODELS = ("int_customer_xref", "int_accounts_resolved")
"""What keys the facts by customer: built again each night, so that the split record's account
has the split key on the first night and its customer's on the second (history_nights)."""
BALANCE_MODELS = ("int_account_balances_keyed", "fct_account_balance_daily", "fct_account_balance_daily_recent")
"""The balance facts, incremental by business date (on Spark: partitions overwritten)."""
FACT_MODELS = (
    "int_transactions_reversed",
    "int_transactions_flagged",
    "fct_transactions",
    "int_calls_keyed",
    "fct_calls",
    "int_loans_provisioned",
    "fct_loan_daily",
)
"""The other facts incremental by business date, and the models they stand on."""
WEB_MODELS = (
    "int_web_events_deduplicated",
    "int_web_events_sessionised",
    "int_web_sessions_keyed",
    "fct_web_sessions",
)
"""The web events (incremental by delivery date) and sessions (incremental by session: on Spark
partitioned by session date, the partitions of the rebuilt sessions overwritten)."""
TAIL_MODELS = (
    "int_account_balances_daily_filled",
    "int_ftp_rates_daily",
    "int_account_interest_monthly",
    "fct_account_balance_monthly",
    "int_account_provisions_monthly",
    "int_service_contacts_costed",
    "int_account_postings_monthly",
    "int_account_service_costs_monthly",
    "int_account_profitability_monthly",
    "int_account_profitability_shared_monthly",
    "int_customer_profitability_monthly",
    "fct_account_profitability_monthly",
    "fct_customer_profitability_monthly",
)
"""The profitability chain: its tables incremental by account and day or month (strategy
replace_tail: on Spark partitioned by the date, the partitions from the night's restart
overwritten), the tables they read that a night rebuilds (provisions, costed contacts), and the
marts of accounts, month-end balances and customers built from them."""
VALUE_MODELS = (
    "int_account_activity_monthly",
    "int_web_user_activity_monthly",
    "int_customer_relationships_monthly",
    "int_customer_activity_monthly",
    "int_customer_value_features_monthly",
)
"""The value chain's portable tables: activity by account and by web user (incremental by month: on
Spark the month partitions overwritten), customers' relationships and activity (strategy
replace_tail by customer and month, with customers rebuilt whole when their fingerprint changed),
and the features (replace_tail from the night's restart month). Not what ranks a month's customers
against each other (pyramid, RFM, migration, their marts): the second night's reversals move the
contribution of two customers, and so every customer's Pareto share, from DuckDB's full build."""
NIGHTLY_FEEDS = (
    ("core_banking", "customers"),
    ("core_banking", "balances"),
    ("core_banking", "transactions"),
    ("core_banking", "loans"),
    ("call_center", "calls"),
    ("online_banking", "events"),
)
"""The lake's files whose newest date the first night goes without (history_nights)."""
NEWER_LOAD = "29991231T000000000000Z"
"""The load id of the second night's newest facts: newer than every load of the lake."""
REVERSALS = ("TX999999999999", "TX999999999998")
"""The second night's reversals, both of one posting of the first night (written in this order:
the first by the posting's date and id, TX...998, is the one that cancelled it)."""
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


def history_nights(runner: dbtRunner, settings: Settings, spark: SparkSession, out_dir: Path) -> None:
    """The customer history and the facts by date built as two nights on Spark, each model
    written as Parquet to `<out_dir>/incremental/<model>/`: first (a full refresh) the lake
    without its newest customer snapshot and its newest balances, postings, loans, calls and web
    events (NIGHTLY_FEEDS), and an identity in which one record of a customer of two holds a key
    of its own (so do its accounts' facts); then (incremental, as the night after) the lake and the
    identity as they are: a new date, a key retired, a customer whose records changed, the newest
    facts and web events in a load of their own (NEWER_LOAD; the events with late ones of sessions
    of the first night), two reversals of a posting of the first night (REVERSALS) and facts to
    re-key (`<out_dir>/incremental/split.json`)."""
    newest = {feed: newest_delivered(settings.lake_dir / system / feed) for system, feed in NIGHTLY_FEEDS}
    identity = settings.identity_dir / "customer_identity.parquet"
    resolved = pq.read_table(identity)
    split = split_one_record(resolved)
    models = (
        "int_customer_identity",
        *KEYED_MODELS,
        *HISTORY_MODELS,
        *BALANCE_MODELS,
        *FACT_MODELS,
        *WEB_MODELS,
        *TAIL_MODELS,
        *VALUE_MODELS,
    )
    for feed, folder in newest.items():
        folder.rename(settings.root / f"newest_{feed}")
    identity.rename(settings.root / "customer_identity.parquet")
    try:
        moved = pc.equal(resolved.column("customer_id"), split["customer_id"])
        keys = pc.if_else(moved, split["split_key"], resolved.column("customer_key"))
        pq.write_table(
            resolved.set_column(resolved.schema.get_field_index("customer_key"), "customer_key", keys), identity
        )
        dbt(runner, settings, "run", "--full-refresh", "--select", *models)
    finally:
        for feed, folder in newest.items():
            (settings.root / f"newest_{feed}").rename(folder)
        (settings.root / "customer_identity.parquet").replace(identity)
    built = portable_relations(settings.root / "dbt" / "target")
    first_night = spark.table(built["fct_account_balance_daily"])
    split_rows = first_night.where(first_night.customer_key == split["split_key"]).count()
    recent_dates = sorted(
        str(row.business_date)
        for row in spark.table(built["fct_account_balance_daily_recent"]).select("business_date").distinct().collect()
    )
    first_sessions = spark.table(built["fct_web_sessions"])
    split_sessions = first_sessions.where(first_sessions.customer_key == split["split_key"]).count()
    write_out(spark, built["fct_web_sessions"], out_dir / "first_night" / "fct_web_sessions")
    # the newest facts come in a load of their own, as a night's do (the shared bank loaded
    # every date in one load, which the facts' watermark would take for one it already holds),
    # the transactions with two reversals of a posting of the first night (the shared bank has none);
    # the newest web events hold late events of sessions of the first night, and copies of its events
    delivered = {
        feed: next(newest[feed].glob("*.parquet")) for feed in ("balances", "transactions", "loans", "calls", "events")
    }
    for feed, path in delivered.items():
        shutil.copyfile(path, settings.root / f"newest_{feed}.parquet")
    reversed_txn_id = with_reversals(delivered["transactions"], settings.lake_dir)
    for path in delivered.values():
        rows = pq.read_table(path)
        pq.write_table(
            rows.set_column(
                rows.schema.get_field_index("_load_id"), "_load_id", pa.array([NEWER_LOAD] * rows.num_rows, pa.string())
            ),
            path,
        )
    try:
        dbt(runner, settings, "run", "--select", *models)
        for model in (*HISTORY_MODELS, *BALANCE_MODELS, *FACT_MODELS, *WEB_MODELS, *TAIL_MODELS, *VALUE_MODELS):
            write_out(spark, built[model], out_dir / "incremental" / model)
    finally:
        for feed, path in delivered.items():
            (settings.root / f"newest_{feed}.parquet").replace(path)
    (out_dir / "incremental" / "split.json").write_text(
        json.dumps(
            {
                **split,
                "first_night_split_rows": split_rows,
                "first_night_split_sessions": split_sessions,
                "newer_load": NEWER_LOAD,
                "first_night_recent_dates": recent_dates,
                "reversed_txn_id": reversed_txn_id,
                "reversals": list(REVERSALS),
            }
        ),
        encoding="utf-8",
    )


def newest_delivered(feed: Path) -> Path:
    """The folder of the newest business date whose file holds rows (the shared bank's calls are
    few: a date can have none, and a night that brings no row would prove nothing)."""
    return max(day for day in feed.glob("business_date=*") if pq.read_metadata(next(day.glob("*.parquet"))).num_rows)


def with_reversals(newest: Path, lake_dir: Path) -> str:
    """Adds to the newest transactions file (`newest`) two reversals (REVERSALS) of the first
    posting of the lake's oldest date, on the newest date; returns the reversed posting's id."""
    oldest = min((lake_dir / "core_banking" / "transactions").glob("business_date=*"))
    postings = pq.read_table(next(oldest.glob("*.parquet")))
    posting = postings.take(pc.sort_indices(postings, [("txn_id", "ascending")])[:1]).to_pylist()[0]
    rows = pq.read_table(newest)
    day = rows.column("_business_date")[0].as_py()
    reversals = [
        posting
        | {
            "txn_id": txn_id,
            "posting_date": day,
            "txn_ts": rows.column("txn_ts")[0].as_py(),
            "amount": -posting["amount"],
            "txn_type": "REVERSAL",
            "description": "Reversal",
            "reversed_txn_id": posting["txn_id"],
            "_business_date": day,
            "_source_file": rows.column("_source_file")[0].as_py(),
        }
        for txn_id in REVERSALS
    ]
    pq.write_table(pa.concat_tables([rows, pa.Table.from_pylist(reversals, schema=rows.schema)]), newest)
    return str(posting["txn_id"])


def split_one_record(resolved: pa.Table) -> dict[str, str]:
    """The first record of the first customer (by key) that holds two or more, and the key of
    its own it takes for the first night: the customer's own record, which its web user links to
    (a legacy duplicate's id comes later), so that the second night re-keys sessions as well as
    facts (`first_night_split_sessions`)."""
    members: dict[str, list[str]] = {}
    for row in resolved.select(["customer_id", "customer_key"]).to_pylist():
        members.setdefault(str(row["customer_key"]), []).append(str(row["customer_id"]))
    customer_key = min(key for key, ids in members.items() if len(ids) > 1)
    customer_id = min(members[customer_key])
    return {"customer_id": customer_id, "customer_key": customer_key, "split_key": new_key(f"split/{customer_id}")}


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
    the second night's tables, where they are incremental: the models, and the tables beside them
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
    history_nights(runner, settings, spark, out_dir)
    (out_dir / "incremental" / "left_by_compile.json").write_text(
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
