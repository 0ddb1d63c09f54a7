"""Identity resolution of the core system's customer records, and their stable customer keys.

`resolve()` groups normalised core customer records (see `models.identity_normalise`) into
customers, each record carrying the rule that placed it; `assign_keys()` gives every group
its `customer_key` from the key registry of earlier runs; `run()` does both and persists the
registry. The dbt Python model `int_customer_identity` calls `run()` inside `dbt build`.

Why a dbt Python model and not a step of the pipeline before dbt: the records it reads
are dbt models (the normalised current state), its output is read by dbt models, and dbt
orders it between them; a pipeline step would need its own reading of the lake and its
own connection, and `dbt build` by hand would skip it.

Rules, in order (docs/identity.md says the same for stewards):

1. NATIONAL_ID: records of the same customer_type sharing a normalised national id.
2. NAME_BIRTH_PHONE / NAME_BIRTH_EMAIL: a record without national id joins the customer
   of a record with the same folded name and birth date AND the same E.164 phone (or
   e-mail). If those records belong to more than one customer it is AMBIGUOUS: it stays a
   customer of its own and is counted, never guessed.
3. PROBABILISTIC: a record without national id still alone after 1-2 is scored by splink
   (Fellegi-Sunter on DuckDB) against the records with the same type, name and birth date;
   it joins when the match probability reaches `match_threshold` AND some attribute besides
   name and birth date agrees (address, postal code, phone or e-mail): sharing a common
   name and birth date never merges two people. m-probabilities are learnt from the
   records the national id already links (a label column), u-probabilities by random
   sampling, so the model needs no hand-tuned weights.
4. OWN_RECORD: none of the above; a customer of its own.

Keys: a record keeps the customer_key the registry gave it; a new group takes
md5('core_banking/customers/' || its smallest customer_id); when groups holding several keys
become one customer the oldest key survives (earliest `key_created_on`, then the smallest
key) and the others are recorded in the merge log. The registry lives beside the lake
(`<lake>/_identity/`), because the warehouse file is rebuilt by every run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

RECORD_COLUMNS = (
    "customer_id",
    "customer_type",
    "national_id",
    "name_fold",
    "birth_date",
    "gender",
    "phone_e164",
    "email",
    "address_fold",
    "postal_code",
)
RESOLUTION_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("group_id", pa.string()),
        ("match_rule", pa.string()),
        ("matched_customer_id", pa.string()),
        ("match_probability", pa.float64()),
        ("n_candidates", pa.int64()),
    ]
)
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


@dataclass(frozen=True)
class IdentityConfig:
    """Settings of the probabilistic step (env BANKDW_IDENTITY_*, see bankdw/config.py)."""

    match_threshold: float = 0.99
    """splink match probability at or above which a record without national id joins."""
    min_training_pairs: int = 10
    """Record pairs linked by national id needed to train splink; fewer: the step is skipped."""
    probabilistic: bool = True


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of `n` nodes: the smallest node index of each node's component.

    Label propagation with pointer jumping on numpy arrays: a few passes for the star-shaped
    groups identity rules make, and no graph library needed (scipy is not a dependency).
    """
    label = np.arange(n)
    if len(left) == 0:
        return label
    while True:
        low = np.minimum(label[left], label[right])
        before = label.copy()
        np.minimum.at(label, left, low)
        np.minimum.at(label, right, low)
        label = label[label]
        if np.array_equal(label, before):
            return label


def _edges(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[np.ndarray, np.ndarray]:
    rows = con.sql(sql).fetchnumpy()
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def resolve(con: duckdb.DuckDBPyConnection, records: pa.Table, config: IdentityConfig | None = None) -> pa.Table:
    """One row per record of `records` (RECORD_COLUMNS, normalised): its group and rule.

    `group_id` is the smallest customer_id of the group (not the key: keys come from
    `assign_keys`); `matched_customer_id` the record it was matched to, for the steward.
    """
    config = config or IdentityConfig()
    began = time.perf_counter()
    con.register("identity_input", records)
    con.execute(
        """
        create or replace temp table identity_records as
        select row_number() over (order by customer_id) - 1 as idx, *,
               case when national_id is not null then
                   min(customer_id) over (partition by customer_type, national_id) end as nid_anchor
        from identity_input
        """
    )
    con.unregister("identity_input")
    n = con.sql("select count(*) from identity_records").fetchone()[0]  # type: ignore[index]
    ids = con.sql("select customer_id from identity_records order by idx").fetchnumpy()["customer_id"]
    ids = np.asarray(ids, dtype=object)

    # 1. national id: each record to its group's anchor
    a1, b1 = _edges(
        con,
        """select r.idx as a, anchor.idx as b from identity_records r
           join identity_records anchor on anchor.customer_id = r.nid_anchor
           where r.national_id is not null and r.customer_id <> r.nid_anchor""",
    )
    # 2. no national id: same name + birth date + phone or e-mail; the candidates' customer
    # is their national-id anchor (records without one stand for themselves).
    con.execute(
        """
        create or replace temp table identity_candidates as
        select r.idx, c.idx as c_idx, c.customer_id as c_id, c.nid_anchor as c_anchor,
               r.phone_e164 = c.phone_e164 as by_phone
        from identity_records r
        join identity_records c
          on c.customer_type = r.customer_type and c.name_fold = r.name_fold and c.birth_date = r.birth_date
         and c.idx <> r.idx
         and (c.phone_e164 = r.phone_e164 or c.email = r.email)
        where r.national_id is null and r.name_fold is not null and r.birth_date is not null
        """
    )
    # the customers a record may join are the national-id groups among its candidates; other
    # records without national id are joined too (they are the same person or nobody's)
    con.execute(
        """
        create or replace temp table identity_deterministic as
        select idx, count(distinct c_anchor) as n_targets,
               arg_min(c_idx, (c_anchor is null, not coalesce(by_phone, false), c_id)) as c_idx,
               arg_min(coalesce(by_phone, false), (c_anchor is null, not coalesce(by_phone, false), c_id)) as by_phone
        from identity_candidates group by idx
        """
    )
    a2, b2 = _edges(con, "select idx as a, c_idx as b from identity_deterministic where n_targets <= 1")
    # A chain through records without national id must not join two national ids: if it
    # does, the records without one in that component are ambiguous and keep to themselves.
    ambiguous = set(con.sql("select idx from identity_deterministic where n_targets > 1").fetchnumpy()["idx"].tolist())
    label = components(n, np.concatenate([a1, a2]), np.concatenate([b1, b2]))
    conflicted = _components_with_two_national_ids(con, label)
    if conflicted.size:
        in_conflict = np.isin(label[a2], conflicted)
        ambiguous |= set(a2[in_conflict].tolist())
        a2, b2 = a2[~in_conflict], b2[~in_conflict]
        label = components(n, np.concatenate([a1, a2]), np.concatenate([b1, b2]))

    rule = np.full(n, "OWN_RECORD", dtype=object)
    matched = np.full(n, None, dtype=object)
    probability = np.full(n, np.nan)
    n_candidates = np.zeros(n, np.int64)
    det = con.sql("select idx, c_idx, by_phone, n_targets from identity_deterministic order by idx").fetchnumpy()
    n_candidates[det["idx"]] = det["n_targets"]
    has_nid = con.sql("select national_id is not null as f from identity_records order by idx").fetchnumpy()["f"]
    rule[np.asarray(has_nid, bool)] = "NATIONAL_ID"
    joined = np.isin(det["idx"], a2)
    rule[det["idx"][joined]] = np.where(det["by_phone"][joined], "NAME_BIRTH_PHONE", "NAME_BIRTH_EMAIL")
    matched[det["idx"][joined]] = ids[det["c_idx"][joined]]
    rule[list(ambiguous)] = "OWN_RECORD_AMBIGUOUS"
    anchors = con.sql(
        "select r.idx, a.idx as anchor from identity_records r join identity_records a on a.customer_id = r.nid_anchor"
    ).fetchnumpy()
    matched[anchors["idx"]] = ids[anchors["anchor"]]
    matched[matched == ids] = None

    # 3. splink for records without national id still alone (and not ambiguous)
    if config.probabilistic:
        sizes = np.bincount(label, minlength=n)
        alone = (sizes[label] == 1) & (rule == "OWN_RECORD")
        links, unsure = _probabilistic_links(con, label, np.flatnonzero(alone), config)
        a3, b3 = links["idx"], links["c_idx"]
        if len(a3):
            label = components(n, np.concatenate([a1, a2, a3]), np.concatenate([b1, b2, b3]))
            rule[a3] = "PROBABILISTIC"
            matched[a3] = ids[b3]
            probability[a3] = links["match_probability"]
        rule[unsure] = "OWN_RECORD_AMBIGUOUS"
        n_candidates[unsure] = links["n_unsure_targets"]

    group = ids[label]
    # group ids are the smallest customer_id of the group: label is the smallest index, and
    # indexes follow customer_id order
    con.execute("drop table if exists identity_candidates")
    con.execute("drop table if exists identity_deterministic")
    log.info(
        "identity: %d records into %d groups (%s) in %.1fs",
        n,
        len(np.unique(label)),
        ", ".join(f"{r} {c}" for r, c in zip(*np.unique(rule.astype(str), return_counts=True), strict=True)),
        time.perf_counter() - began,
    )
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "group_id": pa.array(group, pa.string()),
            "match_rule": pa.array(rule, pa.string()),
            "matched_customer_id": pa.array(matched, pa.string()),
            "match_probability": pa.array(probability, pa.float64(), mask=np.isnan(probability)),
            "n_candidates": pa.array(n_candidates, pa.int64()),
        },
        schema=RESOLUTION_SCHEMA,
    )


def _components_with_two_national_ids(con: duckdb.DuckDBPyConnection, label: np.ndarray) -> np.ndarray:
    con.register("identity_labels", pa.table({"idx": np.arange(len(label)), "label": label}))
    try:
        rows = con.sql(
            """select l.label from identity_labels l join identity_records r using (idx)
               where r.national_id is not null group by l.label having count(distinct r.national_id) > 1"""
        ).fetchnumpy()
    finally:
        con.unregister("identity_labels")
    return np.asarray(rows["label"], np.int64)


def _probabilistic_links(
    con: duckdb.DuckDBPyConnection, label: np.ndarray, alone: np.ndarray, config: IdentityConfig
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """splink links of the records at `alone` to other groups: (links, ambiguous record indexes).

    A link needs match probability >= threshold, a further agreeing attribute besides name and
    birth date, and no second national id; a record whose links reach two groups is ambiguous.
    """
    empty = {k: np.array([], np.int64) for k in ("idx", "c_idx", "n_unsure_targets")}
    empty["match_probability"] = np.array([], np.float64)
    if len(alone) == 0:
        return empty, np.array([], np.int64)
    labelled_pairs = con.sql(
        """select coalesce(sum(n * (n - 1) / 2), 0) from
           (select count(*) as n from identity_records where national_id is not null
            group by customer_type, national_id)"""
    ).fetchone()[0]  # type: ignore[index]
    if labelled_pairs < config.min_training_pairs:
        log.info("identity: splink skipped, %d record pairs linked by national id to learn from", labelled_pairs)
        return empty, np.array([], np.int64)

    # imported here: splink is heavy to import and only this step needs it
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    began = time.perf_counter()
    data = con.sql(
        f"""select idx, {", ".join(c for c in RECORD_COLUMNS if c != "birth_date")},
                   cast(birth_date as varchar) as birth_date
            from identity_records"""
    ).to_arrow_table()
    splink_con = duckdb.connect()
    try:
        db_api = DuckDBAPI(splink_con)
        frame = db_api.register(data, table_name="identity_splink_input")
        n = data.num_rows
        settings = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="idx",
            comparisons=[
                cl.ExactMatch("name_fold"),
                cl.ExactMatch("birth_date"),
                cl.ExactMatch("gender"),
                cl.ExactMatch("address_fold"),
                cl.ExactMatch("postal_code"),
                cl.ExactMatch("phone_e164"),
                cl.ExactMatch("email"),
            ],
            # candidates share type, name and birth date: the only pairs this step may link
            blocking_rules_to_generate_predictions=[block_on("customer_type", "name_fold", "birth_date")],
            # prior: the pairs the national id links, over all pairs (at least one in a million)
            probability_two_random_records_match=max(float(labelled_pairs) / max(n * (n - 1) / 2, 1), 1e-6),
        )
        linker = Linker(frame, settings, log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_m_from_label_column("national_id")
        predictions = linker.inference.predict(threshold_match_probability=0.0).as_pyarrow_table()
    finally:
        splink_con.close()
    con.register("identity_predictions", predictions)
    con.register("identity_alone", pa.table({"idx": alone}))
    con.register("identity_labels", pa.table({"idx": np.arange(len(label)), "label": label}))
    try:
        rows = con.sql(
            f"""
            with pairs as (
                select idx_l as a, idx_r as b, match_probability from identity_predictions
                union all
                select idx_r as a, idx_l as b, match_probability from identity_predictions
            ),
            candidates as (
                select pairs.a as idx, pairs.b as c_idx, pairs.match_probability, lb.label as target,
                       exists (select 1 from identity_alone ab where ab.idx = pairs.b) as target_alone
                from pairs
                join identity_alone al on al.idx = pairs.a
                join identity_records ra on ra.idx = pairs.a
                join identity_records rb on rb.idx = pairs.b
                join identity_labels lb on lb.idx = pairs.b
                where pairs.match_probability >= {config.match_threshold}
                  and (ra.address_fold = rb.address_fold or ra.postal_code = rb.postal_code
                       or ra.phone_e164 = rb.phone_e164 or ra.email = rb.email)
            ),
            -- the customers a record may join are the groups that are not lone records like
            -- itself; other lone records are joined too (the same person, or nobody's)
            per_record as (
                select idx,
                       greatest(count(distinct target) filter (where not target_alone), 1) as n_targets,
                       arg_max(c_idx, (not target_alone, match_probability, -c_idx)) as c_idx,
                       arg_max(match_probability, (not target_alone, match_probability, -c_idx))
                           as match_probability
                from candidates group by idx
            )
            select * from per_record order by idx
            """
        ).fetchnumpy()
    finally:
        for name in ("identity_predictions", "identity_alone", "identity_labels"):
            con.unregister(name)
    sure = rows["n_targets"] == 1
    links = {
        "idx": np.asarray(rows["idx"][sure], np.int64),
        "c_idx": np.asarray(rows["c_idx"][sure], np.int64),
        "match_probability": np.asarray(rows["match_probability"][sure], np.float64),
        "n_unsure_targets": np.asarray(rows["n_targets"][~sure], np.int64),
    }
    log.info(
        "identity: splink scored %d pairs, %d records linked, %d ambiguous in %.1fs",
        predictions.num_rows,
        int(sure.sum()),
        int((~sure).sum()),
        time.perf_counter() - began,
    )
    return links, np.asarray(rows["idx"][~sure], np.int64)


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


def assign_keys(resolution: pa.Table, registry: pa.Table | None, as_of: date) -> KeyAssignment:
    """Stable customer keys for the groups of `resolution` (see the module's docstring).

    Deterministic: the same resolution and registry always give the same keys, whatever the
    order of the rows.
    """
    registry = registry if registry is not None else REGISTRY_SCHEMA.empty_table()
    con = duckdb.connect()
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
    """The persisted state of identity: record -> key, and every merge ever found."""

    directory: Path

    def load(self) -> tuple[pa.Table | None, pa.Table]:
        registry_path, merges_path = self.directory / REGISTRY_FILE, self.directory / MERGES_FILE
        registry = pq.read_table(registry_path).cast(REGISTRY_SCHEMA) if registry_path.exists() else None
        merges = pq.read_table(merges_path).cast(MERGE_SCHEMA) if merges_path.exists() else MERGE_SCHEMA.empty_table()
        return registry, merges

    def save(self, registry: pa.Table, merges: pa.Table) -> None:
        """Write both files atomically (a crash leaves the previous state, never half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, table in ((REGISTRY_FILE, registry), (MERGES_FILE, merges)):
            partial = self.directory / f".{name}.tmp"
            pq.write_table(table, partial)
            partial.replace(self.directory / name)


def run(
    records: pa.Table, state_dir: Path, as_of: date, config: IdentityConfig | None = None
) -> tuple[pa.Table, pa.Table]:
    """Resolve `records`, key them from the registry in `state_dir`, persist it.

    Returns (one row per record: resolution + customer_key, the whole merge log).
    """
    con = duckdb.connect()
    try:
        resolution = resolve(con, records.select(list(RECORD_COLUMNS)), config)
    finally:
        con.close()
    store = KeyRegistry(state_dir)
    registry, merge_log = store.load()
    assigned = assign_keys(resolution, registry, as_of)
    merge_log = pa.concat_tables([merge_log, assigned.merges])
    store.save(assigned.registry, merge_log)
    if assigned.merges.num_rows:
        log.info("identity: %d customers merged into others this run", assigned.merges.num_rows)
    keyed = resolution.append_column("customer_key", assigned.keys.column("customer_key")).append_column(
        "key_created_on", assigned.keys.column("key_created_on")
    )
    return keyed, merge_log
