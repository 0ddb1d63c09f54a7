"""The one typed settings object of the project.

Values come, highest precedence first, from keyword arguments, environment variables
(`BANKDW_*`), an optional TOML file (`bankdw.toml` in the working directory, or the
file named by `BANKDW_CONFIG`) and the defaults below. `docs/configuration.md` lists
every setting; `bankdw config` prints the values in force.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The repository root: `dbt_project/`, `dags/` and `expectations/` live here."""


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
    reporting_currency: str = Field(default="CNY", description="ISO 4217 currency of every amount in the marts.")
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
    type_drift_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of a typed column's values that may fail to read before the file is refused "
        "as a schema change (below it, the bad rows are quarantined).",
    )
    gates_config: Path = Field(
        default=PROJECT_ROOT / "expectations" / "gates.toml",
        description="Severity (blocking or warning) and thresholds of every feed gate (see docs/quality.md).",
    )
    keep_versions: int = Field(
        default=3,
        ge=1,
        description="Published warehouse versions kept for `bankdw rollback` (the current one included).",
    )

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
    def warehouse_path(self) -> Path:
        """The published DuckDB file that analysts and BI tools read."""
        return self.root / "warehouse" / "bank.duckdb"

    @property
    def build_dir(self) -> Path:
        """Where a nightly build writes its new warehouse before it is published."""
        return self.root / "warehouse" / "_build"

    @property
    def runs_dir(self) -> Path:
        """One JSON report per run; `bankdw status` reads the latest."""
        return self.root / "runs"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and config file, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
