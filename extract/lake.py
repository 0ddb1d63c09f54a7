"""The Parquet lake: its layout, atomic partition replacement and the load audit log.

    <lake>/<system>/<file>/business_date=<D>/<file>.parquet               typed rows + lineage
    <lake>/<system>/<file>/_schema/empty.parquet                          zero rows, full schema
    <lake>/_quarantine/<system>/<file>/business_date=<D>/<file>.parquet   unreadable rows
    <lake>/_audit/loads/<load_id>.parquet                                 one row per file loaded
    <lake>/_staging/<load_id>/...                                         a load before commit

A load writes everything under `_staging/<load_id>/` first. Committing swaps each staged
partition into place by directory rename and then writes the load's audit file, which is
what marks the deliveries as loaded: a run killed before that leaves them pending, and
the next run loads them again, replacing whatever partitions were already swapped in.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from extract.contract import LINEAGE_COLUMNS, FeedAgreement, FeedFile
from extract.sql import ident, literal, path_pattern

STAGING = "_staging"
QUARANTINE = "_quarantine"
AUDIT_LOADS = Path("_audit") / "loads"
SCHEMA_DIR = "_schema"
STAGED_AUDIT = "_audit.parquet"
"""A staged load's audit rows, at the root of its staging area; committed as the load's audit file."""

QUARANTINE_COLUMNS = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_row": "BIGINT",
    "raw": "VARCHAR",
    "reason": "VARCHAR",
    "_business_date": "DATE",
}

AUDIT_SCHEMA = pa.schema(
    [
        ("load_id", pa.string()),
        ("system", pa.string()),
        ("feed", pa.string()),
        ("source_file", pa.string()),
        ("business_date", pa.date32()),
        ("rows_delivered", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("sha256", pa.string()),
        ("manifest_sha256", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("outcome", pa.string()),
        ("message", pa.string()),
        ("control_totals", pa.string()),
    ]
)
"""One row per landed file of every load (and one per refused delivery, feed empty).
`control_totals` is the manifest's control totals of the file, as JSON (`{"amount": "-12.50"}`)."""


def partition_name(business_date: object) -> str:
    return f"business_date={business_date}"


@dataclass(frozen=True)
class Lake:
    root: Path

    def feed_dir(self, feed: FeedFile) -> Path:
        return self.root / feed.system / feed.name

    def quarantine_dir(self, feed: FeedFile) -> Path:
        return self.root / QUARANTINE / feed.system / feed.name

    def staging(self, load_id: str) -> Lake:
        """The same layout under `_staging/<load_id>`, where a load is written before commit."""
        return Lake(self.root / STAGING / load_id)

    @property
    def audit_dir(self) -> Path:
        return self.root / AUDIT_LOADS

    def feed_glob(self, feed: FeedFile) -> str:
        return path_pattern(self.feed_dir(feed), "*/*.parquet")

    def ensure_schemas(self, agreement: FeedAgreement) -> None:
        """Write a zero-row file with the full schema for every feed, so that readers of the
        lake (dbt's sources) find every table even before a system has delivered anything."""
        con = duckdb.connect()
        try:
            for feed in agreement.files:
                columns = {c.name: c.duckdb_type for c in feed.columns} | LINEAGE_COLUMNS
                _write_empty(con, self.feed_dir(feed) / SCHEMA_DIR / "empty.parquet", columns)
                _write_empty(con, self.quarantine_dir(feed) / SCHEMA_DIR / "empty.parquet", QUARANTINE_COLUMNS)
            if not any(self.audit_dir.glob("*.parquet")):
                self.audit_dir.mkdir(parents=True, exist_ok=True)
                pq.write_table(AUDIT_SCHEMA.empty_table(), self.audit_dir / "_empty.parquet")
        finally:
            con.close()

    def staged_partitions(self, load_id: str) -> Iterator[Path]:
        """Partition directories of a staged load, relative to the staging root."""
        staging = self.staging(load_id).root
        for part in sorted(staging.glob("**/business_date=*")):
            if part.is_dir():
                yield part.relative_to(staging)

    def commit(self, load_id: str, audit: pa.Table) -> None:
        """Swap every staged partition into the lake, then record the load in the audit log."""
        staging = self.staging(load_id).root
        trash = self.root / STAGING / f"{load_id}.replaced"
        for relative in self.staged_partitions(load_id):
            final = self.root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                old = trash / relative
                old.parent.mkdir(parents=True, exist_ok=True)
                final.replace(old)
            (staging / relative).replace(final)
        write_atomically(audit.cast(AUDIT_SCHEMA), self.audit_dir / f"{load_id}.parquet")
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)

    def withhold(self, load_id: str, system: str, business_date: date) -> list[dict[str, Any]]:
        """Take one staged delivery out of a load before commit: its partitions (rows and
        quarantine) and its audit rows go, so the delivery stays pending in the landing area.
        Returns the audit rows it had (what the run's report counted for it)."""
        staging = self.staging(load_id).root
        partition = partition_name(business_date)
        for part in [*staging.glob(f"{system}/*/{partition}"), *staging.glob(f"{QUARANTINE}/{system}/*/{partition}")]:
            shutil.rmtree(part)
        audit_path = staging / STAGED_AUDIT
        rows = pq.read_table(audit_path).to_pylist()
        ours = [r for r in rows if (r["system"], r["business_date"], r["outcome"]) == (system, business_date, "LOADED")]
        write_atomically(pa.Table.from_pylist([r for r in rows if r not in ours], schema=AUDIT_SCHEMA), audit_path)
        return ours

    def discard(self, load_id: str) -> None:
        shutil.rmtree(self.staging(load_id).root, ignore_errors=True)

    def clean_abandoned(self, keep: str | None = None) -> list[str]:
        """Remove what runs that died before commit left in `_staging` (their loads are pending again)."""
        removed = []
        staging_root = self.root / STAGING
        if staging_root.is_dir():
            for entry in staging_root.iterdir():
                if entry.name != keep:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
        return removed

    def audit_records(self) -> pa.Table:
        if not self.audit_dir.is_dir():
            return AUDIT_SCHEMA.empty_table()
        files = sorted(self.audit_dir.glob("*.parquet"))
        if not files:
            return AUDIT_SCHEMA.empty_table()
        return pa.concat_tables([_as_audit(pq.read_table(f)) for f in files])


def _as_audit(table: pa.Table) -> pa.Table:
    """An audit file in today's schema: files written before a column existed get it empty."""
    for name in AUDIT_SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, AUDIT_SCHEMA.field(name).type))
    return table.select(AUDIT_SCHEMA.names).cast(AUDIT_SCHEMA)


def _write_empty(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str]) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    select = ", ".join(f"null::{sql_type} as {ident(name)}" for name, sql_type in columns.items())
    tmp = path.with_suffix(".tmp")
    con.execute(f"copy (select {select} limit 0) to {literal(tmp)} (format parquet)")
    tmp.replace(path)


def write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
