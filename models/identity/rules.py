"""Identity resolution of the core system's customer records: the rules, in order.

`resolve()` groups normalised core customer records (`models.identity.records`) into
customers, each record carrying the rule that placed it. docs/identity.md says the same for
stewards.

1. NATIONAL_ID: records of the same customer_type sharing a normalised national id.
2. NAME_BIRTH_PHONE / NAME_BIRTH_EMAIL: a record without national id joins the customer
   of a record with the same folded name and birth date AND the same E.164 phone (or
   e-mail). If those records belong to more than one customer it is AMBIGUOUS: it stays a
   customer of its own and is counted, never guessed.
3. PROBABILISTIC: a record without national id still alone after 1-2 is scored by splink
   (`models.identity.probabilistic`) against the records with the same type, name and birth
   date; it joins when the match probability reaches `match_threshold` AND some attribute
   besides name and birth date agrees.
4. OWN_RECORD: none of the above; a customer of its own.

Keys are not given here: `models.identity.keys` does that from the registry.
"""

from __future__ import annotations

import logging
import time

import duckdb
import numpy as np
import pyarrow as pa

from models.identity.graph import components
from models.identity.probabilistic import IdentityConfig, LinkageBackend, probabilistic_links

log = logging.getLogger(__name__)

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


def _edges(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[np.ndarray, np.ndarray]:
    rows = con.sql(sql).fetchnumpy()
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def resolve(
    con: duckdb.DuckDBPyConnection,
    records: pa.Table,
    config: IdentityConfig | None = None,
    backend: LinkageBackend | None = None,
) -> pa.Table:
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
        links, unsure = probabilistic_links(con, label, np.flatnonzero(alone), config, backend)
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
