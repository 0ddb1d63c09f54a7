"""The dbt project: it parses, and every public mart keeps the promise of docs/marts.md.

The required columns below are copied from the public interface (docs/marts.md). The test
compares them with what the project declares in `dbt_project/models/marts/**/*.yml` and with
what dbt parsed from it (the manifest), so a mart that loses a promised column, its
contract, its types or its documentation fails here rather than in an analyst's dashboard.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from bankdw.config import PROJECT_ROOT, load_settings
from bench.bench_ordered_aggregates import compile_inline
from tests.conftest import dbt_on

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MARTS_DIR = DBT_PROJECT / "models" / "marts"

DIM_CUSTOMER = [
    "customer_key",
    "customer_type",
    "full_name",
    "birth_date",
    "gender",
    "city",
    "region",
    "home_branch_id",
    "rm_id",
    "onboarding_date",
    "status",
    "n_source_records",
]
PROFITABILITY = [
    "net_interest_income",
    "fee_income",
    "other_income",
    "operating_cost",
    "credit_cost",
    "contribution",
    "capital_charge",
    "economic_profit",
]
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "dim_customer": DIM_CUSTOMER,
    "dim_customer_history": ["customer_key", "valid_from", "valid_to", "is_current", *DIM_CUSTOMER[1:]],
    "customer_xref": ["source_system", "source_table", "source_key", "customer_key", "match_rule"],
    "bridge_account_customer": ["account_id", "customer_key", "role", "allocation_weight"],
    "dim_household": ["household_key", "n_members", "deposit_balance", "loan_balance", "contribution_12m"],
    "dim_account": [
        "account_id",
        "customer_key",
        "product_code",
        "branch_id",
        "currency",
        "open_date",
        "close_date",
        "status",
    ],
    "dim_product": ["product_code", "product_name", "product_family", "product_type", "balance_side"],
    "dim_branch": ["branch_id", "branch_name", "city", "region"],
    "dim_relationship_manager": ["rm_id", "full_name", "branch_id", "team_id"],
    "dim_date": ["date_day", "month_start", "year"],
    "fct_transactions": [
        "txn_id",
        "account_id",
        "customer_key",
        "posting_date",
        "amount",
        "txn_type",
        "channel",
        "is_reversal",
        "is_reversed",
    ],
    "fct_account_balance_daily": ["business_date", "account_id", "customer_key", "ledger_balance"],
    "fct_loan_daily": [
        "business_date",
        "account_id",
        "customer_key",
        "outstanding_principal",
        "days_past_due",
        "classification",
    ],
    "fct_web_sessions": ["session_id", "user_id", "customer_key", "started_at", "ended_at", "n_events"],
    "fct_calls": [
        "call_id",
        "customer_key",
        "started_at",
        "queue",
        "reason_code",
        "outcome",
        "talk_seconds",
        "complaint_flag",
    ],
    "fct_account_profitability_monthly": [
        "month_start",
        "account_id",
        "customer_key",
        "product_code",
        "avg_balance",
        *PROFITABILITY,
    ],
    "fct_customer_profitability_monthly": ["month_start", "customer_key", *PROFITABILITY],
    "fct_product_profitability_monthly": ["month_start", "product_code", *PROFITABILITY, "raroc"],
    "fct_branch_profitability_monthly": ["month_start", "branch_id", *PROFITABILITY, "raroc"],
    "fct_relationship_manager_profitability_monthly": ["month_start", "rm_id", *PROFITABILITY, "raroc"],
    "fct_segment_profitability_monthly": ["month_start", "segment", *PROFITABILITY, "raroc"],
    "fct_bank_profitability_monthly": ["month_start", *PROFITABILITY, "raroc"],
    "fct_loan_book_monthly": [
        "month_start",
        "month_end_date",
        "account_id",
        "outstanding_principal",
        "classification",
        "required_provision",
        "opening_provision",
        "write_off",
        "credit_cost",
    ],
    "fct_account_balance_monthly": [
        "month_start",
        "account_id",
        "snapshot_date",
        "ledger_balance",
        "avg_balance",
        "is_open_at_month_end",
    ],
    "fct_unallocated_cost_monthly": [
        "month_start",
        "channel",
        "n_contacts",
        "volume",
        "total_cost",
        "allocated_cost",
        "unattributed_cost",
        "no_account_cost",
        "unallocated_cost",
    ],
    "fct_account_balance_daily_recent": ["business_date", "account_id", "ledger_balance"],
    "dim_month": ["month_start", "month_end", "days_in_month", "is_complete"],
    "customer_360": [
        *DIM_CUSTOMER,
        "n_active_accounts",
        "deposit_balance",
        "loan_balance",
        "contribution_last_month",
        "contribution_12m",
        "web_sessions_30d",
        "calls_90d",
        "complaints_90d",
        "value_tier",
        "value_class",
        "rfm_segment",
        "industry_code",
        "occupation",
        "annual_income_band",
        "worst_loan_classification",
        "is_non_performing",
        "total_exposure",
        "churn_probability",
        "churn_risk_band",
        "churn_top_reason",
        "clv",
    ],
    "fct_customer_value_monthly": [
        "month_start",
        "customer_key",
        "contribution_12m",
        "economic_profit_12m",
        "value_percentile",
        "loyalty_score",
        "value_tier",
        "value_class",
        "pareto_rank",
        "cumulative_contribution_share",
        "is_complete_month",
    ],
    "fct_customer_tier_migration_monthly": [
        "month_start",
        "from_tier",
        "to_tier",
        "customers",
        "contribution_12m_before",
        "contribution_12m_after",
    ],
    "fct_customer_rfm_monthly": [
        "month_start",
        "customer_key",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_cell",
        "rfm_segment",
    ],
    "dim_prospect": ["prospect_id", "first_seen", "last_seen", "seen_by"],
    "fct_customer_events": [
        "event_id",
        "customer_key",
        "account_id",
        "event_date",
        "event_type",
        "severity",
        "measured_value",
        "baseline_value",
        "detected_in_run",
    ],
    "fct_leads": [
        "lead_id",
        "customer_key",
        "rm_id",
        "created_date",
        "due_date",
        "priority",
        "reason",
        "status",
        "suppressed_reason",
        "outcome_date",
        "outcome",
    ],
    "bridge_customer_relationship_manager": ["customer_key", "rm_id", "valid_from", "valid_to", "credit_share"],
    "fct_rm_departure_risk": [
        "rm_id",
        "departure_date",
        "has_left",
        "n_customers",
        "contribution_at_risk",
        "aum_at_reference",
        "aum_latest",
        "n_still_with_rm",
        "n_reassigned",
        "n_unassigned",
        "n_closed",
    ],
    "fct_rm_scorecard_monthly": [
        "month_start",
        "rm_id",
        "n_customers",
        "aum",
        "loans",
        "contribution",
        "contribution_growth",
        "n_new_customers",
        "n_lost_customers",
        "leads_assigned",
        "leads_contacted",
        "leads_converted",
        "conversion_rate",
        "avg_days_to_contact",
        "rank_in_branch",
        "rank_in_region",
    ],
    "fct_churn_scores": [
        "customer_key",
        "score_date",
        "churn_probability",
        "risk_band",
        *(f"reason_{k}{part}" for k in (1, 2, 3) for part in ("", "_feature", "_contribution")),
        "model_version",
    ],
    "fct_customer_lifetime_value": [
        "customer_key",
        "score_date",
        "value_tier",
        "expected_contribution_12m",
        "expected_contribution_36m",
        "clv",
        "retention_probability",
        "model_version",
    ],
    "fct_campaign_propensity": ["customer_key", "score_date", "propensity", "propensity_rank", "model_version"],
    "fct_campaign_response": [
        "campaign_id",
        "segment",
        "contacted",
        "responded",
        "response_rate",
        "converted",
        "conversion_rate",
        "contribution_3m_converted",
        "contribution_3m_matched",
        "contribution_3m_uplift",
    ],
}
MONEY_COLUMNS = {
    "fct_campaign_response": ["contribution_3m_converted", "contribution_3m_matched", "contribution_3m_uplift"],
    "fct_transactions": ["amount"],
    "fct_account_balance_daily": ["ledger_balance"],
    "fct_loan_daily": ["outstanding_principal"],
    "fct_account_profitability_monthly": ["avg_balance", *PROFITABILITY],
    "fct_customer_profitability_monthly": PROFITABILITY,
    "fct_bank_profitability_monthly": PROFITABILITY,
    "fct_loan_book_monthly": ["outstanding_principal", "required_provision", "write_off", "credit_cost"],
    "fct_unallocated_cost_monthly": ["total_cost", "allocated_cost", "unattributed_cost", "unallocated_cost"],
    "customer_360": [
        "deposit_balance",
        "loan_balance",
        "contribution_last_month",
        "contribution_12m",
        "total_exposure",
    ],
    "dim_household": ["deposit_balance", "loan_balance", "contribution_12m"],
    "fct_customer_value_monthly": ["contribution_12m", "economic_profit_12m"],
    "fct_customer_tier_migration_monthly": ["contribution_12m_before", "contribution_12m_after"],
    "fct_customer_rfm_monthly": ["monetary"],
    "fct_customer_events": ["measured_value", "baseline_value"],
    "fct_rm_departure_risk": ["contribution_at_risk", "aum_at_reference", "aum_latest"],
    "fct_rm_scorecard_monthly": ["aum", "loans", "contribution", "contribution_last_year", "contribution_growth"],
}
FLOATING_POINT_TYPES = ("double", "float", "real")


def dbt_invoke(args: list[str], tmp: Path) -> Any:
    """Run a dbt command in-process on the project, with target and logs in `tmp`."""
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ]
    )


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("dbt_parse")
    outcome = dbt_invoke(["parse", "--no-partial-parse"], tmp)
    assert outcome.success, f"dbt parse failed: {outcome.exception}"
    manifest: dict[str, Any] = json.loads((tmp / "target" / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def declared_marts_of(folder: Path) -> dict[str, dict[str, Any]]:
    """Mart name → its model entry in the yml files under `folder`."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models", []):
            models[model["name"]] = model
    return models


@pytest.fixture(scope="module")
def declared_marts() -> dict[str, dict[str, Any]]:
    """Mart name → its model entry in the yml files under models/marts."""
    return declared_marts_of(MARTS_DIR)


def mart_nodes(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def test_the_marts_folder_holds_exactly_the_public_marts(
    manifest: dict[str, Any], declared_marts: dict[str, dict[str, Any]]
) -> None:
    # given the public interface
    expected = set(REQUIRED_COLUMNS)
    # then the project declares and builds those marts, and no undocumented public table
    assert set(declared_marts) == expected
    assert set(mart_nodes(manifest)) == expected


@pytest.mark.parametrize("mart", sorted(REQUIRED_COLUMNS))
def test_mart_has_an_enforced_contract_in_schema_marts(manifest: dict[str, Any], mart: str) -> None:
    node = mart_nodes(manifest)[mart]
    config = node["config"]
    assert node["schema"] == "marts"
    assert config["materialized"] in ("table", "incremental")  # the facts are incremental
    assert config["contract"]["enforced"] is True
    assert config["persist_docs"] == {"relation": True, "columns": True}
    assert node["description"].strip(), f"{mart} has no description"


@pytest.mark.parametrize("mart", sorted(REQUIRED_COLUMNS))
def test_mart_declares_every_promised_column_with_type_and_description(
    manifest: dict[str, Any], declared_marts: dict[str, dict[str, Any]], mart: str
) -> None:
    # given the columns declared in the yml and those dbt parsed
    declared = {column["name"]: column for column in declared_marts[mart].get("columns", [])}
    parsed = mart_nodes(manifest)[mart]["columns"]
    # then every promised column is there, typed and documented
    missing = [c for c in REQUIRED_COLUMNS[mart] if c not in declared]
    assert not missing, f"{mart} misses required columns {missing}"
    for name, column in declared.items():
        assert column.get("data_type"), f"{mart}.{name} has no data_type"
        assert str(column.get("description", "")).strip(), f"{mart}.{name} has no description"
        assert not str(column["data_type"]).lower().startswith(FLOATING_POINT_TYPES), f"{mart}.{name}"
        assert parsed[name]["data_type"] == column["data_type"]


@pytest.mark.parametrize("mart", sorted(MONEY_COLUMNS))
def test_money_is_decimal(declared_marts: dict[str, dict[str, Any]], mart: str) -> None:
    types = {column["name"]: str(column["data_type"]).lower() for column in declared_marts[mart]["columns"]}
    for name in MONEY_COLUMNS[mart]:
        assert types[name].startswith("decimal("), f"{mart}.{name} is {types[name]}"


@pytest.mark.parametrize("mart", sorted(REQUIRED_COLUMNS))
def test_mart_grain_is_tested_for_uniqueness(manifest: dict[str, Any], mart: str) -> None:
    node_id = mart_nodes(manifest)[mart]["unique_id"]
    uniqueness_tests = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node_id in node["depends_on"]["nodes"]
        and (node.get("test_metadata") or {}).get("name") in ("unique", "unique_combination_of_columns")
        and node.get("attached_node") == node_id
    ]
    assert uniqueness_tests, f"{mart} has no unique / unique_combination_of_columns test on its grain"


@pytest.mark.parametrize("mart", sorted(REQUIRED_COLUMNS))
def test_mart_reads_only_the_intermediate_layer_and_seeds(manifest: dict[str, Any], mart: str) -> None:
    # given what dbt parsed the mart to depend on
    node = mart_nodes(manifest)[mart]
    upstream = [manifest["nodes"][unique_id] for unique_id in node["depends_on"]["nodes"]]
    # then every model it reads is an intermediate model (the layer rule, dbt_project/README.md)
    wrong_layer = [
        other["name"]
        for other in upstream
        if other["resource_type"] != "seed"
        and not (other["resource_type"] == "model" and other["fqn"][1] == "intermediate")
    ]
    assert not wrong_layer, f"{mart} reads {wrong_layer}, not the intermediate layer"


def test_every_setting_a_python_model_reads_reaches_it(manifest: dict[str, Any]) -> None:
    """dbt hands a Python model only the settings it finds by reading the model's source; one it
    misses reads as None at run time (splink once silently never ran in the build that way)."""
    python_models = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["language"] == "python"
    ]
    assert python_models
    for node in python_models:
        source = (DBT_PROJECT / node["original_file_path"]).read_text(encoding="utf-8")
        read = set(re.findall(r"""dbt\.config\.get\(\s*["']([a-z_]+)["']""", source))
        assert read <= set(node["config"].get("config_keys_used") or []), node["name"]
        assert all(node["config"].get(key) is not None for key in read), node["name"]


@pytest.mark.slow
def test_builds_from_a_lake_where_no_system_has_delivered_yet(tmp_path: Path) -> None:
    """The warehouse must build from what it has: here only the lake's zero-row schema files."""
    from extract.contract import load_agreement
    from extract.lake import Lake

    # given a lake with nothing but the schema files: the feeds', and the check history's and the
    # model runs', which the build step writes before dbt builds (bankdw.pipeline.build_step;
    # audit_check_results and audit_model_runs take their columns from them)
    settings = load_settings(data_dir=tmp_path / "data")
    Lake(settings.lake_dir).ensure_schemas(load_agreement())
    from expectations.history import ensure_checks_schema
    from models.runs import ensure_model_runs_schema

    ensure_checks_schema(settings.lake_dir)
    ensure_model_runs_schema(settings.lake_dir)
    from models.identity.resolve import resolve_lake  # and the identity of no record, as resolved and published

    resolve_lake(settings.lake_dir, settings.identity_dir, settings.identity_dir, settings.phone_region)
    from bankdw.scores import write_schema_files  # and an archive of scores of no night

    write_schema_files(settings.scores_dir)
    warehouse = tmp_path / "warehouse" / "bank.duckdb"
    # when dbt builds, with every test and unit test, with the settings' vars
    outcome = dbt_on(settings, warehouse, "build")
    # then everything passes and every mart exists, empty
    assert outcome.returncode == 0, outcome.stdout[-5000:]
    con = duckdb.connect(str(warehouse))
    try:
        tables = {
            row[0]
            for row in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        not_null = set(
            con.sql(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'marts' and is_nullable = 'NO'"
            ).fetchall()
        )
        # and a null in such a column is refused as the table is written
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            con.execute("insert into marts.dim_branch (branch_id) values (null)")
    finally:
        con.close()
    assert tables == set(REQUIRED_COLUMNS)
    # every column a mart's contract declares not null is NOT NULL in the warehouse, and no other
    declared = {
        (mart, column["name"])
        for mart, model in declared_marts_of(MARTS_DIR).items()
        for column in model.get("columns", [])
        if {"type": "not_null"} in column.get("constraints", [])
    }
    assert len(declared) > 100 and not_null == declared


def test_a_dbt_command_of_its_own_is_dbt_to_its_user(tmp_path: Path) -> None:
    """The dbt commands outside a night's session start through `bankdw.dbt_command` (for its
    collector thresholds): to whoever reads dbt's output and log it is still `dbt`, and its exit
    code is dbt's."""
    import subprocess

    from bankdw.dbt_command import command_line

    # when a dbt command runs through it, on the lint target (an in-memory database)
    project = ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--target", "lint"]
    logs = ["--log-path", str(tmp_path / "logs")]
    done = subprocess.run([*command_line(), "debug", *project, *logs], capture_output=True, text=True, check=False)
    # then dbt ran it and its log names it as dbt's own command line would
    assert done.returncode == 0, done.stdout[-3000:]
    log = (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Command `dbt debug` succeeded" in log and "'invocation_command': 'dbt debug" in log
    # and a command dbt does not know fails as dbt fails it, naming the program dbt
    done = subprocess.run([*command_line(), "no-such-command"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Usage: dbt" in done.stderr, done.stderr


ORDERED_AGGREGATES = """
with rows_of_groups as (
    select * from (values
        (1, 'b', 2, 'x', date '2026-01-02', cast(null as date)),
        (1, 'a', 2, 'y', date '2026-01-01', date '2026-02-01'),
        (1, 'c', 1, null, null, null),
        (1, 'a', 2, 'u', date '2026-01-01', null),
        (2, 'b', 1, 'z', date '2026-01-03', null),
        (2, 'a', 3, 'w', date '2026-01-01', date '2026-01-05'),
        (2, 'a', 3, 'v', date '2026-01-01', null),
        (3, 'a', 1, null, null, null)
    ) as t (g, k, n, v, opened, closed)
)
select
    g,
    {{ ordered_string_agg('v', "'|'", 'k') }} as by_key,
    string_agg(v, '|' order by k, v) as by_key_expected,
    {{ ordered_string_agg('v', "'|'", 'v') }} as by_value,
    string_agg(v, '|' order by v) as by_value_expected,
    {{ ordered_string_agg('v', "'|'", ['-n', 'k'], where='n > 1') }} as by_keys_filtered,
    string_agg(v, '|' order by n desc, k, v) filter (where n > 1) as by_keys_filtered_expected,
    {{ ordered_string_agg('k', "'|'", 'k', where='n > 5') }} as none_passes,
    string_agg(k, '|' order by k) filter (where n > 5) as none_passes_expected,
    {{ ordered_list_digest(['k', 'opened', 'closed']) }} as rows_digest,
    hash(list(struct_pack(k, opened, closed) order by k, opened, closed)) as rows_digest_expected,
    {{ ordered_list_digest(['v']) }} as values_digest,
    hash(list(v order by v)) as values_digest_expected
from rows_of_groups
group by g
order by g
"""


def test_ordered_aggregates_give_what_duckdbs_order_by_gives(tmp_path: Path) -> None:
    """ordered_string_agg and ordered_list_digest sort each group's list once it is collected
    (macros/engines_aggregates.sql: an ordered aggregate is several times slower at a million
    groups; bench/bench_ordered_aggregates.py renders them the same way): the
    same strings and digests as DuckDB's `string_agg(... order by ...)` and `list(... order by
    ...)`, with null values and fields, keys that tie, a descending key, and a filter that no row
    of a group passes."""
    compiled = compile_inline(ORDERED_AGGREGATES, tmp_path)
    assert "order by k" not in compiled.split("as by_key,")[0]  # the macro's own form, not DuckDB's ordered one
    relation = duckdb.sql(compiled)
    rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    pairs = [column for column in relation.columns if f"{column}_expected" in relation.columns]
    assert len(pairs) == 6
    for row in rows:
        for column in pairs:
            assert row[column] == row[f"{column}_expected"], (row["g"], column, row)
    assert [row["by_key"] for row in rows] == ["u|y|x", "v|w|z", None]
    assert [row["by_keys_filtered"] for row in rows] == ["u|y|x", "v|w", None]
