"""Stable customer keys: `assign_keys` gives every group of a resolution its customer_key from
the key registry of earlier runs; `KeyRegistry` reads that registry and its merge log.

A record keeps the customer_key the registry gave it; a new group takes
md5('core_banking/customers/' || its smallest customer_id); when groups holding several keys
become one customer the oldest key survives (earliest `key_created_on`, then the smallest
key) and the others are recorded in the merge log. A key claimed by several groups (a split)
stays with the group holding its smallest registered record.

The registry is written by the resolve step into the build being prepared and published with
it (`bankdw.publish`): see `models.identity.resolve`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extract.sql import DuckDBConfig

REGISTRY_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("customer_key", pa.string()), ("key_created_on", pa.date32())]
)
MERGE_SCHEMA = pa.schema(
    [
        ("retired_key", pa.string()),
        ("surviving_key", pa.string()),
        ("merged_on", pa.date32()),
        ("n_records_moved", pa.int64()),
    ]
)
REGISTRY_FILE = "customer_keys.parquet"
MERGES_FILE = "customer_key_merges.parquet"
KEY_PREFIX = "core_banking/customers/"


def new_key(customer_id: str) -> str:
    """The key a new customer takes: md5 of its smallest customer_id (as the first cut did)."""
    return hashlib.md5(f"{KEY_PREFIX}{customer_id}".encode()).hexdigest()


@dataclass(frozen=True)
class KeyAssignment:
    keys: pa.Table
    """customer_id -> customer_key, one row per record resolved."""
    registry: pa.Table
    """The registry to persist: every record ever keyed (records that left keep their key)."""
    merges: pa.Table
    """Merges found in this run (retired_key -> surviving_key)."""


def assign_keys(
    resolution: pa.Table,
    registry: pa.Table | None,
    as_of: date,
    duckdb_config: DuckDBConfig | None = None,
) -> KeyAssignment:
    """Stable customer keys for the groups of `resolution` (see the module's docstring).

    Deterministic: the same resolution and registry always give the same keys, whatever the
    order of the rows. `duckdb_config`: of the connection it joins in (IdentityConfig.duckdb_config).
    """
    registry = registry if registry is not None else REGISTRY_SCHEMA.empty_table()
    con = duckdb.connect(config=dict(duckdb_config or {}))
    try:
        con.register("resolution", resolution)
        con.register("registry", registry)
        # keys each group holds, the oldest first: that one survives
        claims = con.sql(
            """
            select r.group_id, g.customer_key, min(g.key_created_on) as key_created_on,
                   min(r.customer_id) as first_holder, count(*) as n_holders
            from resolution r join registry g using (customer_id)
            group by r.group_id, g.customer_key
            """
        ).to_arrow_table()
        con.register("claims", claims)
        # a key claimed by several groups (a group split) stays with the group holding its
        # smallest registered record; the other groups are new customers
        kept = con.sql(
            """
            select group_id, customer_key, key_created_on from claims
            qualify row_number() over (partition by customer_key order by first_holder) = 1
            """
        ).to_arrow_table()
        con.register("kept", kept)
        survivors = con.sql(
            """
            select group_id, customer_key, key_created_on from kept
            qualify row_number() over (partition by group_id order by key_created_on, customer_key) = 1
            """
        ).to_arrow_table()
        con.register("survivors", survivors)
        merges = con.sql(
            f"""
            select k.customer_key as retired_key, s.customer_key as surviving_key,
                   date '{as_of.isoformat()}' as merged_on,
                   (select count(*) from resolution r join registry g using (customer_id)
                    where r.group_id = k.group_id and g.customer_key = k.customer_key) as n_records_moved
            from kept k join survivors s using (group_id)
            where k.customer_key <> s.customer_key
            order by retired_key
            """
        ).to_arrow_table()
        groups = (
            con.sql(
                """
            select r.group_id, s.customer_key, s.key_created_on
            from (select distinct group_id from resolution) r left join survivors s using (group_id)
            order by r.group_id
            """
            )
            .to_arrow_table()
            .to_pydict()
        )
    finally:
        con.close()

    used = set(registry.column("customer_key").to_pylist())
    key_of: dict[str, tuple[str, date]] = {}
    rows = zip(groups["group_id"], groups["customer_key"], groups["key_created_on"], strict=True)
    for group_id, key, created in rows:
        if key is None:
            key, salt = new_key(group_id), 0
            while key in used:  # only after a split gave the anchor's key to another group
                salt += 1
                key = hashlib.md5(f"{KEY_PREFIX}{group_id}/{salt}".encode()).hexdigest()
            used.add(key)
            created = as_of
        key_of[group_id] = (key, created)

    group_ids = resolution.column("group_id").to_pylist()
    keys = pa.table(
        {
            "customer_id": resolution.column("customer_id"),
            "customer_key": pa.array([key_of[g][0] for g in group_ids], pa.string()),
            "key_created_on": pa.array([key_of[g][1] for g in group_ids], pa.date32()),
        },
        schema=REGISTRY_SCHEMA,
    )
    left = registry.filter(
        pc.invert(pc.is_in(registry.column("customer_id"), value_set=resolution.column("customer_id")))
    )
    return KeyAssignment(
        keys=keys,
        registry=pa.concat_tables([left, keys]).sort_by("customer_id"),
        merges=merges.cast(MERGE_SCHEMA),
    )


@dataclass(frozen=True)
class KeyRegistry:
    """The state of identity a resolution starts from: record -> key, and every merge ever found
    (the files of an identity directory; absent files: a first run)."""

    directory: Path

    def load(self) -> tuple[pa.Table | None, pa.Table]:
        registry_path, merges_path = self.directory / REGISTRY_FILE, self.directory / MERGES_FILE
        registry = pq.read_table(registry_path).cast(REGISTRY_SCHEMA) if registry_path.exists() else None
        merges = pq.read_table(merges_path).cast(MERGE_SCHEMA) if merges_path.exists() else MERGE_SCHEMA.empty_table()
        return registry, merges
