"""The archive of the nightly model scores: every published night's scores, beside the lake.

    <lake>/_scores/<model>/score_date=<D>/scores.parquet   one night's scores, as the mart published them
    <lake>/_scores/<model>/_schema/empty.parquet           zero rows, the schema: dbt finds it before any night

A score is what the model in force said that night; it cannot be computed again later (the
model and the data have moved on), so the score marts (fct_churn_scores,
fct_campaign_propensity) are not only incremental tables in the warehouse, which a full
refresh or a rebuild from the lake would empty: they are built from this archive (dbt source
`scores`, var `scores_dir`) and tonight's scores, and a full refresh gives the same rows.

The archive is published with the warehouse, never written from inside dbt: the build step
starts the build area's archive from the published version's (`start_archive`; its files
linked, never copied: partitions are only ever replaced whole), dbt builds the marts reading
it, and once the build has succeeded the scores of the night are written into it
(`archive_tonight`). Publishing keeps it with the version and installs it as `<lake>/_scores/`;
a rollback installs the restored version's, so a rolled-back night's scores are gone
(bankdw.publish; `KEPT_DIRS` in bankdw.warehouse: the same mechanism as the identity registry).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from bankdw.config import Settings
from bankdw.publish import published_kept_dir
from bankdw.warehouse import SCORES, build_path, scores_build_path
from extract.lake import write_atomically

log = logging.getLogger(__name__)

PARTITION_FILE = "scores.parquet"
SCHEMA_FILE = Path("_schema") / "empty.parquet"


@dataclass(frozen=True)
class Archive:
    """One model's scores: the mart published from the archive, the intermediate model that
    scores tonight, and the archive's schema (the mart's contract, column for column)."""

    mart: str
    tonight: str
    schema: pa.Schema


_REASONS = [
    field
    for k in (1, 2, 3)
    for field in (
        pa.field(f"reason_{k}", pa.string()),
        pa.field(f"reason_{k}_feature", pa.string()),
        pa.field(f"reason_{k}_contribution", pa.decimal128(9, 4)),
    )
]
ARCHIVES = {
    "churn": Archive(
        "fct_churn_scores",
        "int_churn_scores",
        pa.schema(
            [
                pa.field("customer_key", pa.string()),
                pa.field("score_date", pa.date32()),
                pa.field("churn_probability", pa.decimal128(5, 4)),
                pa.field("risk_band", pa.string()),
                *_REASONS,
                pa.field("model_version", pa.string()),
            ]
        ),
    ),
    "campaign_response": Archive(
        "fct_campaign_propensity",
        "int_campaign_propensity",
        pa.schema(
            [
                pa.field("customer_key", pa.string()),
                pa.field("score_date", pa.date32()),
                pa.field("propensity", pa.decimal128(5, 4)),
                pa.field("propensity_rank", pa.int64()),
                pa.field("model_version", pa.string()),
            ]
        ),
    ),
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
