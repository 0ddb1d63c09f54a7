"""Settings: defaults, environment, config file, validation, and their documentation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from expectations.bank_rules import RuleInputs, lake_keys, run_bank_rules
from expectations.config import load_gates_config
from extract.contract import load_agreement
from extract.lake import Lake
from extract.sql import DuckDBConfig
from models.identity.keys import KeyRegistry
from models.identity.records import customer_records
from models.identity.resolve import identify
from tests.conftest import PublishedBank


def test_defaults_put_everything_under_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given no environment and no config file
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"BANKDW_{name.upper()}", raising=False)
    # when loaded
    settings = load_settings()
    # then the documented defaults hold
    assert settings.landing_dir == tmp_path / "data" / "landing"
    assert settings.lake_dir == tmp_path / "data" / "lake"
    assert settings.warehouse_path == tmp_path / "data" / "warehouse" / "bank.duckdb"
    assert (settings.timezone, settings.phone_region) == ("Asia/Shanghai", "CN")


def test_environment_beats_config_file_beats_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given a config file setting two values and the environment overriding one of them
    config = tmp_path / "bank.toml"
    config.write_text('timezone = "Europe/Zurich"\nphone_region = "ch"\n', encoding="utf-8")
    monkeypatch.setenv("BANKDW_CONFIG", str(config))
    monkeypatch.setenv("BANKDW_TIMEZONE", "Asia/Hong_Kong")
    # when loaded
    settings = load_settings()
    # then the environment wins, the file comes next (normalised), then defaults
    assert (settings.timezone, settings.phone_region, settings.reporting_currency) == ("Asia/Hong_Kong", "CH", "CNY")


@pytest.mark.parametrize(("name", "value"), [("timezone", "Mars/Olympus"), ("phone_region", "XX")])
def test_an_invalid_setting_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"BANKDW_{name.upper()}", value)
    with pytest.raises(ValueError, match=name):
        load_settings()


def test_rm_team_agreements_from_the_config_file_become_every_members_credit_timeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a bank.toml in which team T1 shares 60/40 from the beginning, then R1 and R3 half and
    # half from October, and team T2 (R2 alone) from 15 October
    config = tmp_path / "bank.toml"
    config.write_text(
        """
        [[rm_team_credit_shares]]
        team_id = "T1"
        shares = { R1 = 0.6, R2 = 0.4 }
        [[rm_team_credit_shares]]
        team_id = "T1"
        valid_from = 2026-10-01
        shares = { R1 = "0.5", R3 = "0.5" }
        [[rm_team_credit_shares]]
        team_id = "T2"
        valid_from = 2026-10-15
        shares = { R2 = 1 }
        """,
        encoding="utf-8",
    )
    monkeypatch.setenv("BANKDW_CONFIG", str(config))
    # when loaded
    rules = load_settings().dbt_vars()["rm_credit_rules"]
    # then each RM named has one timeline over all time, its gaps credited to the RM alone
    assert isinstance(rules, list)
    assert [tuple(rule.values()) for rule in rules] == [
        ("R1", None, "2026-10-01", "R1", "0.6000"),
        ("R1", None, "2026-10-01", "R2", "0.4000"),
        ("R1", "2026-10-01", None, "R1", "0.5000"),
        ("R1", "2026-10-01", None, "R3", "0.5000"),
        ("R2", None, "2026-10-01", "R1", "0.6000"),
        ("R2", None, "2026-10-01", "R2", "0.4000"),
        ("R2", "2026-10-01", "2026-10-15", "R2", "1.0000"),
        ("R2", "2026-10-15", None, "R2", "1.0000"),
        ("R3", None, "2026-10-01", "R3", "1.0000"),
        ("R3", "2026-10-01", None, "R1", "0.5000"),
        ("R3", "2026-10-01", None, "R3", "0.5000"),
    ]
    # and by default no RM has a rule (each keeps their customers' whole credit)
    monkeypatch.delenv("BANKDW_CONFIG")
    assert load_settings().dbt_vars()["rm_credit_rules"] == []


@pytest.mark.parametrize(
    ("agreements", "refusal"),
    [
        ([{"team_id": "T1", "shares": {"R1": "0.3333", "R2": "0.6666"}}], "add up to exactly 1, they add up to 0.9999"),
        ([{"team_id": "T1", "shares": {"R1": "0.33335", "R2": "0.66665"}}], "share of R1 .* at most 4 decimals"),
        ([{"team_id": "T1", "shares": {"R1": "1.5", "R2": "-0.5"}}], "share of R1 must be above 0, at most 1"),
        (
            [
                {"team_id": "T1", "shares": {"R1": 1}},
                {"team_id": "T2", "valid_from": "2026-10-01", "shares": {"R1": 1}},
            ],
            "R1 is a member of team T2 from 2026-10-01 while still a member of team T1",
        ),
        (
            [{"team_id": "T1", "shares": {"R1": 1}}, {"team_id": "T1", "shares": {"R2": 1}}],
            "team T1 has two agreements from the same date",
        ),
    ],
)
def test_rm_team_agreements_that_do_not_add_up_are_refused(agreements: list[object], refusal: str) -> None:
    with pytest.raises(ValueError, match=f"rm_team_credit_shares(.|\\n)*{refusal}"):
        load_settings(rm_team_credit_shares=agreements)


def test_a_do_not_contact_register_that_is_not_there_is_refused(tmp_path: Path) -> None:
    # the default register is optional (none: no customer is on it); a named one must exist
    assert load_settings(data_dir=tmp_path).do_not_contact_path == tmp_path / "reference" / "do_not_contact.csv"
    with pytest.raises(ValueError, match=f"do_not_contact_file names {tmp_path}/dnc.csv, which is not a file"):
        load_settings(data_dir=tmp_path, do_not_contact_file=tmp_path / "dnc.csv")


def test_every_setting_is_documented() -> None:
    documented = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`BANKDW_{name.upper()}`" not in documented]
    assert missing == []


def test_a_run_spills_into_a_data_dir_that_has_no_spill_folder_yet(tmp_path: Path) -> None:
    # given a new data dir, nothing in it yet, and a memory limit below what a table will need
    # (a 100,000-customer bank's gate stopped at its first spill: DuckDB makes only the spill
    # path's last folder, and `<data_dir>/tmp` did not exist)
    settings = load_settings(data_dir=tmp_path / "data", duckdb_memory_limit="64MB")
    # when a connection of the run holds 160 MB
    with duckdb.connect(config=settings.duckdb_config()) as con:
        con.execute("create table big as select range as x, hash(range) as h from range(10000000)")
        spilled = con.sql("select path from duckdb_temporary_files()").fetchall()
        total = con.sql("select count(*), sum(x) from big").fetchone()
    # then it spilled into the setting's folder, and kept every row
    assert spilled
    assert {Path(path).parent for (path,) in spilled} == {tmp_path / "data" / "tmp" / "duckdb"}
    assert total == (10_000_000, 49_999_995_000_000)


def test_duckdb_threads_reach_every_connection_of_a_run_and_zero_leaves_duckdbs_own(tmp_path: Path) -> None:
    # given the threads setting at 1, and at 0 (the default: DuckDB's own, every core)
    one = load_settings(data_dir=tmp_path / "data", duckdb_threads=1)
    default = load_settings(data_dir=tmp_path / "data", duckdb_threads=0)
    # when a connection of the run opens with each one's config
    with duckdb.connect(config=one.duckdb_config()) as con:
        threads = con.sql("select current_setting('threads')").fetchall()
    with duckdb.connect(config=default.duckdb_config()) as con, duckdb.connect() as own:
        default_threads = con.sql("select current_setting('threads')").fetchall()
        own_threads = own.sql("select current_setting('threads')").fetchall()
    # then the first runs its queries on one thread, the second on as many as DuckDB chooses
    assert threads == [(1,)]
    assert default_threads == own_threads and "threads" not in default.duckdb_config()


def test_the_memory_limit_reaches_the_connections_that_read_the_lake_outside_dbt(published_bank: PublishedBank) -> None:
    # given the shared bank's lake, and its settings with a memory limit far too small for any read
    # (issue 20: every connection of a run stops or spills at the installation's limit, not only dbt's)
    enough = published_bank.settings
    starved = load_settings(data_dir=enough.root, duckdb_memory_limit="256KB")
    agreement, gates, lake = load_agreement(), load_gates_config(enough.gates_config), Lake(enough.lake_dir)
    records = customer_records(enough.lake_dir, enough.phone_region)
    day = published_bank.last_date

    def rules(config: DuckDBConfig) -> RuleInputs:
        return RuleInputs(lake, "nothing-staged", enough.landing_dir, agreement, day, enough.reporting_currency, config)

    # each read of the lake, on connections of the given config
    reads: dict[str, Callable[[DuckDBConfig], object]] = {
        "the gate's bank rules": lambda config: run_bank_rules(rules(config), gates),
        "the gate's reference keys": lambda config: set(
            lake_keys(lake, agreement, config)("core_banking.accounts", "account_id")
        ),
        "identity's records": lambda config: customer_records(enough.lake_dir, enough.phone_region, config),
        "identity's resolution and keys": lambda config: identify(
            records, KeyRegistry(enough.identity_dir), day, replace(enough.identity_config(), duckdb_config=config)
        ),
    }
    for what, read in reads.items():
        # then each stops at the limit, as DuckDB says: the setting reached its connection
        with pytest.raises(duckdb.OutOfMemoryException):
            read(starved.duckdb_config())
            pytest.fail(f"{what} read the lake beyond the memory limit")
        # and with the bank's own limit it reads what it reads on DuckDB's defaults, and not nothing
        within = read(enough.duckdb_config())
        assert within == read({}), what
        assert within, what
