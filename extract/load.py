"""Loading deliveries: which are pending, staging them, and committing them to the lake.

`stage` verifies each pending delivery against its manifest and converts its files into
the load's staging area; a delivery that does not match is refused whole. The gates then
validate what was staged, and `commit` moves it into the lake. The CLI runs the three in
one process; the Airflow DAG runs them as separate tasks, passing only the load id.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extract.contract import FeedAgreement, FeedFile
from extract.convert import (
    DEFAULT_TYPE_DRIFT_SHARE,
    TYPED_ROWS,
    ConvertedFeed,
    FileRefused,
    convert_feed,
    read_header,
)
from extract.lake import AUDIT_SCHEMA, Lake, partition_name
from extract.landing import (
    Delivery,
    DeliveryRefused,
    Manifest,
    check_files_against_manifest,
    scan_landing,
    symbolic_links,
)
from extract.sql import DuckDBConfig
from extract.text import LandedRead, read_landed

log = logging.getLogger(__name__)

DEFAULT_BATCH_BYTES = 32_000_000
"""Most landed bytes of one feed file converted together (setting stage_batch_bytes). A batch's
converted rows pass through Arrow in this process, outside DuckDB's memory limit: at 100,000
customers an initial load of 20 days peaked at 8.0 GB in the stage with 256 MB, 2.8 GB with 32 MB,
1.6 GB one delivery at a time, in about the same time; a small bank's 360 deliveries stay under
20 ms of overhead each (docs/performance.md). A delivery larger than a batch is written as its
rows are fetched, a row group at a time, so that no delivery's size sets the peak."""


@dataclass
class FileLoad:
    """What one landed file contributed: the conservation law rows = loaded + quarantined."""

    system: str
    feed: str
    source_file: str
    business_date: date
    rows_delivered: int
    rows_loaded: int
    rows_quarantined: int
    sha256: str
    extra_columns: list[str] = field(default_factory=list)
    control_totals: dict[str, Decimal] = field(default_factory=dict)
    """What the manifest declared; the loaded rows add up to it (checked before staging)."""


@dataclass
class DeliveryOutcome:
    delivery: Delivery
    manifest_sha256: str
    started_at: datetime
    ended_at: datetime
    files: list[FileLoad] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.problems)


@dataclass
class LandingState:
    """Every delivery in the landing area, sorted by what the warehouse has done with it."""

    pending: list[Delivery]
    loaded: list[Delivery]
    refused: list[tuple[Delivery, str]]
    incomplete: list[Delivery]
    strays: list[str] = field(default_factory=list)
    """Entries of the landing area that are no delivery folder: reported, left alone."""


def landing_state(landing_dir: Path, lake: Lake, agreement: FeedAgreement) -> LandingState:
    """Pending = complete (manifest present) and not yet loaded or refused with this very manifest.

    A re-delivered date comes with a new manifest, so it is pending again and replaces the old load.
    """
    latest = _latest_outcomes(lake.audit_records())
    scan = scan_landing(landing_dir, agreement)
    state = LandingState([], [], [], [], scan.strays)
    for delivery in scan.deliveries:
        if not delivery.is_complete:
            state.incomplete.append(delivery)
            continue
        seen = latest.get((delivery.system, delivery.business_date))
        if seen is None or seen[0] != delivery.manifest_sha256():
            state.pending.append(delivery)
        elif seen[1] == "REFUSED":
            state.refused.append((delivery, seen[2]))
        else:
            state.loaded.append(delivery)
    return state


def _latest_outcomes(audit: pa.Table) -> dict[tuple[str, date], tuple[str, str, str]]:
    """(system, date) → (manifest sha256, outcome, message) of the most recent load."""
    latest: dict[tuple[str, date], tuple[str, str, str]] = {}
    if audit.num_rows == 0:
        return latest
    per_delivery = audit.group_by(["system", "business_date", "load_id"]).aggregate(
        [("manifest_sha256", "max"), ("outcome", "max"), ("message", "max")]
    )
    per_delivery = per_delivery.sort_by([("load_id", "ascending")])
    for row in per_delivery.to_pylist():  # one row per delivery load: metadata, not data rows
        latest[(row["system"], row["business_date"])] = (
            row["manifest_sha256_max"],
            row["outcome_max"],
            row["message_max"] or "",
        )
    return latest


IMPLAUSIBLE_DATE = "implausible business date"
"""Starts the refusal of a delivery dated too far after its system's last (`delivery_gap_days`)."""


def last_loaded_dates(audit: pa.Table) -> dict[str, date]:
    """The latest business date each system loaded, from the audit log."""
    last: dict[str, date] = {}
    for row in audit.select(["system", "business_date", "outcome"]).to_pylist():
        if row["outcome"] == "LOADED":
            last[row["system"]] = max(last.get(row["system"], row["business_date"]), row["business_date"])
    return last


def implausible_date(delivery: Delivery, last: Mapping[str, date], gap_days: int | None) -> str | None:
    """Why a delivery's date cannot be a business date that follows what `last` holds, or None.

    A system's date is judged against the last date that system loaded or delivered; a system
    that has loaded nothing yet (its first delivery) against the latest date of any system, so
    that a first folder dated 2062 beside deliveries of 2026 is refused too. With nothing loaded
    by any system there is no reference and every date is plausible."""
    if gap_days is None:
        return None
    own = last.get(delivery.system)
    reference = own if own is not None else max(last.values(), default=None)
    if reference is None or (delivery.business_date - reference).days <= gap_days:
        return None
    of_what = (
        f"the last date {delivery.system} loaded or delivered ({reference})"
        if own is not None
        else f"the latest date any system loaded or delivered ({reference}; {delivery.system} has none yet)"
    )
    return (
        f"{IMPLAUSIBLE_DATE}: {delivery.business_date} is {(delivery.business_date - reference).days} days after "
        f"{of_what}, more than delivery_gap_days ({gap_days}, BANKDW_DELIVERY_GAP_DAYS); left in landing, refused"
    )


def new_load_id(now: datetime | None = None) -> str:
    """Sortable and unique: the UTC start time to the microsecond."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def stage(
    deliveries: Iterable[Delivery],
    landing_dir: Path,
    lake: Lake,
    agreement: FeedAgreement,
    load_id: str,
    type_drift_share: float = DEFAULT_TYPE_DRIFT_SHARE,
    delivery_gap_days: int | None = None,
    duckdb_config: DuckDBConfig | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> list[DeliveryOutcome]:
    """Verify and convert each delivery into the load's staging area; refuse those that do not match,
    and (given `delivery_gap_days`) those dated implausibly far after their system's last date.

    One DuckDB connection (with `duckdb_config`: memory limit, spill folder) serves the call,
    and the deliveries of a feed file are converted together, one conversion per feed file
    (`_convert_batch`): converting each small delivery on its own cost a real bank's 1,362
    small deliveries far more than their rows did. A batch holds at most `batch_bytes` of landed
    files (setting `stage_batch_bytes`), so that a large initial load is not one conversion held
    at once; a delivery larger than that is converted on its own and its rows written as they are
    fetched, a row group at a time (`_stage_converted`). Each delivery keeps the outcome it would
    have on its own (`_convert_batch` says how); a delivery refused as implausibly dated has its
    staged partitions removed again."""
    staging = lake.staging(load_id)
    deliveries = sorted(deliveries, key=lambda d: d.business_date)
    last = last_loaded_dates(lake.audit_records()) if delivery_gap_days else {}
    t0 = time.monotonic()
    prepared = [_prepare(delivery, landing_dir, agreement) for delivery in deliveries]
    batches: dict[tuple[str, str], list[list[_Prepared]]] = {}
    sizes: dict[tuple[str, str], int] = {}
    for one in prepared:
        for feed_name, paths in one.paths.items():
            feed_key, size = (one.delivery.system, feed_name), _size(paths)
            parts = batches.setdefault(feed_key, [[]])
            if parts[-1] and sizes[feed_key] + size > batch_bytes:
                parts.append([])
                sizes[feed_key] = 0
            parts[-1].append(one)
            sizes[feed_key] = sizes.get(feed_key, 0) + size
    con = duckdb.connect(config=dict(duckdb_config or {}))
    folders = _Folders()
    writes = _Writes(folders)
    try:
        for (system, feed_name), parts in batches.items():
            for batch in parts:
                feed = agreement.file(system, feed_name)
                _convert_batch(con, writes, batch, feed, staging, load_id, type_drift_share, batch_bytes)
        writes.wait()  # every staged file written before a refused delivery's partitions are removed
    finally:
        writes.close()
        con.close()
    outcomes = []
    for number, one in enumerate(prepared, start=1):
        delivery, outcome = one.delivery, one.outcome
        too_far = implausible_date(delivery, last, delivery_gap_days)
        if too_far:
            now = datetime.now(UTC)
            outcome = DeliveryOutcome(delivery, outcome.manifest_sha256, now, now, problems=[too_far])
        else:
            for feed_name in one.paths:  # the delivery's feeds in the order of their files' names
                problems, files = one.results[feed_name]
                outcome.problems += problems
                outcome.files += files
        if outcome.refused:
            _unstage(staging, agreement, delivery)
            outcome.files = []
        else:
            _stage_empty_partitions(staging, agreement, delivery, folders)
            last[delivery.system] = max(last.get(delivery.system, delivery.business_date), delivery.business_date)
        if not too_far:
            outcome.ended_at = datetime.now(UTC)
        outcomes.append(outcome)
        rows = sum(f.rows_loaded for f in outcome.files)
        status = "REFUSED: " + "; ".join(outcome.problems) if outcome.refused else f"{rows:,} rows"
        log.info("[%d/%d] %s %s (%.1fs)", number, len(deliveries), delivery.label, status, time.monotonic() - t0)
    return outcomes


def _size(paths: list[Path]) -> int:
    try:
        return sum(p.stat().st_size for p in paths)
    except OSError:  # gone since it was checked: its conversion refuses it, naming the file
        return 0


@dataclass
class _Prepared:
    """A delivery checked against its manifest, with its files by feed, waiting for their conversion."""

    delivery: Delivery
    outcome: DeliveryOutcome
    relative_dir: str
    manifest: Manifest | None = None
    paths: dict[str, list[Path]] = field(default_factory=dict)
    """The delivery's files by feed, in the order of their names (none if refused already)."""
    results: dict[str, tuple[list[str], list[FileLoad]]] = field(default_factory=dict)
    """Per feed: the problems its conversion found and the files it staged."""
    reads: dict[Path, LandedRead] = field(default_factory=dict)
    """What the one read of each landed file of the agreement found (checksum, text, records)."""


def _prepare(delivery: Delivery, landing_dir: Path, agreement: FeedAgreement) -> _Prepared:
    """The checks of a delivery that need no conversion: links, manifest, file set and checksums."""
    started = datetime.now(UTC)
    outcome = DeliveryOutcome(delivery, delivery.manifest_sha256(), started, started)
    one = _Prepared(delivery, outcome, str(delivery.path.relative_to(landing_dir)))
    links = symbolic_links(delivery)
    if links:
        outcome.problems = links
        return one
    try:
        one.manifest = delivery.read_manifest()
    except DeliveryRefused as refused:
        outcome.problems = refused.problems
        return one

    def checksum(path: Path) -> str:
        """The file's SHA-256, from a read that also does its text checks and record count."""
        feed = agreement.feed_for(delivery.system, path.name)
        one.reads[path] = read_landed(path, csv_quoting=feed is not None and feed.format == "csv")
        return one.reads[path].sha256

    outcome.problems = check_files_against_manifest(delivery, one.manifest, agreement, checksum)
    if not outcome.problems:
        for name in sorted(one.manifest.files):
            feed = agreement.feed_for(delivery.system, name)
            assert feed is not None  # checked against the agreement above
            one.paths.setdefault(feed.name, []).append(delivery.path / name)
    return one


def _convert_batch(
    con: duckdb.DuckDBPyConnection,
    writes: _Writes,
    batch: list[_Prepared],
    feed: FeedFile,
    staging: Lake,
    load_id: str,
    type_drift_share: float,
    batch_bytes: int,
) -> None:
    """Convert feed file `feed` of every delivery in `batch` and stage each delivery's part.

    CSV files are batched by header (DuckDB's reader takes columns by position). If converting
    several deliveries together finds anything wrong (a refused file, a read error, a JSON key
    outside the agreement that some deliveries may lack), those deliveries are converted again
    one at a time, as before batching, so that each gets its own outcome and message and a
    broken delivery takes no other with it."""
    groups: dict[tuple[str, ...], list[_Prepared]] = {}
    for one in batch:
        paths = one.paths[feed.name]
        header: tuple[str, ...] = ()
        if feed.format == "csv":
            try:
                header = tuple(read_header(paths[0])) if len(paths) == 1 else ("", str(paths[0]))
            except (OSError, ValueError):  # not text: converted on its own, which refuses it by name
                header = ("", str(paths[0]))
        groups.setdefault(header, []).append(one)
    for group in groups.values():
        if len(group) > 1 and _stage_together(con, writes, group, feed, staging, load_id, type_drift_share):
            continue
        for one in group:
            paths = one.paths[feed.name]
            streamed = _size(paths) > batch_bytes
            one.results[feed.name] = _stage_converted(
                con, writes, one, feed, paths, staging, load_id, type_drift_share, streamed
            )


def _stage_together(
    con: duckdb.DuckDBPyConnection,
    writes: _Writes,
    group: list[_Prepared],
    feed: FeedFile,
    staging: Lake,
    load_id: str,
    type_drift_share: float,
) -> bool:
    """Convert the group's files of `feed` in one conversion and stage each delivery's part; False
    (nothing staged) if the conversion finds anything wrong."""
    # each delivery's files, keyed by their path in the landing area (unique across deliveries)
    owned = [(one, [f"{one.relative_dir}/{path.name}" for path in one.paths[feed.name]]) for one in group]
    paths = [path for one in group for path in one.paths[feed.name]]
    keys = [key for _, own in owned for key in own]
    try:
        reads = {path: read for one in group for path, read in one.reads.items()}
        converted = convert_feed(con, paths, feed, type_drift_share, keys, reads)
    except (FileRefused, duckdb.Error, OSError, ValueError) as failed:
        log.info("%s: %d deliveries together: %s; converted one by one", feed.qualified_name, len(group), failed)
        return False
    if converted.extra_columns and feed.format != "csv":
        return False
    # The valid rows in the order of their files' keys, and a delivery's keys are neighbours (one
    # folder): each delivery's rows are a slice of the rows fetched once for all of them.
    rows = con.sql(TYPED_ROWS).to_arrow_table()
    ranges = _key_ranges(rows["_file"])
    quarantine = converted.quarantine
    for one, own in owned:
        prefix = one.relative_dir + "/"
        part = ConvertedFeed(
            feed,
            {key.removeprefix(prefix): converted.files[key] for key in own},
            quarantine.filter(pc.is_in(quarantine["_file"], pa.array(own))),
            converted.extra_columns,
        )
        held = [ranges[key] for key in own if key in ranges]
        first, end = (min(r[0] for r in held), max(r[1] for r in held)) if held else (0, 0)
        own_rows = rows.slice(first, end - first)
        _check_slice(own_rows, own, part.rows_loaded)
        one.results[feed.name] = _stage_part(writes, one, part, own_rows, staging, load_id)
    writes.flush()
    return True


def _key_ranges(keys: pa.ChunkedArray) -> dict[str, tuple[int, int]]:
    """Each key's rows, [start, end), of a column sorted by key: its rows are neighbours, so the
    counts of the keys in the order they first appear add up to their ranges."""
    ranges, start = {}, 0
    for counted in pc.value_counts(keys).to_pylist():  # in the order the values first appear
        ranges[counted["values"]] = (start, start + counted["counts"])
        start += counted["counts"]
    return ranges


def _check_slice(rows: pa.Table, keys: list[str], rows_loaded: int) -> None:
    """A delivery's slice holds its rows and no other's: as many as the conversion counted for its
    files, the first and the last of them its own (the table is sorted by `_file`, so all between
    are too). Cheap, and a row staged in another delivery's file would be a silent loss."""
    ends = [rows["_file"][0].as_py(), rows["_file"][-1].as_py()] if rows.num_rows else []
    if rows.num_rows != rows_loaded or any(end not in keys for end in ends):
        raise RuntimeError(
            f"staging {', '.join(keys)}: the row range holds {rows.num_rows} rows of {sorted(set(ends))}, "
            f"the conversion counted {rows_loaded}: not staged (a fault of the extract, not of the delivery)"
        )


def _stage_converted(
    con: duckdb.DuckDBPyConnection,
    writes: _Writes,
    one: _Prepared,
    feed: FeedFile,
    paths: list[Path],
    staging: Lake,
    load_id: str,
    type_drift_share: float,
    streamed: bool,
) -> tuple[list[str], list[FileLoad]]:
    """Convert one delivery's files of `feed` and stage them: (problems, files staged).

    `streamed` (a delivery larger than a batch): its rows are written as they are fetched, a row
    group at a time, not fetched whole first. A whole fetch holds every converted row in Arrow in
    this process, outside DuckDB's memory limit, and the next conversion starts beside the write:
    a million-customer bank's day of account parties or web events (3 million rows) peaked a
    stage of two such days at 6.4 GB so, 4.5 GB streamed (docs/performance.md)."""
    try:
        converted = convert_feed(con, paths, feed, type_drift_share, reads=one.reads)
    except FileRefused as refused:
        return [str(refused)], []
    except (duckdb.Error, OSError, ValueError) as failed:
        # A read error no check above foresaw: it refuses this delivery, never the night.
        names = ", ".join(p.name for p in paths)
        return [f"{names}: could not be read ({type(failed).__name__}: {failed})"], []
    typed = con.sql(TYPED_ROWS)
    rows = typed.to_arrow_reader(STAGED_ROW_GROUP) if streamed else typed.to_arrow_table()
    staged = _stage_part(writes, one, converted, rows, staging, load_id, source_prefix=one.relative_dir + "/")
    writes.flush()
    return staged


class _Writes:
    """The staged Parquet files of a stage call, written by pyarrow, two at a time, while the next
    feed file converts.

    Not DuckDB's `COPY`: a `COPY` costs 5 to 9 ms on the test machine whatever its rows (the
    statement, the Parquet writer's set-up, the file), and the lake's layout asks one file per
    feed and delivery, four or five a delivery: the most of what a small delivery cost beyond
    its rows (docs/performance.md, "Many small deliveries"). pyarrow writes a small file in 1 to
    3 ms from rows already fetched (one fetch per conversion, sliced per delivery). Not DuckDB's
    partitioned `COPY` (one statement for all partitions): it does not keep the rows' order
    within a partition. Each file is written whole by one `pq.write_table` (which releases the
    GIL), so a file holds exactly the rows and order it was given."""

    WORKERS = 2

    def __init__(self, folders: _Folders) -> None:
        self.folders = folders
        self.pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="staged-files")
        self.pending: list[tuple[Path, pa.Table, str]] = []
        self.running: list[Future[None]] = []

    def add(self, path: Path, rows: pa.Table, compression: str) -> None:
        self.pending.append((path, rows, compression))

    def flush(self) -> None:
        """Start writing the files added since the last flush, once the previous flush's are
        written: at most one conversion's rows wait in memory beside the next conversion."""
        self.wait()
        pending, self.pending = self.pending, []
        self.running = [self.pool.submit(_write_files, pending[k :: self.WORKERS]) for k in range(self.WORKERS)]

    def wait(self) -> None:
        """Wait for every file started; a failed write raises here (the stage step fails, as a
        failed `COPY` made it fail; the staging area is the run's own, left for the next run to clear)."""
        running, self.running = self.running, []
        for write in running:
            write.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Folders:
    """The staging folders a stage call has made, each made once: a `mkdir` (with `parents`,
    `exist_ok`) per staged file and per feed of each delivery was about a second of a
    360-delivery run. (A delivery refused later has its folders removed; no other delivery of
    the call has the same system and date, so none asks for them again.)"""

    def __init__(self) -> None:
        self.made: set[Path] = set()

    def make(self, path: Path) -> None:
        if path not in self.made:
            path.mkdir(parents=True, exist_ok=True)
            self.made.add(path)


STAGED_ROW_GROUP = 122_880
"""Rows per Parquet row group of a staged file: DuckDB's own (its `COPY` wrote the files before),
so that readers split a large staged file as they did."""


_PARQUET_OPTIONS = {"store_decimal_as_integer": True}
"""How pyarrow writes a staged file: decimals as integers, as DuckDB writes them (readers of the
lake, Spark too, read both)."""


def _write_files(files: list[tuple[Path, pa.Table, str]]) -> None:
    for path, rows, compression in files:
        pq.write_table(rows, path, compression=compression, row_group_size=STAGED_ROW_GROUP, **_PARQUET_OPTIONS)


def _stage_part(
    writes: _Writes,
    one: _Prepared,
    converted: ConvertedFeed,
    rows: pa.Table | pa.RecordBatchReader,
    staging: Lake,
    load_id: str,
    source_prefix: str = "",
) -> tuple[list[str], list[FileLoad]]:
    """Check a delivery's converted files (`converted.files` by name) against its manifest and
    stage its `rows` (of view `typed`) by `writes`, or as they are read from a reader."""
    assert one.manifest is not None  # only a delivery that passed _prepare is converted
    problems = _compare_with_manifest(converted, one.manifest)
    if problems:
        return problems, []
    delivery = one.delivery
    started = one.outcome.started_at
    _write_staged(writes, converted, rows, source_prefix, staging, delivery.business_date, load_id, started)
    files = [
        FileLoad(
            delivery.system,
            converted.feed.name,
            f"{one.relative_dir}/{name}",
            delivery.business_date,
            counts.rows_delivered,
            counts.rows_loaded,
            counts.rows_quarantined,
            one.manifest.files[name].sha256,
            converted.extra_columns,
            dict(one.manifest.files[name].control_totals),
        )
        for name, counts in converted.files.items()
    ]
    return [], files


def _compare_with_manifest(converted: ConvertedFeed, manifest: Manifest) -> list[str]:
    problems = []
    for name, counts in converted.files.items():
        expected = manifest.files[name]
        if counts.rows_delivered != expected.rows:
            problems.append(f"{name}: {counts.rows_delivered} data rows, the manifest says {expected.rows}")
        for column in converted.feed.control_totals:
            if column not in expected.control_totals:
                problems.append(f"{name}: the manifest has no control total for {column}")
            elif counts.totals[column] != expected.control_totals[column]:
                problems.append(
                    f"{name}: control total of {column} is {counts.totals[column]:f}, the manifest says "
                    f"{expected.control_totals[column]} (rows that could not be read count for nothing)"
                )
    return problems


def _write_staged(
    writes: _Writes,
    converted: ConvertedFeed,
    rows: pa.Table | pa.RecordBatchReader,
    source_prefix: str,
    staging: Lake,
    business_date: date,
    load_id: str,
    loaded_at: datetime,
) -> None:
    """One Parquet file per feed and delivery (hour files together), lineage on every row: `rows`
    (of view `typed`, in `TYPED_ROWS` order: by `_file` and `_source_row`) and `converted.quarantine`;
    their `_source_file` is `source_prefix` followed by `_file`. A table of rows is written by
    `writes`; a reader's are written here, a batch at a time, each batch a row group.

    The columns are those the `COPY` before wrote: the feed's (and extra) columns, then
    `_load_id`, `_source_file`, `_source_row`, `_business_date`, `_loaded_at`, typed alike
    (tests/test_batch_staging.py compares their types too)."""
    feed = converted.feed
    part = partition_name(business_date)
    target = staging.feed_dir(feed) / part / f"{feed.name}.parquet"
    writes.folders.make(target.parent)

    def with_lineage(typed: pa.Table) -> pa.Table:
        staged = typed.drop_columns(["_file", "_source_row"])
        for name, column in _lineage(typed, source_prefix, load_id, business_date).items():
            staged = staged.append_column(name, column)
        at = pa.scalar(loaded_at, pa.timestamp("us", "UTC"))
        return staged.append_column("_loaded_at", pa.repeat(at, len(typed)))

    if isinstance(rows, pa.Table):
        writes.add(target, with_lineage(rows), "zstd")
    else:
        schema = with_lineage(rows.schema.empty_table()).schema  # (a delivery of no valid row: its columns)
        with pq.ParquetWriter(target, schema, compression="zstd", **_PARQUET_OPTIONS) as writer:
            for batch in rows:
                writer.write_table(with_lineage(pa.Table.from_batches([batch])), row_group_size=STAGED_ROW_GROUP)
    if converted.rows_quarantined:
        quarantine = converted.quarantine
        target = staging.quarantine_dir(feed) / part / f"{feed.name}.parquet"
        writes.folders.make(target.parent)
        lineage = _lineage(quarantine, source_prefix, load_id, business_date)
        staged = pa.table(
            {
                "_load_id": lineage["_load_id"],
                "_source_file": lineage["_source_file"],
                "_source_row": quarantine["_source_row"],
                "raw": quarantine["raw"],
                "reason": quarantine["reason"],
                "_business_date": lineage["_business_date"],
            }
        )
        writes.add(target, staged, "snappy")  # DuckDB's default, which the quarantine's `COPY` had


def _lineage(rows: pa.Table, source_prefix: str, load_id: str, business_date: date) -> dict[str, pa.ChunkedArray]:
    """`_load_id`, `_source_file` (`source_prefix` and `_file`), `_source_row` and `_business_date` of `rows`."""
    n = len(rows)
    source = rows["_file"]
    if source_prefix:
        source = pc.binary_join_element_wise(source_prefix, source, "")
    return {
        "_load_id": pa.chunked_array([pa.repeat(pa.scalar(load_id, pa.string()), n)]),
        "_source_file": source.cast(pa.string()),
        "_source_row": rows["_source_row"].cast(pa.int64()),
        "_business_date": pa.chunked_array([pa.repeat(pa.scalar(business_date, pa.date32()), n)]),
    }


def _stage_empty_partitions(staging: Lake, agreement: FeedAgreement, delivery: Delivery, folders: _Folders) -> None:
    """Stage a partition for every feed of the system, empty if the delivery lacked the file,
    so that committing replaces all of what the date loaded before (a re-delivery)."""
    part = partition_name(delivery.business_date)
    for feed in agreement.files_of(delivery.system):
        folders.make(staging.feed_dir(feed) / part)
        folders.make(staging.quarantine_dir(feed) / part)


def _unstage(staging: Lake, agreement: FeedAgreement, delivery: Delivery) -> None:
    part = partition_name(delivery.business_date)
    for feed in agreement.files_of(delivery.system):
        shutil.rmtree(staging.feed_dir(feed) / part, ignore_errors=True)
        shutil.rmtree(staging.quarantine_dir(feed) / part, ignore_errors=True)


def audit_table(load_id: str, outcomes: list[DeliveryOutcome]) -> pa.Table:
    """The audit rows of a load: one per landed file loaded, one per refused delivery."""
    rows = []
    for outcome in outcomes:
        common = {
            "load_id": load_id,
            "system": outcome.delivery.system,
            "business_date": outcome.delivery.business_date,
            "manifest_sha256": outcome.manifest_sha256,
            "started_at": outcome.started_at,
            "ended_at": outcome.ended_at,
        }
        if outcome.refused:
            rows.append(common | {"outcome": "REFUSED", "message": "; ".join(outcome.problems)})
            continue
        for f in outcome.files:
            message = f"extra column(s) kept: {', '.join(f.extra_columns)}" if f.extra_columns else None
            rows.append(
                common
                | {
                    "feed": f.feed,
                    "source_file": f.source_file,
                    "rows_delivered": f.rows_delivered,
                    "rows_loaded": f.rows_loaded,
                    "rows_quarantined": f.rows_quarantined,
                    "sha256": f.sha256,
                    "outcome": "LOADED",
                    "message": message,
                    "control_totals": json.dumps({c: str(v) for c, v in f.control_totals.items()}),
                }
            )
    return pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
