"""The one typed settings object of the project.

Values come, highest precedence first, from keyword arguments, environment variables
(`BANKDW_*`), an optional TOML file (`bankdw.toml` in the working directory, or the
file named by `BANKDW_CONFIG`) and the defaults below. `docs/configuration.md` lists
every setting; `bankdw config` prints the values in force.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import textwrap
from collections.abc import Mapping
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bankdw.rm_teams import CreditRule, RmTeamShares, credit_rules
from expectations.batches import DEFAULT_SLICE_ROWS
from expectations.config import load_gates_config
from extract.convert import DEFAULT_TYPE_DRIFT_SHARE
from extract.load import DEFAULT_BATCH_BYTES
from models.identity.probabilistic import IdentityConfig

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The repository root: `dbt_project/`, `dags/` and `expectations/` live here."""
GATES_VAR = "gates"
"""The dbt var of the gates' severities and tolerances (rendered from `gates_config`); tests only."""
TEST_SCOPE_VAR = "warehouse_test_scope"
"""The dbt var of what a night's warehouse tests read (setting `warehouse_test_scope`); tests only."""
SPARK_JAVA_OPTIONS_VAR = "spark_driver_java_options"
"""The dbt var of the JVM options of Spark's driver (profiles.yml): how fast a build runs, not what it builds."""
SPARK_CATALOG_VAR = "spark_catalog"
"""The dbt var of where Spark keeps its tables' names (profiles.yml): where, not what it builds."""
DUCKDB_THREADS_VAR = "duckdb_threads"
"""The dbt var of the threads DuckDB runs a query with (on-run-start): how fast a build runs, not what it builds."""
DUCKDB_MEMORY_LIMIT_VAR = "duckdb_memory_limit"
"""The dbt var of DuckDB's memory limit (on-run-start): past it DuckDB spills to duckdb_temp_dir. How
much memory a build takes, not what it builds: a night may lower it without a full refresh."""
PATH_VARS = (
    "lake_dir",
    "identity_dir",
    "scores_dir",
    "churn_model_dir",
    "clv_model_dir",
    "response_model_dir",
    "duckdb_temp_dir",
    "do_not_contact_file",
)
"""The dbt vars that say where the data dir lies (the sources' paths), not what is built."""


DbtVar = str | int | float | list[int] | list[float] | Mapping[str, object] | list[CreditRule]
"""What a dbt var holds: settings reach dbt as JSON (`--vars`) or YAML (the vars block)."""


def _config_file() -> Path:
    return Path(os.environ.get("BANKDW_CONFIG", "bankdw.toml"))


class Settings(BaseSettings):
    """Settings of a bankdw installation. Paths may be relative to the working directory."""

    model_config = SettingsConfigDict(env_prefix="BANKDW_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("data"),
        description="Root of the data area: landing/, lake/, warehouse/, runs/ live under it.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The bank's time zone: business dates and the nightly schedule are in it.",
    )
    phone_region: str = Field(
        default="CN",
        description="Home country (ISO 3166 alpha-2) for phone numbers typed without a country code.",
    )
    reporting_currency: str = Field(
        default="CNY",
        description="ISO 4217 currency of every amount in the marts. The feeds carry no FX rates: the feed "
        "gate refuses an account, balance or posting in another currency (rule reporting_currency) instead of "
        "mixing it in.",
    )
    identity_match_threshold: float = Field(
        default=0.99,
        gt=0.0,
        lt=1.0,
        description="splink match probability at or above which a record without national id joins a customer.",
    )
    identity_probabilistic: bool = Field(
        default=True, description="Run the probabilistic (splink) step of identity resolution after the rules."
    )
    manifest_wait_minutes: int = Field(
        default=240,
        ge=0,
        description="How long the nightly DAG waits for a system's manifest before building without it.",
    )
    manifest_poke_seconds: int = Field(default=300, ge=1, description="How often the nightly DAG looks for a manifest.")
    simulate_customers: int = Field(
        default=3000, ge=10, description="Customers in the synthetic bank `make run` generates."
    )
    simulate_days: int = Field(default=90, ge=1, description="Business days of history in the synthetic bank.")
    simulate_seed: int = Field(default=42, description="Seed of the synthetic bank.")
    dbt_threads: int = Field(default=2, ge=1, description="Threads dbt builds with.")
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="The engine dbt builds the warehouse with, and identity resolution runs splink on: duckdb (the "
        "embedded default), or spark (the same dbt project on Apache Spark, docs/spark.md: the nightly run builds, "
        "tests and publishes there the models tagged engine_portable, and says which it left to DuckDB).",
    )
    spark_driver_java_options: str = Field(
        default="",
        description="JVM options added to Spark's driver when dbt builds on Spark in session mode (profiles.yml, "
        "target `spark`), e.g. `-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC` for "
        "small builds such as the test suite's (less JIT compilation, one collector thread: about a quarter less "
        "CPU there, docs/spark.md). Empty for a bank's data.",
    )
    spark_catalog: Literal["hive", "in-memory"] = Field(
        default="hive",
        description="Where Spark keeps the names of the tables it builds in session mode (profiles.yml, target "
        "`spark`): hive, an embedded Derby metastore in BANKDW_SPARK_DIR that the next process finds (a night "
        "goes on from the last); or in-memory, for one process only (a build that writes out what it built in "
        "the same process, as the test suite's does: no metastore to start or ask, 17 per cent less CPU for "
        "the test suite's build, docs/spark.md).",
    )
    dbt_parse_cache: Path | None = Field(
        default=None,
        description="A folder where dbt's parse of the project is kept for every data dir that runs with the "
        "same settings (a test suite, CI, several banks on one host): a data dir whose dbt has parsed nothing "
        "yet, or last parsed other settings, starts from it instead of parsing the whole project (about 10 s of "
        "CPU a command). Unset: each data dir keeps its own parse in dbt/target.",
    )
    duckdb_memory_limit: str = Field(
        default="3GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory each DuckDB connection of a run (the dbt build's included) may hold before it "
        "spills to duckdb_temp_dir instead of growing, e.g. 3GB (the default: a run's peak, DuckDB and the "
        "rest of its processes, stays under 4 GB at 100,000 customers; more is faster only where DuckDB spills, "
        "as at 1,000,000 customers, whose night 4GB makes 14 per cent shorter).",
    )
    duckdb_threads: int = Field(
        default=0,
        ge=0,
        description="Threads each DuckDB connection of a run (the dbt build's included) runs a query with; 0: "
        "DuckDB's own default, every core. Fewer leave cores to other work on a shared host; on small data, "
        "where a query's threads mostly wait for each other, 1 costs less CPU in about the same time (the "
        "test suite, docs/performance.md).",
    )
    duckdb_temp_dir: Path | None = Field(
        default=None,
        description="Where DuckDB spills what does not fit in duckdb_memory_limit (default: <data_dir>/tmp/duckdb).",
    )
    type_drift_share: float = Field(
        default=DEFAULT_TYPE_DRIFT_SHARE,
        gt=0,
        le=1,
        description="Share of a typed column's values that may fail to read before the file is refused "
        "as a schema change (below it, the bad rows are quarantined).",
    )
    stage_batch_bytes: int = Field(
        default=DEFAULT_BATCH_BYTES,
        ge=0,
        description="Most landed bytes of one feed file that the stage step converts together: the "
        "deliveries of a run are batched up to it (many small deliveries in one conversion); a larger "
        "delivery is converted on its own and its rows written as they are fetched, a row group at a time; 0 "
        "converts and writes every delivery so. A batch's converted rows are held in memory outside "
        "duckdb_memory_limit: a larger batch, a higher peak.",
    )
    delivery_gap_days: int = Field(
        default=31,
        ge=1,
        description="Most days a delivery may be dated after the last date its system loaded (or delivered "
        "earlier in the same run); a later one (a folder dated 2062, say) is refused as implausible.",
    )
    data_group: str | None = Field(
        default=None,
        description="A group that may read the lake, the reports and the warehouse (files 0640, folders 2750); "
        "unset: the owner alone (0600, 0700), whatever the umask of the caller.",
    )
    gates_config: Path = Field(
        default=PROJECT_ROOT / "expectations" / "gates.toml",
        description="Severity (blocking or warning), tolerances and thresholds of every rule, followed by the "
        "feed gate and by the warehouse tests of the same fact (see docs/quality.md).",
    )
    gate_slice_rows: int = Field(
        default=DEFAULT_SLICE_ROWS,
        ge=0,
        description="Most rows of one feed file that the feed gate validates with GX at once: a larger file is "
        "validated a slice at a time and the results merged into the same report (its uniqueness checks run in "
        "DuckDB over the whole file). GX needs about 700 bytes a row at its peak; 0 validates every file whole.",
    )
    keep_versions: int = Field(
        default=3,
        ge=1,
        description="Published warehouse versions kept for `bankdw rollback` (the current one included).",
    )
    # The served warehouse (`bankdw serve`, docs/serving.md): PostgreSQL on 127.0.0.1.
    serve_port: int = Field(
        default=5433,
        ge=1,
        le=65535,
        description="TCP port on 127.0.0.1 of the served warehouse (`bankdw serve`).",
    )
    serve_analyst_password: SecretStr | None = Field(
        default=None,
        description="Password of the served warehouse's login `analyst`; unset: generated on first use into "
        "`<data>/serve/credentials.toml`.",
    )
    serve_steward_password: SecretStr | None = Field(
        default=None,
        description="Password of the served warehouse's login `steward`; unset: generated like the analyst's.",
    )
    serve_rm_passwords: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Passwords of the relationship managers\' logins, by RM id (`{"RM0001": "..."}` in '
        "BANKDW_SERVE_RM_PASSWORDS); an RM not named gets one generated like the analyst's.",
    )
    # The dashboards (`make dashboards`, docs/dashboards.md): Streamlit over the served warehouse.
    dashboards_port: int = Field(
        default=8501,
        ge=1,
        le=65535,
        description="TCP port on 127.0.0.1 of the dashboards (`make dashboards`).",
    )
    dashboards_login: str = Field(
        default="analyst",
        pattern=r"^(analyst|steward|rm_[A-Za-z0-9_]+)$",
        description="The served warehouse's login the dashboards read as: `analyst` (PII masked), `steward`, or "
        "`rm_<rm_id>` (that RM's customers and leads only); its password as `bankdw serve` has it.",
    )
    # The dbt docs of each published version (`bankdw docs`, docs/serving.md).
    publish_docs: bool = Field(
        default=True,
        description="Generate the dbt docs (catalog, metrics, exposures) into `<data>/docs/` by every publish; "
        "off: publish without them (about 10 to 30 s less per publish).",
    )
    # The warehouse gate (docs/quality.md): what the tests of an incremental night read.
    warehouse_test_scope: Literal["night", "whole"] = Field(
        default="night",
        description="What the warehouse tests of an incremental night read: `night`, the rows of the large "
        "incremental tables that the night wrote (their load watermark newer than the published build's; keys "
        "checked against the whole table), every other test whole; `whole`, every test over whole tables. A full "
        "refresh always tests whole tables, and so does a `dbt test` by hand (its vars block says `whole`).",
    )
    # What the marts count and keep: dbt reads these with var() (see `dbt_vars`).
    # customer_360's look-back windows, in days ending on its as-of date (the latest business date
    # of the core balances). Its column names say the defaults (`_30d`, `_90d`).
    postings_short_window_days: int = Field(
        default=30,
        ge=1,
        description="Window of customer_360's customer-initiated postings by channel "
        "(branch_/atm_/digital_/pos_txns_30d), in days.",
    )
    postings_long_window_days: int = Field(
        default=90,
        ge=1,
        description="Window of customer_360's branch_/atm_/digital_/pos_txns_90d, in days.",
    )
    web_sessions_window_days: int = Field(
        default=30,
        ge=1,
        description="Window of customer_360's web_sessions_30d, in days.",
    )
    web_sessions_long_window_days: int = Field(
        default=90,
        ge=1,
        description="Window of customer_360's web_sessions_90d, in days.",
    )
    calls_window_days: int = Field(
        default=90,
        ge=1,
        description="Window of customer_360's calls_90d and complaints_90d, in days.",
    )
    calls_short_window_days: int = Field(
        default=30,
        ge=1,
        description="Window of customer_360's calls_30d, in days.",
    )
    open_complaints_window_days: int = Field(
        default=90,
        ge=1,
        description="customer_360.open_complaints: complaint calls not RESOLVED within this many days.",
    )
    csat_window_days: int = Field(
        default=90,
        ge=1,
        description="Window of customer_360's avg_csat_90d and n_csat_responses_90d (post-call survey scores), "
        "in days.",
    )
    contribution_window_months: int = Field(
        default=12,
        ge=1,
        description="Complete months (before the as-of month) summed into customer_360's contribution.",
    )
    balance_snapshot_window_days: int = Field(
        default=92,
        ge=1,
        description="Days of daily balance snapshots kept in marts.fct_account_balance_daily_recent, ending on the "
        "latest business date (month ends are kept for ever in fct_account_balance_monthly).",
    )
    household_max_members: int = Field(
        default=6,
        ge=2,
        description="A normalised address or phone shared by more customers than this is a building or an office, "
        "not a household.",
    )
    # The value model (docs/customer_value.md): the loyalty x value pyramid, value classes and
    # RFM of fct_customer_value_monthly and fct_customer_rfm_monthly, month by month.
    value_window_months: int = Field(
        default=12,
        ge=1,
        description="Months (the month itself and the ones before it) summed into the value marts' "
        "contribution_12m and economic_profit_12m.",
    )
    value_measure: Literal["contribution", "economic_profit"] = Field(
        default="contribution",
        description="What ranks customers by value (value_percentile, the tiers' value axis): trailing "
        "contribution, or economic profit (contribution less the capital charge).",
    )
    value_high_percentile: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="A customer whose value_percentile is at least this is high value (tiers A and B): "
        "by default the top quarter of the month's customers.",
    )
    loyalty_high_score: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="A customer whose loyalty_score (0 to 1) is at least this is loyal (tiers A and C).",
    )
    loyalty_full_tenure_months: int = Field(
        default=60,
        ge=1,
        description="Tenure at which the loyalty score's tenure part is full (shorter tenure counts pro rata).",
    )
    loyalty_full_product_families: int = Field(
        default=3,
        ge=1,
        description="Product families held at which the loyalty score's breadth part is full.",
    )
    loyalty_full_monthly_activity: int = Field(
        default=15,
        ge=1,
        description="Customer-initiated postings and web sessions in a month at which the loyalty score's "
        "frequency part is full.",
    )
    inactive_days: int = Field(
        default=90,
        ge=1,
        description="A customer who holds accounts but initiated no posting or web session for this many "
        "days (at month end) is INACTIVE; judged only once the data covers that many days.",
    )
    lapsed_months: int = Field(
        default=12,
        ge=1,
        description="A customer whose last account closed within this many months is LAPSED; after that "
        "the customer leaves the value marts.",
    )
    mvc_contribution_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Most valuable customers (MVC): the fewest top customers whose contribution_12m makes "
        "this share of the month's positive contribution.",
    )
    mgc_max_value_percentile: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Most growable customers (MGC) have a value_percentile below this (low current value) "
        "and a sign of money held elsewhere.",
    )
    mgc_min_annual_income: int = Field(
        default=300_000,
        ge=0,
        description="MGC signal: annual income (customers feed) at least this, in the reporting currency.",
    )
    mgc_min_outflow_elsewhere: int = Field(
        default=30_000,
        ge=0,
        description="MGC signal: customer-initiated transfers to other banks over the last "
        "mgc_outflow_window_months at least this, in the reporting currency.",
    )
    mgc_outflow_window_months: int = Field(
        default=3,
        ge=1,
        description="Months (the month itself and the ones before it) of transfers to other banks that "
        "mgc_min_outflow_elsewhere is compared with.",
    )
    rfm_window_months: int = Field(
        default=12,
        ge=1,
        description="Months (the month itself and the ones before it) of RFM frequency (customer-initiated "
        "postings and web sessions) and monetary (contribution).",
    )
    income_band_edges: list[int] = Field(
        default=[50_000, 100_000, 200_000, 500_000, 1_000_000],
        min_length=1,
        description="Edges of customer_360's annual_income_band, ascending, in the reporting currency: "
        "bands are below the first edge, between two edges, and from the last edge up.",
    )

    # The relationship manager's day (docs/crm.md): customer events and their rules.
    event_lookback_days: int = Field(
        default=0,
        ge=0,
        description="int_customer_events, fct_customer_events and int_leads: a night recomputes the events (and "
        "resumes the leads) dated from the earliest day a fact its loads delivered happened on (a late web "
        "event's, a reversed posting's) less this many days: a margin; every rule judges a day from facts dated "
        "on or before it.",
    )
    large_flow_baseline_days: int = Field(
        default=90,
        ge=1,
        description="LARGE_DEPOSIT / LARGE_WITHDRAWAL: days before the day whose average daily flow (in that "
        "direction, customer-initiated) is the customer's baseline.",
    )
    large_flow_multiple: float = Field(
        default=5.0,
        gt=1,
        description="LARGE_DEPOSIT / LARGE_WITHDRAWAL: a day's flow at least this many times the customer's "
        "baseline is large.",
    )
    large_flow_min_amount: int = Field(
        default=50_000,
        ge=0,
        description="LARGE_DEPOSIT / LARGE_WITHDRAWAL: and at least this much, in the reporting currency.",
    )
    large_flow_min_history_days: int = Field(
        default=30,
        ge=1,
        description="LARGE_DEPOSIT / LARGE_WITHDRAWAL: judged only once the data covers this many days before "
        "the day (a baseline needs history).",
    )
    balance_drop_window_days: int = Field(
        default=30,
        ge=1,
        description="BALANCE_DROP: the customer's deposits are compared with theirs this many days before.",
    )
    balance_drop_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="BALANCE_DROP: deposits fell by at least this share of what they were.",
    )
    balance_drop_min_baseline: int = Field(
        default=10_000,
        ge=0,
        description="BALANCE_DROP: judged only when the deposits before were at least this, in the reporting currency.",
    )
    salary_missed_days: int = Field(
        default=35,
        ge=1,
        description="SALARY_STOPPED: days after a salary or pension credit with no next one.",
    )
    salary_min_credits: int = Field(
        default=1,
        ge=1,
        description="SALARY_STOPPED: salary credits the customer must have had here, up to the last one.",
    )
    failed_logins_threshold: int = Field(
        default=3,
        ge=1,
        description="FAILED_LOGINS: LOGIN_FAILED events of a customer's online-banking users on one day.",
    )
    td_maturity_notice_days: int = Field(
        default=14,
        ge=0,
        description="TD_MATURING: a time deposit is an event this many days before its maturity_date.",
    )
    churn_score_max_age_days: int = Field(
        default=35,
        ge=1,
        description="How old a customer's churn score may be and still count: CHURN_RISK_UP compares a score "
        "with the previous one of the same model version when that one is at most this many days older, and a "
        "lead's priority takes the risk band of the customer's latest score at most this old.",
    )

    # The leads and their contact rules (docs/crm.md).
    lead_min_severity: int = Field(
        default=2,
        ge=1,
        le=3,
        description="Customer events of at least this severity (1 to 3) are candidates for a lead.",
    )
    lead_customer_gap_days: int = Field(
        default=30,
        ge=1,
        description="Contact rule: at most one lead per customer in this many days.",
    )
    lead_rm_max_open: int = Field(
        default=20,
        ge=1,
        description="Contact rule: at most this many open leads per relationship manager; the candidate of "
        "lowest priority waits (the branch queue of customers without an RM has no limit).",
    )
    lead_due_days: int = Field(
        default=14,
        ge=1,
        description="A lead is due this many days after it is created (EXPIRED when nothing happened by "
        "then); a candidate waiting for its RM is dropped after as long.",
    )
    top_value_visit_days: int = Field(
        default=30,
        ge=1,
        description="Contact rule: a top-value customer (value tier A) is visited at least every this many "
        "days: a lead is raised when the last contact is older.",
    )
    do_not_contact_file: Path | None = Field(
        default=None,
        description="Contact rule: the bank's do-not-contact register, a CSV with a customer_id column (the "
        "core banking customer ids of the customers feed): a lead of a customer on it is SUPPRESSED "
        "(DO_NOT_CONTACT). The feeds carry no such flag. Default: <data_dir>/reference/do_not_contact.csv when "
        "it exists, else no register; a file named here must exist.",
    )
    # The RM scorecards' credit (docs/crm.md, bankdw/rm_teams.py).
    rm_team_credit_shares: list[RmTeamShares] = Field(
        default=[],
        description="RM teams that share their customers' credit in the scorecards: agreements of team_id, "
        "valid_from (optional) and shares (rm_id = share, adding up to exactly 1, at most 4 decimals; none: the "
        "sharing ends). A customer whose RM is a member of an agreement in force is credited to every member "
        "at their share; any other to their RM alone. A team's next agreement replaces it from its own date.",
    )

    # The churn early-warning model (docs/models.md): labels, scoring dates, risk bands, versions.
    churn_horizon_days: int = Field(
        default=90,
        ge=1,
        description="A customer scored on D churns if they leave within this many days after D (the label's horizon).",
    )
    churn_balance_threshold: int = Field(
        default=1000,
        ge=0,
        description="Churn by going dormant: deposits below this (reporting currency) on every day of the last "
        "churn_stay_days of the horizon.",
    )
    churn_activity_threshold: int = Field(
        default=0,
        ge=0,
        description="Churn by going dormant: at most this many customer-initiated postings and online sessions "
        "in the last churn_stay_days of the horizon.",
    )
    churn_stay_days: int = Field(
        default=30,
        ge=1,
        description="Days at the end of the horizon that balances and activity must stay below the thresholds.",
    )
    churn_score_interval_days: int = Field(
        default=7,
        ge=1,
        description="Days between the scoring dates a churn model is trained and evaluated on.",
    )
    churn_min_history_days: int = Field(
        default=30,
        ge=0,
        description="The first scoring date of training is this many days after the warehouse's first date "
        "(the features' windows need history).",
    )
    churn_risk_band_edges: list[float] = Field(
        default=[0.1, 0.3],
        min_length=2,
        max_length=2,
        description="Churn probabilities from which a customer's risk_band is MEDIUM, then HIGH (LOW below), "
        "kept with each churn model when it is trained: the night scores with the trained model's edges.",
    )
    churn_model_dir: Path | None = Field(
        default=None,
        description="Where trained churn models are kept, one folder per version (default: <data_dir>/models/churn).",
    )
    churn_model_version: str = Field(
        default="latest",
        description="The churn model version the nightly run scores with: a version's folder name, or latest "
        "(the newest trained).",
    )

    # The customer lifetime value model (docs/models.md): retention by value tier x margin.
    clv_discount_rate: float = Field(
        default=0.10,
        ge=0,
        lt=1,
        description="Annual rate at which clv discounts each future month's expected contribution.",
    )
    clv_horizon_months: int = Field(
        default=60,
        ge=1,
        description="Months of expected contribution summed (discounted) into clv.",
    )
    clv_margin_window_months: int = Field(
        default=6,
        ge=1,
        description="Complete months of a customer's own contribution the expected monthly margin averages.",
    )
    clv_margin_prior_months: float = Field(
        default=3.0,
        ge=0,
        description="Weight, in months, of the value tier's mean margin in a customer's expected margin "
        "(a customer with little history leans on their tier).",
    )
    clv_min_segment_customers: int = Field(
        default=30,
        ge=1,
        description="Fewest month-to-month transitions a value tier needs for its own retention rate; "
        "fewer: the pooled rate of all tiers.",
    )
    clv_model_dir: Path | None = Field(
        default=None,
        description="Where trained lifetime value models are kept, one folder per version "
        "(default: <data_dir>/models/clv).",
    )
    clv_model_version: str = Field(
        default="latest",
        description="The lifetime value model version the nightly run scores with: a version's folder name, "
        "or latest (the newest trained).",
    )

    # The campaign response model (docs/models.md): which customers the next campaign calls first.
    response_min_conversions: int = Field(
        default=20,
        ge=1,
        description="Fewest converted campaign contacts before the cut-off that `bankdw models train response` "
        "fits a model on.",
    )
    response_model_dir: Path | None = Field(
        default=None,
        description="Where trained campaign response models are kept, one folder per version "
        "(default: <data_dir>/models/response).",
    )
    response_model_version: str = Field(
        default="latest",
        description="The campaign response model version the nightly run scores with: a version's folder name, "
        "or latest (the newest trained).",
    )

    @field_validator("income_band_edges")
    @classmethod
    def _ascending_edges(cls, value: list[int]) -> list[int]:
        if any(later <= earlier for earlier, later in pairwise(value)):
            raise ValueError(f"income_band_edges must be strictly ascending, got {value}")
        return value

    @field_validator("churn_risk_band_edges")
    @classmethod
    def _band_edges(cls, value: list[float]) -> list[float]:
        if not 0 < value[0] < value[1] < 1:
            raise ValueError(f"churn_risk_band_edges must be two probabilities, ascending, got {value}")
        return value

    @field_validator("rm_team_credit_shares")
    @classmethod
    def _one_team_at_a_time(cls, value: list[RmTeamShares]) -> list[RmTeamShares]:
        credit_rules(value)  # raises on two agreements of a team from one date, or an RM in two teams at once
        return value

    @field_validator("do_not_contact_file")
    @classmethod
    def _register_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"do_not_contact_file names {value}, which is not a file")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
        return value

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r} (use an ISO 3166 code such as CN)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def root(self) -> Path:
        return self.data_dir.resolve()

    @property
    def landing_dir(self) -> Path:
        """Where source systems drop deliveries: `<system>/<YYYY-MM-DD>/...`."""
        return self.root / "landing"

    @property
    def lake_dir(self) -> Path:
        """Typed Parquet, `<system>/<file>/business_date=<date>/<source file>.parquet`."""
        return self.root / "lake"

    @property
    def identity_dir(self) -> Path:
        """Identity resolution's key registry and merge log, beside the lake: every run rebuilds
        the warehouse file, the keys must outlive it."""
        return self.lake_dir / "_identity"

    @property
    def scores_dir(self) -> Path:
        """The archive of every published night's model scores, beside the lake
        (`<model>/score_date=<D>/scores.parquet`): the score marts are built from it, so a full
        refresh keeps past nights' scores (bankdw/scores.py)."""
        return self.lake_dir / "_scores"

    @property
    def warehouse_path(self) -> Path:
        """The published DuckDB file that analysts and BI tools read."""
        return self.root / "warehouse" / "bank.duckdb"

    @property
    def build_dir(self) -> Path:
        """Where a nightly build writes its new warehouse before it is published."""
        return self.root / "warehouse" / "_build"

    @property
    def spark_dir(self) -> Path:
        """Where a build on Spark (setting engine) keeps its warehouse and its metastore, in the build area."""
        return self.build_dir / "spark"

    @property
    def dbt_target(self) -> str:
        """The target of dbt_project/profiles.yml that builds with the setting engine."""
        return {"duckdb": "dev", "spark": "spark"}[self.engine]

    @property
    def do_not_contact_path(self) -> Path:
        """The do-not-contact register the leads read: the setting's file, or the default one,
        which may not exist (no register)."""
        return (self.do_not_contact_file or self.root / "reference" / "do_not_contact.csv").resolve()

    @property
    def churn_models_dir(self) -> Path:
        """Trained churn models, one folder per version (never in git)."""
        return (self.churn_model_dir or self.root / "models" / "churn").resolve()

    @property
    def clv_models_dir(self) -> Path:
        """Trained lifetime value models, one folder per version (never in git)."""
        return (self.clv_model_dir or self.root / "models" / "clv").resolve()

    @property
    def response_models_dir(self) -> Path:
        """Trained campaign response models, one folder per version (never in git)."""
        return (self.response_model_dir or self.root / "models" / "response").resolve()

    @property
    def runs_dir(self) -> Path:
        """One JSON report per run; `bankdw status` reads the latest."""
        return self.root / "runs"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def duckdb_temp_directory(self) -> Path:
        """Where DuckDB spills, made here if missing: DuckDB makes only the path's last folder,
        when it first spills, and fails then if its parent is missing (a large bank's first
        spill, in the middle of a night)."""
        path = (self.duckdb_temp_dir or self.root / "tmp" / "duckdb").resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def duckdb_config(self) -> dict[str, str | bool | int | float | list[str]]:
        """The `config` of every DuckDB connection a run opens: its memory limit, where it spills,
        and where relative paths resolve from: the data dir, as for dbt, which runs there and names
        the lake relatively in the views of a build (bankdw.warehouse.dbt_args)."""
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.duckdb_memory_limit,
            "temp_directory": str(self.duckdb_temp_directory),
            "file_search_path": str(self.root),
        }
        if self.duckdb_threads:
            config["threads"] = self.duckdb_threads
        return config

    def identity_config(self) -> IdentityConfig:
        """The settings of identity resolution's probabilistic rule, as the resolve step passes them."""
        return IdentityConfig(
            match_threshold=self.identity_match_threshold,
            probabilistic=self.identity_probabilistic,
            duckdb_config=self.duckdb_config(),
        )

    def dbt_vars(self, paths_relative_to: Path | None = None) -> dict[str, DbtVar]:
        """Every setting the dbt project reads, by the name it reads it with `var()`.

        The pipeline passes this as `--vars` to every dbt command (bankdw.warehouse.dbt_args);
        the `vars:` block of dbt_project.yml holds it as rendered from the defaults, for a
        `dbt build` by hand (`write_dbt_project_vars`). Paths are absolute, or relative to
        `paths_relative_to` (dbt resolves relative paths from the folder it runs in).
        """

        def path(value: Path) -> str:
            return Path(os.path.relpath(value, paths_relative_to)).as_posix() if paths_relative_to else str(value)

        return {
            # where the sources read the lake (the staging and audit sources)
            "lake_dir": path(self.lake_dir),
            # identity resolution's key registry and merge log (audit_customer_key_merges)
            "identity_dir": path(self.identity_dir),
            # the archive of published nights' scores (fct_churn_scores, fct_campaign_propensity)
            "scores_dir": path(self.scores_dir),
            # on-run-start sets DuckDB's TimeZone to it (macros/settings.sql)
            "timezone": self.timezone,
            # on-run-start sets DuckDB's memory_limit and temp_directory to them (macros/settings.sql)
            DUCKDB_MEMORY_LIMIT_VAR: self.duckdb_memory_limit,
            "duckdb_temp_dir": path(self.duckdb_temp_directory),
            # on-run-start sets DuckDB's threads to it, unless 0 (macros/settings.sql)
            DUCKDB_THREADS_VAR: self.duckdb_threads,
            # read by profiles.yml (the identity plugin's UDFs); see PROFILE_VARS
            "phone_region": self.phone_region,
            SPARK_JAVA_OPTIONS_VAR: self.spark_driver_java_options,
            SPARK_CATALOG_VAR: self.spark_catalog,
            "reporting_currency": self.reporting_currency,
            "postings_short_window_days": self.postings_short_window_days,
            "postings_long_window_days": self.postings_long_window_days,
            "web_sessions_window_days": self.web_sessions_window_days,
            "web_sessions_long_window_days": self.web_sessions_long_window_days,
            "calls_window_days": self.calls_window_days,
            "calls_short_window_days": self.calls_short_window_days,
            "open_complaints_window_days": self.open_complaints_window_days,
            "csat_window_days": self.csat_window_days,
            "contribution_window_months": self.contribution_window_months,
            "balance_snapshot_window_days": self.balance_snapshot_window_days,
            "household_max_members": self.household_max_members,
            "value_window_months": self.value_window_months,
            "value_measure": self.value_measure,
            "value_high_percentile": self.value_high_percentile,
            "loyalty_high_score": self.loyalty_high_score,
            "loyalty_full_tenure_months": self.loyalty_full_tenure_months,
            "loyalty_full_product_families": self.loyalty_full_product_families,
            "loyalty_full_monthly_activity": self.loyalty_full_monthly_activity,
            "inactive_days": self.inactive_days,
            "lapsed_months": self.lapsed_months,
            "mvc_contribution_share": self.mvc_contribution_share,
            "mgc_max_value_percentile": self.mgc_max_value_percentile,
            "mgc_min_annual_income": self.mgc_min_annual_income,
            "mgc_min_outflow_elsewhere": self.mgc_min_outflow_elsewhere,
            "mgc_outflow_window_months": self.mgc_outflow_window_months,
            "rfm_window_months": self.rfm_window_months,
            "income_band_edges": self.income_band_edges,
            "event_lookback_days": self.event_lookback_days,
            "large_flow_baseline_days": self.large_flow_baseline_days,
            "large_flow_multiple": self.large_flow_multiple,
            "large_flow_min_amount": self.large_flow_min_amount,
            "large_flow_min_history_days": self.large_flow_min_history_days,
            "balance_drop_window_days": self.balance_drop_window_days,
            "balance_drop_share": self.balance_drop_share,
            "balance_drop_min_baseline": self.balance_drop_min_baseline,
            "salary_missed_days": self.salary_missed_days,
            "salary_min_credits": self.salary_min_credits,
            "failed_logins_threshold": self.failed_logins_threshold,
            "td_maturity_notice_days": self.td_maturity_notice_days,
            "churn_score_max_age_days": self.churn_score_max_age_days,
            "lead_min_severity": self.lead_min_severity,
            "lead_customer_gap_days": self.lead_customer_gap_days,
            "lead_rm_max_open": self.lead_rm_max_open,
            "lead_due_days": self.lead_due_days,
            "top_value_visit_days": self.top_value_visit_days,
            # the do-not-contact register (int_leads), read when the file exists
            "do_not_contact_file": path(self.do_not_contact_path),
            # every RM's credit timeline under the teams' agreements (int_customer_rm_periods)
            "rm_credit_rules": credit_rules(self.rm_team_credit_shares),
            # the churn model the nightly build scores with (int_churn_scores)
            "churn_model_dir": path(self.churn_models_dir),
            "churn_model_version": self.churn_model_version,
            "churn_risk_band_edges": self.churn_risk_band_edges,
            # the lifetime value model the nightly build scores with (int_clv_scores)
            "clv_model_dir": path(self.clv_models_dir),
            "clv_model_version": self.clv_model_version,
            "clv_discount_rate": self.clv_discount_rate,
            "clv_horizon_months": self.clv_horizon_months,
            # the campaign response model the nightly build scores with (int_campaign_propensity)
            "response_model_dir": path(self.response_models_dir),
            "response_model_version": self.response_model_version,
            # severity and tolerances of the rules the warehouse tests re-check, from gates_config:
            # a rule is configured once, there, for the feed gate and the warehouse alike
            GATES_VAR: load_gates_config(self.gates_config).dbt_vars(),
            # what the tests of an incremental night read (macros/night_tests.sql); tests only
            TEST_SCOPE_VAR: self.warehouse_test_scope,
        }


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and config file, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]


# ------------------------------------------------------- the defaults of a `dbt build` by hand

DBT_PROJECT_YML = PROJECT_ROOT / "dbt_project" / "dbt_project.yml"
PROFILE_VARS = ("phone_region", SPARK_JAVA_OPTIONS_VAR, SPARK_CATALOG_VAR)
"""Vars only profiles.yml reads. dbt renders a profile with the `--vars` of the command line
alone, never with the project's `vars:` block, so they are left out of it: a value there would
do nothing. By hand the identity plugin's own default region applies."""
_BEGIN = "# >>> generated by `python -m bankdw.config` from bankdw/config.py: change a default there"
_END = "# <<< end of the generated settings"
_PATH_VARS = {
    "lake_dir": "Root of the lake the sources read (`<data_dir>/lake`).",
    "identity_dir": "Identity resolution's key registry and merge log (`<data_dir>/lake/_identity`).",
    "scores_dir": "The archive of every published night's model scores (`<data_dir>/lake/_scores`), which the "
    "score marts are built from.",
    "duckdb_temp_dir": "Where DuckDB spills beyond duckdb_memory_limit (`<data_dir>/tmp/duckdb` unless the setting "
    "duckdb_temp_dir names another).",
    "churn_model_dir": "Trained churn models, one folder per version (`<data_dir>/models/churn` unless the "
    "setting churn_model_dir names another).",
    "clv_model_dir": "Trained lifetime value models, one folder per version (`<data_dir>/models/clv` unless "
    "the setting clv_model_dir names another).",
    "response_model_dir": "Trained campaign response models, one folder per version (`<data_dir>/models/response` "
    "unless the setting response_model_dir names another).",
    "do_not_contact_file": "The bank's do-not-contact register that int_leads reads when it exists "
    "(`<data_dir>/reference/do_not_contact.csv` unless the setting do_not_contact_file names another).",
    "rm_credit_rules": "Every RM's credit timeline under the setting rm_team_credit_shares (bankdw/rm_teams.py): "
    "rm_id, valid_from, valid_to, credited_rm_id, credit_share; an RM without a row keeps the whole credit.",
    GATES_VAR: "Severity (error or warn) and tolerances per rule, from the gates configuration (setting "
    "gates_config, expectations/gates.toml): the warehouse tests that re-check a feed rule's fact follow them.",
}


BY_HAND_TEST_SCOPE = "whole"
"""The warehouse_test_scope of a `dbt test` (or `dbt build`) by hand: every test over whole tables."""


def by_hand_dbt_vars() -> dict[str, DbtVar]:
    """The vars a `dbt build` by hand runs with: the defaults of `Settings`, the environment and
    bankdw.toml ignored, with the data dir in this checkout and paths relative to dbt_project/."""
    defaults = Settings.model_construct()
    in_checkout = Settings.model_construct(data_dir=PROJECT_ROOT / defaults.data_dir)
    rendered = in_checkout.dbt_vars(paths_relative_to=in_checkout.dbt_project_dir)
    # by hand dbt tests whatever file it is pointed at, whole: only the pipeline knows a night
    rendered[TEST_SCOPE_VAR] = BY_HAND_TEST_SCOPE
    return {name: value for name, value in rendered.items() if name not in PROFILE_VARS}


def render_dbt_project_vars() -> str:
    """The generated `vars:` block of dbt_project.yml, each var with its setting's description."""
    lines = [
        _BEGIN,
        "# (tests/test_settings_reach_dbt.py fails while this block differs from what it renders).",
        "# The pipeline passes the settings in force with --vars, which override these defaults.",
        "vars:",
    ]
    for name, value in by_hand_dbt_vars().items():
        description = _PATH_VARS.get(name) or Settings.model_fields[name].description or ""
        lines += textwrap.wrap(description, width=100, initial_indent="  # ", subsequent_indent="  # ")
        lines.append(f"  {name}: {json.dumps(value)}")
    lines.append(_END)
    return "\n".join(lines) + "\n"


def committed_dbt_project_vars(text: str) -> str:
    """The generated block as it stands in dbt_project.yml's `text` (markers included)."""
    begin, end = text.index(_BEGIN), text.index(_END)
    return text[begin : text.index("\n", end) + 1]


def write_dbt_project_vars(path: Path = DBT_PROJECT_YML) -> bool:
    """Replace the generated block of dbt_project.yml with the current rendering; True if it changed."""
    text = path.read_text(encoding="utf-8")
    new = text.replace(committed_dbt_project_vars(text), render_dbt_project_vars())
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bankdw.config",
        description="Write the defaults of bankdw/config.py into the vars block of dbt_project.yml "
        "(run it after changing a setting dbt reads, and commit the result).",
    )
    parser.add_argument("--dbt-project-yml", type=Path, default=DBT_PROJECT_YML)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    changed = write_dbt_project_vars(args.dbt_project_yml)
    log.info("%s: %s", args.dbt_project_yml, "updated" if changed else "already up to date")


if __name__ == "__main__":
    main()
