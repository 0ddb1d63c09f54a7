"""Settings: defaults, environment, config file, validation, and their documentation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from expectations.bank_rules import RuleInputs, lake_keys, run_bank_rules
from expectations.config import load_gates_config
from extract.contract import load_agreement
from extract.lake import Lake
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


def test_every_setting_is_documented() -> None:
    documented = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`BANKDW_{name.upper()}`" not in documented]
    assert missing == []


def test_the_memory_limit_reaches_the_connections_that_read_the_lake_outside_dbt(published_bank: PublishedBank) -> None:
    # given the shared bank's lake, and its settings with a memory limit far too small for any read
    # (issue 20: every connection of a run stops or spills at the installation's limit, not only dbt's)
    enough = published_bank.settings
    starved = load_settings(data_dir=enough.root, duckdb_memory_limit="256KB")
    agreement, gates = load_agreement(), load_gates_config(enough.gates_config)
    records = customer_records(enough.lake_dir, enough.phone_region)

    def rules(settings: Settings) -> RuleInputs:
        lake = Lake(settings.lake_dir)
        return RuleInputs(
            lake,
            "nothing-staged",
            settings.landing_dir,
            agreement,
            published_bank.last_date,
            settings.reporting_currency,
            settings.duckdb_config(),
        )

    def keys(settings: Settings) -> object:
        return lake_keys(Lake(settings.lake_dir), agreement, settings.duckdb_config())(
            "core_banking.accounts", "account_id"
        )

    reads = {
        "the gate's bank rules": lambda settings: run_bank_rules(rules(settings), gates),
        "the gate's reference keys": keys,
        "identity's records": lambda settings: customer_records(
            settings.lake_dir, settings.phone_region, settings.identity_config().duckdb_config
        ),
        "identity's resolution and keys": lambda settings: identify(
            records, KeyRegistry(settings.identity_dir), published_bank.last_date, settings.identity_config()
        ),
    }
    for what, read in reads.items():
        # then each stops at the limit, as DuckDB says: the setting reached its connection
        with pytest.raises(duckdb.OutOfMemoryException):
            read(starved)
            pytest.fail(f"{what} read the lake beyond the memory limit")
        # and with the bank's own limit the same read succeeds
        assert read(enough) is not None, what
