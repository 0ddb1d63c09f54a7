"""The resolve step's work: read the records from the lake, resolve them, key them from the
registry of the published version, and write the result as an identity directory.

An identity directory holds four Parquet files, what dbt reads as the source `identity`
(dbt_project/models/intermediate/customers/_identity__sources.yml):

    customer_records.parquet     the normalised records resolved (int_customer_records_normalised)
    customer_identity.parquet    one row per record: group, rule, evidence, customer_key (int_customer_identity)
    customer_keys.parquet        the key registry: every record ever keyed
    customer_key_merges.parquet  the merge log: every key retired, by which key, when

The pipeline writes one per run into the build area and publishes it with the warehouse
(`bankdw.publish`): the published registry changes only when its build is published.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from models.identity.keys import MERGES_FILE, REGISTRY_FILE, KeyRegistry, assign_keys
from models.identity.probabilistic import IdentityConfig, LinkageBackend
from models.identity.records import RECORD_COLUMNS, customer_records
from models.identity.rules import resolve

log = logging.getLogger(__name__)

RECORDS_FILE = "customer_records.parquet"
IDENTITY_FILE = "customer_identity.parquet"
IDENTITY_FILES = (RECORDS_FILE, IDENTITY_FILE, REGISTRY_FILE, MERGES_FILE)
"""The files of an identity directory, in the order they are written (and installed)."""

NO_RECORDS_DATE = date(1970, 1, 1)


@dataclass(frozen=True)
class Identity:
    records: pa.Table
    """The normalised records resolved."""
    keyed: pa.Table
    """One row per record: the resolution and its customer_key and key_created_on."""
    registry: pa.Table
    merge_log: pa.Table
    """Every merge ever found, this run's appended."""
    merges_found: int
    """Merges found in this run."""


def identify(
    records: pa.Table,
    previous: KeyRegistry,
    as_of: date,
    config: IdentityConfig | None = None,
    backend: LinkageBackend | None = None,
) -> Identity:
    """Resolve `records` (RECORD_COLUMNS) and key them from the registry `previous` as of the
    business date `as_of` (the date new keys are created on, merges found on). Writes nothing."""
    duckdb_config = dict(config.duckdb_config) if config else {}
    con = duckdb.connect(config=duckdb_config)
    try:
        resolution = resolve(con, records.select(list(RECORD_COLUMNS)), config, backend)
    finally:
        con.close()
    registry, merge_log = previous.load()
    assigned = assign_keys(resolution, registry, as_of, duckdb_config)
    if assigned.merges.num_rows:
        log.info("identity: %d customers merged into others this run", assigned.merges.num_rows)
    keyed = resolution.append_column("customer_key", assigned.keys.column("customer_key")).append_column(
        "key_created_on", assigned.keys.column("key_created_on")
    )
    return Identity(
        records=records,
        keyed=keyed,
        registry=assigned.registry,
        merge_log=pa.concat_tables([merge_log, assigned.merges]),
        merges_found=assigned.merges.num_rows,
    )


def write_identity(identity: Identity, directory: Path) -> None:
    """Write the four files into `directory`, each atomically (write, then rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = (identity.records, identity.keyed, identity.registry, identity.merge_log)
    for name, table in zip(IDENTITY_FILES, tables, strict=True):
        partial = directory / f".{name}.tmp"
        pq.write_table(table, partial)
        partial.replace(directory / name)


def resolve_lake(
    lake_dir: Path,
    registry_dir: Path,
    out_dir: Path,
    phone_region: str,
    config: IdentityConfig | None = None,
    backend: LinkageBackend | None = None,
) -> Identity:
    """The resolve step: the lake's core customer records, resolved and keyed from the
    registry in `registry_dir` (only read), written as an identity directory at `out_dir`."""
    records = customer_records(lake_dir, phone_region, config.duckdb_config if config else None)
    dates = [d for d in records.column("snapshot_date").to_pylist() if d is not None]
    as_of = max(dates) if dates else NO_RECORDS_DATE  # the latest snapshot: the records' business date
    identity = identify(records, KeyRegistry(registry_dir), as_of, config, backend)
    write_identity(identity, out_dir)
    return identity
