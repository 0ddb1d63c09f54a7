"""The archive of the nightly model scores: every published night's scores, beside the lake.

    <lake>/_scores/<model>/score_date=<D>/scores.parquet   one night's scores, as the mart published them
    <lake>/_scores/<model>/_schema/empty.parquet           zero rows, the schema: dbt finds it before any night

A score is what the model in force said that night; it cannot be computed again later (the
model and the data have moved on), so the score marts (fct_churn_scores,
fct_campaign_propensity, fct_customer_lifetime_value) are not only incremental tables in the
warehouse, which a full refresh or a rebuild from the lake would empty: they are built from this
archive (dbt source `scores`, var `scores_dir`) and tonight's scores, and a full refresh gives
the same rows.

The archive is published with the warehouse, never written from inside dbt: the build step
starts the build area's archive from the published version's (`start_archive`; its files
linked, never copied: partitions are only ever replaced whole), dbt builds the marts reading
it, and once the build has succeeded the scores of the night are written into it
(`archive_tonight`). Publishing keeps it with the version and installs it as `<lake>/_scores/`;
a rollback installs the restored version's, so a rolled-back night's scores are gone
(bankdw.publish; `KEPT_DIRS` in bankdw.warehouse: the same mechanism as the identity registry).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from bankdw.config import PROJECT_ROOT, Settings
from bankdw.publish import published_kept_dir
from bankdw.warehouse import SCORES, build_path, scores_build_path
from extract.lake import write_atomically

log = logging.getLogger(__name__)

PARTITION_FILE = "scores.parquet"
SCHEMA_FILE = Path("_schema") / "empty.parquet"
MARTS_DIR = PROJECT_ROOT / "dbt_project" / "models" / "marts"
"""Where the marts' contracts are (their `_<area>__models.yml`)."""


@dataclass(frozen=True)
class Archive:
    """One model's scores: the mart published from the archive and the intermediate model that
    scores tonight. The archive's schema is the mart's enforced contract (`contract_schema`)."""

    mart: str
    tonight: str

    @property
    def schema(self) -> pa.Schema:
        return contract_schema(self.mart)


@functools.cache
def contract_schema(mart: str) -> pa.Schema:
    """The Arrow schema of `mart`'s contract, read from its yml in the dbt project: its columns in
    order, each of the `data_type` the contract enforces, as DuckDB gives that type to Arrow (a
    zero-row query casting to each: DuckDB's own type names and mapping, not a copy of them here).
    The archive so stays the mart's shape whenever the contract changes."""
    for path in sorted(MARTS_DIR.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            if model["name"] == mart:
                columns = ", ".join(f'cast(null as {c["data_type"]}) as "{c["name"]}"' for c in model["columns"])
                with duckdb.connect() as con:
                    return con.execute(f"select {columns} limit 0").to_arrow_table().schema
    raise LookupError(f"no contract of mart {mart} under {MARTS_DIR}")


ARCHIVES = {
    "churn": Archive("fct_churn_scores", "int_churn_scores"),
    "campaign_response": Archive("fct_campaign_propensity", "int_campaign_propensity"),
    "clv": Archive("fct_customer_lifetime_value", "int_clv_scores"),
}
"""The archives by folder name (the dbt source `scores` names its tables so)."""


def partition_path(root: Path, model: str, score_date: date) -> Path:
    return root / model / f"score_date={score_date.isoformat()}" / PARTITION_FILE


def archived_dates(root: Path, model: str) -> list[date]:
    """The score dates an archive holds, oldest first."""
    return sorted(
        date.fromisoformat(p.parent.name.removeprefix("score_date="))
        for p in (root / model).glob(f"score_date=*/{PARTITION_FILE}")
    )


def start_archive(settings: Settings) -> Path:
    """The build area's archive, as the published version's (files linked), with each archive's
    schema file. A published version that keeps no archive (built before archives were) gives
    its published score marts' rows instead, so the first build with archives keeps them."""
    target = scores_build_path(settings)
    shutil.rmtree(target, ignore_errors=True)
    source = published_kept_dir(settings, SCORES)
    for model, archive in ARCHIVES.items():
        for path in sorted((source / model).glob(f"score_date=*/{PARTITION_FILE}")):
            linked = target / path.relative_to(source)
            linked.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, linked)
            except OSError:
                shutil.copyfile(path, linked)
        if not archived_dates(target, model):
            _archive_published_mart(settings, target, model, archive)
    write_schema_files(target)
    return target


def write_schema_files(root: Path) -> None:
    """Each archive's zero-row schema file under `root`: dbt reads an archive of no night."""
    for model, archive in ARCHIVES.items():
        write_atomically(archive.schema.empty_table(), root / model / SCHEMA_FILE)


def _archive_published_mart(settings: Settings, target: Path, model: str, archive: Archive) -> None:
    if not settings.warehouse_path.exists():
        return
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        found = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = ?", [archive.mart]
        ).fetchone()
        if found is None or not found[0]:
            return
        _write_nights(con, target, model, archive, f"select * from marts.{archive.mart}")


def archive_tonight(settings: Settings) -> dict[str, list[date]]:
    """Write into the build area's archive the nights the build scored (the score dates of
    each archive's intermediate model), as its mart holds them; returns them by model."""
    target = scores_build_path(settings)
    with duckdb.connect(str(build_path(settings)), read_only=True) as con:
        return {
            model: _write_nights(
                con,
                target,
                model,
                archive,
                f"select * from marts.{archive.mart} where score_date in "
                f"(select score_date from intermediate.{archive.tonight})",
            )
            for model, archive in ARCHIVES.items()
        }


def _write_nights(con: duckdb.DuckDBPyConnection, target: Path, model: str, archive: Archive, query: str) -> list[date]:
    rows = con.execute(f"select * from ({query}) order by score_date, customer_key").fetch_arrow_table()
    rows = rows.select(archive.schema.names).cast(archive.schema)
    nights = sorted(set(rows.column("score_date").to_pylist()))
    for night in nights:
        # a new file renamed over the partition: a linked partition of the published archive stays as it was
        write_atomically(rows.filter(pc.equal(rows["score_date"], night)), partition_path(target, model, night))
    if nights:
        log.info("archived %s scores of %s", model, ", ".join(map(str, nights)))
    return nights
