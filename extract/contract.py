"""The feed agreement (`extract/feeds/feeds.yml`) as typed objects.

Everything that reads or writes feed files (the simulator, the extract, the gates, the
tests) takes columns, types, keys and allowed values from here, so that the agreement
is written down once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"
FEEDS_YML = FEEDS_DIR / "feeds.yml"

ColumnType = Literal["string", "date", "timestamp", "decimal", "integer", "boolean", "enum"]

DECIMAL_TYPE = "DECIMAL(18,4)"
"""Every feed decimal lands as DECIMAL(18,4): 14 integer digits cover any single amount a
bank books, and 4 decimals cover cents, three-decimal currencies and rates in percent.
A value with more decimals than that is refused, never rounded (see extract.convert)."""

DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "enum": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "decimal": DECIMAL_TYPE,
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}

LINEAGE_COLUMNS: dict[str, str] = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_row": "BIGINT",
    "_business_date": "DATE",
    "_loaded_at": "TIMESTAMPTZ",
}
"""Columns the extract adds to every lake row: which load wrote it, from which landed
file (path relative to the landing root) and data row (1-based), for which business
date, and when."""


class Column(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: ColumnType
    nullable: bool = False
    values: tuple[str, ...] = ()
    open: bool = Field(default=False, description="enum whose list may grow without notice")
    note: str | None = None

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


class FeedFile(BaseModel):
    """One file of a system's daily delivery, e.g. core_banking/transactions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str
    name: str
    format: Literal["csv", "jsonl.gz"]
    delivery: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    control_totals: tuple[str, ...] = ()
    files_per_date: str | None = None
    optional: bool = False
    """The system may leave the file out of a delivery; every other file comes every business date."""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.system}/{self.name} has no column {name!r}")

    @property
    def is_snapshot(self) -> bool:
        """Full snapshot of master data (as opposed to the day's events or states)."""
        return self.delivery == "full snapshot"

    @property
    def lists_everything(self) -> bool:
        """The file lists every item of its kind on the business date (a full snapshot, or the
        end-of-day state of every open account or loan): an item missing from it is gone."""
        return self.is_snapshot or self.delivery.startswith("end-of-day state of every")

    @property
    def is_hourly(self) -> bool:
        """Delivered as several files per date (`events-00.jsonl.gz` .. `events-23.jsonl.gz`)."""
        return self.files_per_date is not None

    def matches(self, filename: str) -> bool:
        """Whether a landed file name belongs to this feed file."""
        if self.is_hourly:  # exactly `<name>-HH.<format>`, HH 00 to 23
            return (
                re.fullmatch(rf"{re.escape(self.name)}-([01]\d|2[0-3])\.{re.escape(self.format)}", filename) is not None
            )
        return filename == f"{self.name}.{self.format}"

    @property
    def qualified_name(self) -> str:
        return f"{self.system}.{self.name}"


class FeedAgreement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    timezone: str
    files: tuple[FeedFile, ...]

    @property
    def systems(self) -> list[str]:
        return list(dict.fromkeys(f.system for f in self.files))

    def files_of(self, system: str) -> list[FeedFile]:
        found = [f for f in self.files if f.system == system]
        if not found:
            raise KeyError(f"the feed agreement has no system {system!r}")
        return found

    def file(self, system: str, name: str) -> FeedFile:
        for feed in self.files:
            if feed.system == system and feed.name == name:
                return feed
        raise KeyError(f"the feed agreement has no file {system}/{name}")

    def feed_for(self, system: str, filename: str) -> FeedFile | None:
        """The feed file a landed file name belongs to, or None for a file the agreement does not know."""
        for feed in self.files_of(system):
            if feed.matches(filename):
                return feed
        return None


def parse_agreement(raw: dict[str, Any]) -> FeedAgreement:
    files = []
    for system, system_spec in raw["systems"].items():
        for name, spec in system_spec["files"].items():
            columns = tuple(Column(name=col_name, **col_spec) for col_name, col_spec in spec["columns"].items())
            files.append(
                FeedFile(
                    system=system,
                    name=name,
                    format=spec["format"],
                    delivery=spec["delivery"],
                    key=tuple(spec["key"]),
                    columns=columns,
                    control_totals=tuple(spec.get("control_totals", ())),
                    files_per_date=spec.get("files_per_date"),
                    optional=spec.get("optional", False),
                )
            )
    return FeedAgreement(version=raw["version"], timezone=raw["timezone"], files=tuple(files))


@cache
def load_agreement(path: Path = FEEDS_YML) -> FeedAgreement:
    """The feed agreement the warehouse accepts (cached: it does not change while running)."""
    with path.open(encoding="utf-8") as fh:
        return parse_agreement(yaml.safe_load(fh))
