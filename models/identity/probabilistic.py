"""Rule 3 of identity resolution: splink (Fellegi-Sunter) scores the records without national
id that the deterministic rules left alone against the records with the same type, name and
birth date.

A record joins when the match probability reaches `match_threshold` AND some attribute
besides name and birth date agrees (address, postal code, phone or e-mail): sharing a common
name and birth date never merges two people. m-probabilities are learnt from the records the
national id already links (a label column), u-probabilities by random sampling, so the model
needs no hand-tuned weights.

Where splink computes is a `LinkageBackend`, chosen by the setting engine (`backend_for`):
DuckDB (`DuckDBBackend`, splink's DuckDBAPI on a connection of its own) or Spark
(`SparkBackend`, splink's SparkAPI on a Spark session). Either is given the same records as
its input frame; the model, its training, the threshold and the rules around it are the same
code, so both engines link the same records (tests/test_spark.py proves it on the shared bank).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from extract.sql import DuckDBConfig
from models.identity.records import RECORD_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentityConfig:
    """Settings of the probabilistic step (env BANKDW_IDENTITY_*, see bankdw/config.py)."""

    match_threshold: float = 0.99
    """splink match probability at or above which a record without national id joins."""
    min_training_pairs: int = 10
    """Record pairs linked by national id needed to train splink; fewer: the step is skipped."""
    probabilistic: bool = True
    duckdb_config: DuckDBConfig = field(default_factory=dict)
    """The `config` of the step's DuckDB connections: the installation's memory limit and where
    they spill (settings duckdb_memory_limit, duckdb_temp_dir); DuckDB's defaults when empty."""


class LinkageBackend(Protocol):
    """Where splink runs. `input_frame` gives splink the records (an `idx` column, RECORD_COLUMNS
    with birth_date as text) as its input frame, registered on the backend's database API and
    usable inside the context; `Linker(frame, settings)` trains and predicts on that backend."""

    def input_frame(self, records: pa.Table) -> AbstractContextManager[Any]: ...


class DuckDBBackend:
    """splink on an in-memory DuckDB connection of its own (`config`: IdentityConfig.duckdb_config),
    closed when the step is done."""

    def __init__(self, config: DuckDBConfig | None = None) -> None:
        self.config = dict(config or {})

    @contextmanager
    def input_frame(self, records: pa.Table) -> Iterator[Any]:
        from splink import DuckDBAPI  # imported here: splink is heavy to import and only rule 3 needs it

        con = duckdb.connect(config=self.config)
        try:
            yield DuckDBAPI(con).register(records, table_name="identity_splink_input")
        finally:
            con.close()


class SparkBackend:
    """splink on a Spark session (splink's SparkAPI): scoring the candidate pairs, the step's one
    part that grows faster than the records, runs where the bank's Spark runs.

    The session is the caller's (the one dbt-spark opened), or, when none is given, the one this
    process holds or the environment configures, taken only when splink runs (a night whose
    records give splink nothing to learn from starts no JVM). splink's tables are persisted
    (memory, then disk) rather than written to a checkpoint directory (splink's default off
    Databricks): they are one night's candidate pairs, read back within the step, and a local
    session has no shared storage to configure for them.
    Only exact comparisons are used, so splink's Scala similarity functions (its jar) are not needed.
    """

    TABLE = "identity_splink_input"

    def __init__(self, spark: SparkSession | None = None) -> None:
        self.spark = spark

    @contextmanager
    def input_frame(self, records: pa.Table) -> Iterator[Any]:
        # imported here: splink is heavy to import and only rule 3 needs it; pyspark only the Spark engine
        from pyspark.sql import SparkSession
        from splink import SparkAPI

        # the session this process holds (dbt-spark's), else the one the environment configures
        # (SPARK_CONF_DIR/spark-defaults.conf, spark.master; a local one by default)
        spark = self.spark or SparkSession.builder.getOrCreate()
        api = SparkAPI(spark_session=spark, break_lineage_method="persist", register_udfs_automatically=False)
        try:
            yield api.register(records, table_name=self.TABLE)
        finally:
            spark.catalog.dropTempView(self.TABLE)


def backend_for(engine: str, config: IdentityConfig | None = None) -> LinkageBackend:
    """The backend of the setting engine: splink on DuckDB in this process (with `config`'s
    DuckDB settings), or on Spark."""
    return SparkBackend() if engine == "spark" else DuckDBBackend(config.duckdb_config if config else None)


def probabilistic_links(
    con: duckdb.DuckDBPyConnection,
    label: np.ndarray,
    alone: np.ndarray,
    config: IdentityConfig,
    backend: LinkageBackend | None = None,
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
    from splink import Linker, SettingsCreator, block_on

    began = time.perf_counter()
    data = con.sql(
        f"""select idx, {", ".join(c for c in RECORD_COLUMNS if c != "birth_date")},
                   cast(birth_date as varchar) as birth_date
            from identity_records"""
    ).to_arrow_table()
    with (backend or DuckDBBackend(config.duckdb_config)).input_frame(data) as frame:
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
        # Every sampled pair counted in one pass (num_chunks=1). splink splits the sample into
        # chunks (and a probe) so that it can stop once each level has enough pairs; which pairs
        # a chunk holds is decided by a hash of the record ids, which each engine computes
        # differently, so stopping early made DuckDB and Spark learn from different pairs. A
        # million pairs is one cheap pass on either engine, and on Spark each chunk was a round
        # of small jobs: 81 s of u estimation on 123 records, 26 s in one pass.
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1, num_chunks=1)
        linker.training.estimate_m_from_label_column("national_id")
        predictions = linker.inference.predict(threshold_match_probability=0.0).as_pyarrow_table()
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
