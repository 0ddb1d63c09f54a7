"""The same dbt project on Apache Spark, proven figure for figure (issue 18, docs/spark.md).

The models tagged `engine_portable`, as the nightly run on Spark built them (dbt-spark, session
mode, a local PySpark) from the lake of the shared published bank (tests/conftest.py,
`spark_first_night`: the suite's one full Spark build), are compared with the same models of the
DuckDB build that bank already published (its version's state file): the same columns of the
same types, the same rows, the same keys, money to the cent (compared as Decimal text, never as
floats). DuckDB is not built again here: its build is the one the pipeline published. The
nightly run itself (built, tested, published, the next night, rolled back) is
tests/test_spark_pipeline.py's.

What the incremental models build as a night on Spark (the customer history, the facts by date,
the web sessions, the profitability and value chains, with a merge of customers, reversals of an
earlier posting and late web events) is proven on the nightly run's own second night, against the
same night on DuckDB: tests/test_spark_pipeline.py.

Identity resolution runs on the same Spark session (tests/spark_build.py): splink's Spark backend
resolves the same lake, from the same registries, into the same customers, keys and merges as
splink on DuckDB; only its match probabilities differ, slightly (PROBABILITY_TOLERANCE says why).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankdw.config import PROJECT_ROOT, Settings
from bankdw.publish import (
    state_path,
)
from models.identity.keys import MERGES_FILE, REGISTRY_FILE, KeyRegistry
from models.identity.probabilistic import DuckDBBackend, SparkBackend, backend_for
from models.identity.resolve import IDENTITY_FILE, identify, resolve_lake, write_identity
from tests.conftest import CUSTOMERS, SPARK_RECENT_WINDOW_DAYS, PublishedBank, SparkNight
from tests.spark_build import SPLINK_CASES_AS_OF, splink_cases

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PORTABLE_AT_LEAST = {
    # every staging model, the current states, and the core dimensions (docs/spark.md)
    "stg_core_banking__customers",
    "stg_core_banking__accounts",
    "stg_core_banking__account_parties",
    "stg_core_banking__products",
    "stg_core_banking__branches",
    "stg_core_banking__relationship_managers",
    "stg_core_banking__balances",
    "stg_core_banking__transactions",
    "stg_core_banking__loans",
    "stg_online_banking__users",
    "stg_online_banking__events",
    "stg_call_center__calls",
    "stg_call_center__agents",
    "int_accounts_current",
    "int_account_parties_current",
    "int_branches_current",
    "int_products_current",
    "int_relationship_managers_current",
    "int_agents_current",
    "int_web_users_current",
    "int_customers_current",
    "dim_branch",
    "dim_product",
    "dim_relationship_manager",
    # downstream of identity resolution's normalisation UDFs (models/identity/spark_udfs.py)
    "int_customer_records_normalised",
    "int_customer_identity",
    "int_customer_xref",
    "int_accounts_resolved",
    "int_account_allocation_weights",
    "int_account_holders_weighted",
    "dim_account",
    "customer_xref",
    "bridge_account_customer",
    # the customer history (incremental: on Spark a table rewritten, macros/engines.sql) and its marts
    "int_customer_history_dates",
    "int_customer_history_keys",
    "int_customers_unified_daily",
    "int_customer_versions",
    "int_customer_attributes",
    # what customer_360 reads of a customer on the as-of date: holdings, credit risk, activity
    "int_customer_as_of",
    "int_customer_holdings",
    "int_customer_credit_risk",
    "int_customer_activity_postings",
    "int_customer_activity_calls",
    "int_customer_activity_web",
    # every customer's contribution over the window's complete months (sums cast to DuckDB's type)
    "int_customer_contributions",
    # the links between customers that make households (shared joint accounts, address, phone)
    "int_customer_household_links",
    "dim_customer",
    "dim_customer_history",
    "int_customer_rm_periods",
    "bridge_customer_relationship_manager",
    # the latest load of each business date (incremental: on Spark partitioned by date, partitions
    # overwritten) and the relationship managers who left, with what their customers are worth
    "int_business_date_loads",
    "int_rm_departure_risk",
    "fct_rm_departure_risk",
    # the customer events' rules but the value tiers' (views: on Spark every date, no night's
    # window), the deposits they compare, and what the leads learn of a customer later
    "int_customer_deposits_daily",
    "int_customer_events_balances",
    "int_customer_events_accounts",
    "int_customer_events_contacts",
    "int_customer_events_flows",
    "int_customer_events_loans",
    "int_customer_events_salary",
    "int_lead_customer_facts",
    # SALARY_STOPPED's credits (incremental: on Spark partitioned by business date)
    "int_salary_credits",
    # the balance facts (incremental: on Spark partitioned by business date, partitions overwritten)
    "int_account_balances_keyed",
    "fct_account_balance_daily",
    "fct_account_balance_daily_recent",
    # the other facts by business date (partitioned the same way), with what they stand on
    "int_transactions_reversed",
    "int_transactions_flagged",
    "fct_transactions",
    "int_calls_keyed",
    "fct_calls",
    "int_loans_provisioned",
    "fct_loan_daily",
    # the loan book at month ends, and the audit: the loads, the check history and the
    # quarantine (read with DuckDB's `filename`: on Spark the file's path, lake_file_name), and the
    # merge log of customer keys
    "fct_loan_book_monthly",
    "audit_loads",
    "audit_check_results",
    "audit_quarantine",
    "audit_customer_key_merges",
    # the people seen on the web or on the phone who are not customers (resolved by phone)
    "int_prospects",
    "dim_prospect",
    # the web events by delivery date and the sessions (incremental by session: on Spark
    # partitioned by session date, the partitions of the sessions a night rebuilt overwritten)
    "int_web_events_deduplicated",
    "int_web_events_sessionised",
    "int_web_sessions_keyed",
    "fct_web_sessions",
    # the profitability chain (docs/spark.md): its seeds' models, the calendar, the loan book's
    # provisions, the costed contacts, and the account days and months (incremental by account
    # and date, strategy replace_tail: on Spark partitioned by the date, partitions overwritten)
    "int_calendar_days",
    "dim_date",
    "dim_month",
    "int_profitability_assumptions",
    "int_account_ftp_legs",
    "int_account_provisions_monthly",
    "int_service_contacts_costed",
    "int_account_balances_daily_filled",
    "int_ftp_rates_daily",
    "int_account_interest_monthly",
    "fct_account_balance_monthly",
    # and the rest of the chain to the public profitability marts
    "int_account_postings_monthly",
    "int_account_service_costs_monthly",
    "int_service_costs_unallocated_monthly",
    "int_account_profitability_monthly",
    "int_account_profitability_shared_monthly",
    "int_customer_profitability_monthly",
    "fct_account_profitability_monthly",
    "fct_customer_profitability_monthly",
    "fct_product_profitability_monthly",
    "fct_branch_profitability_monthly",
    "fct_relationship_manager_profitability_monthly",
    "fct_segment_profitability_monthly",
    "fct_bank_profitability_monthly",
    "fct_unallocated_cost_monthly",
    # the value chain's activity by account and web user, and customers' relationships and activity
    # by month (incremental: on Spark partitioned by month; digests each engine's own, ENGINE_DIGESTS)
    "int_account_activity_monthly",
    "int_web_user_activity_monthly",
    "int_customer_relationships_monthly",
    "int_customer_activity_monthly",
    # the value features (rfm_frequency a bigint on both engines), scores, RFM and tier migration
    "int_customer_value_features_monthly",
    "int_customer_value_monthly",
    "int_customer_rfm_monthly",
    "int_customer_tier_migration_monthly",
    # the public value marts (incremental by month: on Spark partitioned by month_start)
    "fct_customer_value_monthly",
    "fct_customer_rfm_monthly",
    "fct_customer_tier_migration_monthly",
    "int_customer_events_value",
    "int_churn_risk_bands",
    "int_customer_events_churn",
    "int_customer_events",
    "fct_customer_events",
    "int_lead_candidates",
    "int_campaign_response",
    "fct_campaign_response",
    # the Python models (on Spark run on DuckDB over Spark's tables, bankdw/spark_python.py) and what
    # stands on them: households, the leads under the contact rules, tonight's scores (none here: the
    # shared bank trains no model), customer_360 and the RM scorecards
    "int_customer_households",
    "int_household_measures",
    "dim_household",
    "int_leads",
    "fct_leads",
    "int_rm_scorecard_monthly",
    "fct_rm_scorecard_monthly",
    "int_churn_scores",
    "int_clv_scores",
    "int_campaign_propensity",
    "customer_360",
    # the score marts: the archive's nights and tonight's (on Spark partitioned by score_date)
    "fct_churn_scores",
    "fct_customer_lifetime_value",
    "fct_campaign_propensity",
}
INCREMENTAL_BALANCE_FACTS = ("fct_account_balance_daily", "fct_account_balance_daily_recent")
FACTS_BY_DATE = (*INCREMENTAL_BALANCE_FACTS, "fct_transactions", "fct_calls", "fct_loan_daily")
"""The portable tables partitioned by business date on Spark (incremental_by_date)."""
PARTITIONED = {
    **{model: ["business_date"] for model in FACTS_BY_DATE},
    "int_web_events_deduplicated": ["received_date"],
    "int_business_date_loads": ["business_date"],
    "int_web_events_sessionised": ["session_date"],
    "fct_web_sessions": ["session_date"],
    "int_account_balances_daily_filled": ["balance_date"],
    "int_ftp_rates_daily": ["balance_date"],
    "int_salary_credits": ["business_date"],
    "int_account_interest_monthly": ["month_start"],
    "fct_account_balance_monthly": ["month_start"],
    "int_account_postings_monthly": ["month_start"],
    "int_account_service_costs_monthly": ["month_start"],
    "int_account_profitability_monthly": ["month_start"],
    "int_account_profitability_shared_monthly": ["month_start"],
    "int_account_activity_monthly": ["month_start"],
    "int_web_user_activity_monthly": ["month_start"],
    "int_customer_relationships_monthly": ["month_start"],
    "int_customer_activity_monthly": ["month_start"],
    "int_customer_value_features_monthly": ["month_start"],
    "int_customer_value_monthly": ["month_start"],
    "int_customer_rfm_monthly": ["month_start"],
    "int_customer_tier_migration_monthly": ["month_start"],
    "fct_customer_value_monthly": ["month_start"],
    "fct_customer_rfm_monthly": ["month_start"],
    "fct_customer_tier_migration_monthly": ["month_start"],
    "fct_churn_scores": ["score_date"],
    "int_churn_risk_bands": ["score_date"],
    "fct_customer_lifetime_value": ["score_date"],
    "fct_campaign_propensity": ["score_date"],
}
"""The portable tables Spark partitions, and by what: the facts and web events by date
(incremental_by_date), the sessions by their date (incremental_by_key), the profitability chain's
account days and months by their date (incremental_by_tail), the month-end balances by month
(incremental_by_date), the value chain's months by month
(incremental_by_date, incremental_by_tail), the salary credits by business date
(incremental_by_tail), the public value marts by month and the score marts by
score date (incremental_by_date)."""
RUN_STAMPS = {
    "int_account_profitability_monthly": ("built_in_run",),
    "int_account_profitability_shared_monthly": ("profitability_built_in_run",),
    "int_account_activity_monthly": ("built_in_run",),
    "int_web_user_activity_monthly": ("built_in_run",),
    "int_customer_relationships_monthly": ("built_in_run",),
    "int_customer_activity_monthly": ("account_activity_built_in_run", "user_activity_built_in_run", "built_in_run"),
    "int_customer_value_features_monthly": ("built_in_run",),
    "int_customer_value_monthly": ("features_built_in_run", "built_in_run"),
    "int_customer_rfm_monthly": ("features_built_in_run", "built_in_run"),
    "int_customer_tier_migration_monthly": ("value_built_in_run", "built_in_run"),
}
"""Columns that name the build that wrote a row (dbt's run_started_at), which two builds never share:
compared as a stamp every row of the build holds, not as a figure."""
ENGINE_DIGESTS = {
    "int_customer_relationships_monthly": "holdings_fingerprint",
    "int_customer_activity_monthly": "links_fingerprint",
    "int_customer_value_features_monthly": "inputs_fingerprint",
}
"""Columns that hold each engine's own 64-bit digest of what a customer's rows were built from
(ordered_list_digest and row_digest, macros/engines_aggregates.sql: DuckDB's hash, a UBIGINT; Spark's
xxhash64, a BIGINT),
which a night compares with its own table's only: compared as what they are for, the rows of a
model (by customer_key and month_start) share a digest on Spark exactly when they share one on
DuckDB."""
EMPTY_IN_THE_SHARED_BANK = {
    "int_transactions_reversed",
    "audit_customer_key_merges",
    "audit_model_runs",
    "int_customer_contributions",
    "int_customer_events_balances",
    "int_customer_events_contacts",
    "int_customer_events_flows",
    "int_customer_events_loans",
    "int_customer_events_salary",
    "int_customer_events_value",
    "int_customer_events_churn",
    "int_churn_risk_bands",
    "int_churn_scores",
    "int_clv_scores",
    "int_campaign_propensity",
    "fct_churn_scores",
    "fct_customer_lifetime_value",
    "fct_campaign_propensity",
}
"""Portable models the shared bank gives no row, compared on their columns and types only: no
reversal (empty on both engines in the first build, proven on the second night, whose delivery
brings reversals: tests/test_spark_pipeline.py), no customer keys merged (proven there too), no analytical model trained (so no
churn, lifetime value or campaign score tonight: proven by hand on Spark, docs/spark.md), no
complete month (its eight days are in one month), and no customer event but TD_MATURING (int_customer_events_accounts): its eight days
are shorter than the rules' baselines (30 to 90 days), its one complaint call is no customer's, no
user fails three logins a day, no loan falls into arrears or is downgraded, and no month ends
within its data, where a value tier's move is judged (int_customer_events_value; the rules are
proven on a bank of 70 days instead, docs/spark.md)."""

NIGHTS_OWN_ROWS = {"audit_check_results": "run_id"}
"""Models that hold rows of the Spark night itself (its run id in this column): the checks of its
feed gates (data freshness, checked each night), which DuckDB's version, published before it, cannot
hold. Compared without them."""


@pytest.fixture(scope="module")
def spark_build(
    published_bank: PublishedBank, spark_first_night: SparkNight, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, Path]:
    """A copy of the published bank (Spark writes its warehouse into the data dir's build area)
    whose portable models are those the first night on Spark built (`spark_first_night`, the
    suite's one full Spark build), registered over a copy of its files, and left as Parquet (read
    with `spark_parquet`), then built again as nights of their own. The tables' names in memory
    (setting spark_catalog): tests.spark_build writes out what it built in the process that built
    it, so no Derby metastore is started and none is asked at every statement (17 per cent less
    CPU for its builds, docs/spark.md)."""
    root = tmp_path_factory.mktemp("spark")
    settings = published_bank.copy(root / "data")
    out = root / "built"
    done = subprocess.run(
        [sys.executable, "-m", "tests.spark_build", str(settings.root), str(out), str(spark_first_night.state)],
        cwd=PROJECT_ROOT,
        env=os.environ
        | {"BANKDW_BALANCE_SNAPSHOT_WINDOW_DAYS": str(SPARK_RECENT_WINDOW_DAYS), "BANKDW_SPARK_CATALOG": "in-memory"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return settings, out


def duckdb_state(settings: Settings, run_id: str) -> duckdb.DuckDBPyConnection:
    """The published version's whole DuckDB build (staging views included), read-only; its views
    name the lake relative to the data dir."""
    return duckdb.connect(str(state_path(settings, run_id)), read_only=True, config=settings.duckdb_config())


def duckdb_rows(built: dict[str, str], model: str) -> str:
    """The model's rows in the published DuckDB build, within Spark's window for the recent
    balances (SPARK_RECENT_WINDOW_DAYS: the same rule as the model's, on DuckDB's 92 days)."""
    if model != "fct_account_balance_daily_recent":
        return f"select * from {built[model]}"
    return (
        f"select * from {built[model]} where business_date > "
        f"(select max(business_date) from {built[model]}) - {SPARK_RECENT_WINDOW_DAYS}"
    )


def spark_parquet(directory: Path) -> str:
    """The rows of a model as tests/spark_build.py left them in `directory`: a table's own Parquet
    files as Spark stored them (a partitioned table's in a folder per partition, `column=value`,
    whose columns DuckDB reads last, as Spark lists them), or a view's rows Spark wrote out."""
    if any(path.is_dir() for path in directory.iterdir()):
        return f"read_parquet('{directory}/*/*.parquet', hive_partitioning = true)"
    return f"read_parquet('{directory}/*.parquet', hive_partitioning = false)"


def as_text(rows: list[tuple[object, ...]], same: Mapping[str, str] | None = None) -> Counter[tuple[str, ...]]:
    """Rows as text, counted: Decimal keeps its scale (`12.3400`), instants print in UTC. A value
    whose text `same` names counts as the text it maps to (a load id: another run's of the same
    deliveries)."""
    same = same or {}
    return Counter(
        tuple("NULL" if value is None else same.get(str(value), str(value)) for value in row) for row in rows
    )


def test_every_portable_model_is_built_on_spark(spark_build: tuple[Settings, Path]) -> None:
    # given the models dbt built on Spark
    _, out = spark_build
    built = json.loads((out / "models.json").read_text(encoding="utf-8"))
    # then the portable set holds at least what docs/spark.md promises
    assert set(built) >= PORTABLE_AT_LEAST, sorted(PORTABLE_AT_LEAST - set(built))


def test_spark_gives_the_duckdb_build_figure_for_figure(
    spark_build: tuple[Settings, Path], published_bank: PublishedBank, spark_first_night: SparkNight
) -> None:
    # given every portable model as Spark built it, and the same model in the published DuckDB build
    settings, out = spark_build
    built = json.loads((out / "models.json").read_text(encoding="utf-8"))
    partitioned = json.loads((out / "partitions.json").read_text(encoding="utf-8"))
    assert partitioned == PARTITIONED
    con = duckdb_state(settings, published_bank.report.run_id)
    con.execute("set TimeZone = 'UTC'")  # instants compare as instants, printed alike on both sides
    differences = {}
    for model in sorted(built):
        duck = con.sql(duckdb_rows(built, model))
        spark = con.sql(f"select * from {spark_parquet(out / model)}")
        if model in NIGHTS_OWN_ROWS:  # (but the Spark night's own: NIGHTS_OWN_ROWS)
            night = spark.filter(f"{NIGHTS_OWN_ROWS[model]} = '{spark_first_night.report.run_id}'")
            assert night.fetchall(), f"{model}: the Spark night added no row of its own"
            spark = spark.filter(f"{NIGHTS_OWN_ROWS[model]} <> '{spark_first_night.report.run_id}'")
        # then the columns are the same, in the same order, of the same types (decimal scales
        # included), but that Spark lists a partitioned table's partition columns last
        duck_columns = list(zip(duck.columns, map(str, duck.types), strict=True))
        spark_columns = list(zip(spark.columns, map(str, spark.types), strict=True))
        last = partitioned.get(model, [])
        expected = [c for c in duck_columns if c[0] not in last] + [c for c in duck_columns if c[0] in last]
        digest = ENGINE_DIGESTS.get(model)
        if digest is not None:  # each engine's own digest (ENGINE_DIGESTS), of its own 64-bit type
            assert (digest, "UBIGINT") in expected, model
            expected[expected.index((digest, "UBIGINT"))] = (digest, "BIGINT")
        assert spark_columns == expected, model
        # and the rows are the same, every value as text: keys, dates, flags, money to the cent, but
        # for the stamps of the build that wrote them (RUN_STAMPS), one value on each side
        if digest is not None:
            assert_same_digest_groups(duck, spark, digest, model)
        left_out = {*RUN_STAMPS.get(model, ()), digest}
        for stamp in RUN_STAMPS.get(model, ()):
            assert len(set(spark.select(stamp).fetchall())) == 1, (model, stamp)
        duck = duck.select(*[column for column in duck.columns if column not in left_out])
        spark = spark.select(*duck.columns)
        duck_rows, spark_rows = as_text(duck.fetchall()), as_text(spark.fetchall())
        assert bool(duck_rows) != (model in EMPTY_IN_THE_SHARED_BANK), f"{model}: the comparison would prove nothing"
        if duck_rows != spark_rows:
            differences[model] = {
                "only_duckdb": list((duck_rows - spark_rows).elements())[:3],
                "only_spark": list((spark_rows - duck_rows).elements())[:3],
            }
    con.close()
    assert not differences, differences


def assert_same_digest_groups(
    duck: duckdb.DuckDBPyRelation, spark: duckdb.DuckDBPyRelation, digest: str, model: str
) -> None:
    """The rows of both builds, by customer_key and month_start, share a digest on one engine
    exactly when they share one on the other: the digests pair one to one (ENGINE_DIGESTS)."""
    duck_digests = duck.select(f"customer_key, month_start, {digest} as duck_digest").set_alias("duck")
    spark_digests = spark.select(f"customer_key, month_start, {digest} as spark_digest").set_alias("spark")
    paired = duck_digests.join(
        spark_digests, "duck.customer_key = spark.customer_key and duck.month_start = spark.month_start"
    )
    n_rows, n_duck, n_spark, n_pairs = paired.aggregate(
        "count(*), count(distinct duck_digest), count(distinct spark_digest), "
        "count(distinct (duck_digest, spark_digest))"
    ).fetchall()[0]
    assert n_rows == len(duck.fetchall()) == len(spark.fetchall()), model
    assert n_duck == n_spark == n_pairs, (model, n_duck, n_spark, n_pairs)


def test_a_compile_on_spark_leaves_no_table_computed_once(spark_build: tuple[Settings, Path]) -> None:
    # given the models that compute CTEs once (computed_once), compiled on Spark (`dbt compile`) on
    # the first night's tables, where they are incremental (tests/spark_build.py, left_by_compile)
    _, out = spark_build
    left = json.loads((out / "left_by_compile.json").read_text(encoding="utf-8"))
    assert "int_account_profitability_monthly" in left["models"], left
    # then the compile wrote none of their tables: only a run or a build computes them, and its
    # strategy drops them
    assert left["tables"] == []


def test_money_keeps_its_scale_on_spark(spark_build: tuple[Settings, Path]) -> None:
    # given the postings Spark staged
    _, out = spark_build
    con = duckdb.connect()
    [(amount_type, total, rows)] = con.sql(
        "select any_value(typeof(amount)), sum(amount), count(*) "
        f"from {spark_parquet(out / 'stg_core_banking__transactions')}"
    ).fetchall()
    # then amounts are DECIMAL(18,4), summed exactly, never floating point
    assert amount_type == "DECIMAL(18,4)"
    assert rows > 1000
    assert total.as_tuple().exponent == -4


PROBABILITY_TOLERANCE = 1e-12
"""splink's match probabilities are compared within floating point, every other column exactly.
Both engines learn from the same record pairs: splink counts every sampled pair in one pass
(models/identity/probabilistic.py, num_chunks=1). With its default chunks, which pairs a chunk
held was a hash of the record ids, computed differently by DuckDB and Spark, and stopping early
made the engines learn from different pairs (0.9999996287 on DuckDB, 0.9999996259 on Spark for
the same link of splink_cases). Measured in one pass: 0.9999996257363888 on both, 0.0 apart.
The groups, rules, matched records, candidates, keys, the dates keys were created on, the
registry and the merge log, which the probabilities decide through the threshold, are exact."""


def identity_rows(directory: Path) -> tuple[list[dict[str, object]], pa.Table, pa.Table]:
    """An identity directory's resolution (by customer_id, probability apart), registry and merge log."""
    keyed = pq.read_table(directory / IDENTITY_FILE).sort_by("customer_id")
    return keyed.to_pylist(), pq.read_table(directory / REGISTRY_FILE), pq.read_table(directory / MERGES_FILE)


def assert_same_identity(spark_dir: Path, duck_dir: Path) -> list[dict[str, object]]:
    spark_rows, spark_registry, spark_merges = identity_rows(spark_dir)
    duck_rows, duck_registry, duck_merges = identity_rows(duck_dir)
    spark_p = [row.pop("match_probability") for row in spark_rows]
    duck_p = [row.pop("match_probability") for row in duck_rows]
    assert spark_rows == duck_rows
    assert [p is None for p in spark_p] == [p is None for p in duck_p]
    assert all(abs(s - d) <= PROBABILITY_TOLERANCE for s, d in zip(spark_p, duck_p, strict=True) if s is not None)
    assert spark_registry.equals(duck_registry)
    assert spark_merges.equals(duck_merges)
    return duck_rows


def test_identity_resolved_on_spark_is_the_published_one(
    spark_build: tuple[Settings, Path], published_bank: PublishedBank
) -> None:
    # given the lake resolved with splink on Spark from an empty registry, as the bank's first run
    # resolved it with splink on DuckDB (and published it)
    _, out = spark_build
    # then the same records fall into the same customers by the same rules, with the same keys
    rows = assert_same_identity(out / "identity" / "first_run", published_bank.settings.identity_dir)
    # and the comparison covers both deterministic rules: most of the bank's customers are linked
    # by national id, and at least one legacy record by name, birth date and phone
    rules = Counter(str(row["match_rule"]) for row in rows)
    assert rules["NATIONAL_ID"] > CUSTOMERS / 2 and rules["NAME_BIRTH_PHONE"] >= 1, rules


def test_splink_on_spark_links_what_splink_on_duckdb_links(spark_build: tuple[Settings, Path], tmp_path: Path) -> None:
    # given records splink must decide (the shared bank has none), resolved with splink on Spark
    settings, out = spark_build
    # when the same records are resolved with splink on DuckDB
    identity = identify(splink_cases(), KeyRegistry(tmp_path / "empty"), SPLINK_CASES_AS_OF, settings.identity_config())
    write_identity(identity, tmp_path / "identity")
    # then the same records are linked, to the same customers, with the same keys
    rows = {
        str(row["customer_id"]): row
        for row in assert_same_identity(out / "identity" / "splink_cases", tmp_path / "identity")
    }
    assert rows["C9997"]["match_rule"] == rows["C9998"]["match_rule"] == "PROBABILISTIC"
    assert rows["C9997"]["group_id"] == rows["C9998"]["group_id"] == "C0007A"
    # and the look-alike sharing only name and birth date stays a customer of its own on both
    assert rows["C9999"]["match_rule"] == "OWN_RECORD"


def test_identity_resolved_on_spark_merges_keys_as_duckdb_does(
    spark_build: tuple[Settings, Path], tmp_path: Path
) -> None:
    # given a registry in which every record holds a key of its own, resolved with splink on Spark
    settings, out = spark_build
    # when the same lake is resolved from it with splink on DuckDB
    resolve_lake(
        settings.lake_dir,
        out / "registry" / "own_keys",
        tmp_path / "identity",
        settings.phone_region,
        settings.identity_config(),
        DuckDBBackend(),
    )
    # then both keep the same surviving keys and retire the same keys into the same merge log
    assert_same_identity(out / "identity" / "own_keys", tmp_path / "identity")
    merges = pq.read_table(tmp_path / "identity" / MERGES_FILE)
    assert merges.num_rows >= 1, "no merge to compare"


def test_the_engine_setting_picks_splinks_backend_and_starts_no_jvm_until_splink_runs() -> None:
    from pyspark import SparkContext

    # given the two engines, when the resolve step picks splink's backend (bankdw.pipeline.resolve_step)
    duck, spark = backend_for("duckdb"), backend_for("spark")
    # then each engine gets its own, and the Spark one holds no session before splink needs it
    assert isinstance(duck, DuckDBBackend) and isinstance(spark, SparkBackend)
    assert spark.spark is None and SparkContext._active_spark_context is None
