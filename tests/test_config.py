"""Settings: defaults, environment, config file, validation, and their documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings


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
