"""The nightly job, as steps: stage → gate → commit → resolve → build → warehouse_gate → publish.

Each step takes the settings and a run id and keeps what it learned in the run's report
(`<data>/runs/<run_id>.json`), so the steps can run in one process (`bankdw run`) or as
separate Airflow tasks that pass each other nothing but the run id.
"""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from bankdw.access import private_files
from bankdw.config import Settings
from bankdw.dbt_session import dbt_session
from bankdw.publish import (
    Version,
    VersionChanged,
    copy_published_state,
    publish_version,
    published_identity_dir,
)
from bankdw.publish import rollback as roll_back
from bankdw.reporting import progress
from bankdw.reporting.run_page import write_run_page
from bankdw.reporting.run_report import RunReport
from bankdw.scores import archive_tonight, start_archive
from bankdw.spark_tables import append_file
from bankdw.warehouse import (
    PORTABLE_TAG,
    BuildFailed,
    build,
    build_path,
    discard_builds,
    identity_build_path,
    published_lake_version,
    require_pipeline_engine,
    run_tests,
)
from expectations.history import (
    MEASURED_ON_SPARK,
    WarehouseBuild,
    checks_path,
    ensure_checks_schema,
    record_warehouse_tests,
)
from expectations.results import CheckResult
from extract.contract import FeedAgreement, load_agreement
from extract.lake import STAGED_AUDIT, Lake, write_atomically
from extract.landing import Delivery
from extract.load import (
    IMPLAUSIBLE_DATE,
    DeliveryOutcome,
    LandingState,
    audit_table,
    landing_state,
    new_load_id,
    stage,
)
from models.churn.store import resolve_version
from models.identity.probabilistic import backend_for
from models.identity.resolve import resolve_lake
from models.runs import ensure_model_runs_schema

log = logging.getLogger(__name__)


NO_CHURN_MODEL = "no churn model trained: scoring skipped (bankdw models train churn --cutoff DATE)"
"""The run summary's note on a night built without a churn model: fct_churn_scores gets no rows."""
NO_CLV_MODEL = "no lifetime value model trained: scoring skipped (bankdw models train clv --cutoff DATE)"
"""The run summary's note on a night built without a lifetime value model: fct_customer_lifetime_value gets no rows."""
NO_RESPONSE_MODEL = "no campaign response model trained: scoring skipped (bankdw models train response --cutoff DATE)"
"""The run summary's note on a night built without a response model: fct_campaign_propensity gets no rows."""


class GateFailed(Exception):
    """A blocking expectation failed: nothing of this run enters the lake or the warehouse."""


class RunInProgress(Exception):
    """Another process is running a step on the same data directory."""


_held_locks: dict[Path, int] = {}


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """Hold `<data>/.run.lock` while a run or a step works, so that two runs (a scheduled one
    and one started by hand, say) never stage, commit or build over each other. Re-entrant
    within a process: `run` holds it around the steps, which take it again."""
    path = settings.root / ".run.lock"
    if _held_locks.get(path):
        _held_locks[path] += 1
        try:
            yield
        finally:
            _held_locks[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise RunInProgress(f"another run is working on {settings.root} ({handle.read().strip()})") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        _held_locks[path] = 1
        try:
            with private_files(settings):  # what a run writes is the bank's: owner (or data_group) only
                yield
        finally:
            _held_locks.pop(path, None)
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class DateSelection:
    """Which business dates a run loads (both ends inclusive; None: every pending date)."""

    first: date | None = None
    last: date | None = None

    def covers(self, business_date: date) -> bool:
        return (self.first is None or business_date >= self.first) and (self.last is None or business_date <= self.last)


class _Step:
    """Times a step into the report and marks the run FAILED if the step raises."""

    def __init__(self, settings: Settings, report: RunReport, name: str) -> None:
        self.settings, self.report, self.name = settings, report, name

    def __enter__(self) -> _Step:
        self.lock = run_lock(self.settings)
        self.lock.__enter__()
        self.t0 = time.monotonic()
        self.report.step = self.name
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.report.step_seconds[self.name] = round(time.monotonic() - self.t0, 2)
        self.report.seconds = round(sum(self.report.step_seconds.values()), 2)
        if exc is not None:
            self.report.outcome = "FAILED"
            if not self.report.failures:
                self.report.failures.append(f"{self.name}: {exc}")
        self.report.save(self.settings)
        write_run_page(self.settings, self.report)
        self.lock.__exit__(exc_type, exc, tb)
        progress.step_done(self.report, self.name, exc is None)


def _lake(settings: Settings) -> Lake:
    return Lake(settings.lake_dir)


def stage_step(
    settings: Settings,
    selection: DateSelection | None = None,
    agreement: FeedAgreement | None = None,
    run_id: str | None = None,
) -> RunReport:
    """Find pending deliveries, verify them against their manifests and convert them to staging."""
    agreement = agreement or load_agreement()
    run_id = run_id or new_load_id()
    report = RunReport(run_id=run_id, started_at=datetime.now(UTC).isoformat())
    lake = _lake(settings)
    with _Step(settings, report, "stage"):
        for abandoned in lake.clean_abandoned(keep=run_id):
            log.warning("removed the staging area of an interrupted run: %s", abandoned)
        lake.ensure_schemas(agreement)
        state = landing_state(settings.landing_dir, lake, agreement)
        selection = selection or DateSelection()
        pending = [d for d in state.pending if selection.covers(d.business_date)]
        report.deliveries_waiting = [d.label for d in state.incomplete if selection.covers(d.business_date)]
        report.warnings += [f"landing {stray}" for stray in state.strays]
        report.business_date = str(selection.last or _latest_delivered(state) or "") or None
        log.info(
            "%d deliveries pending, %d already loaded, %d refused earlier, %d waiting for a manifest",
            len(pending),
            len(state.loaded),
            len(state.refused),
            len(state.incomplete),
        )
        outcomes = stage(
            pending,
            settings.landing_dir,
            lake,
            agreement,
            run_id,
            settings.type_drift_share,
            settings.delivery_gap_days,
            settings.duckdb_config(),
            settings.stage_batch_bytes,
        )
        report.record_outcomes(outcomes)
        if not selection.last and any(o.problems[:1] and o.problems[0].startswith(IMPLAUSIBLE_DATE) for o in outcomes):
            report.business_date = str(_latest_delivered(state, outcomes) or "") or None
        if outcomes:
            staging = lake.staging(run_id).root
            staging.mkdir(parents=True, exist_ok=True)
            write_atomically(audit_table(run_id, outcomes), staging / STAGED_AUDIT)
    return report


def _latest_delivered(state: LandingState, outcomes: list[DeliveryOutcome] | None = None) -> date | None:
    """Without a date given, a run's business date is the latest any system delivered (complete),
    but for deliveries refused as dated implausibly far ahead (now or earlier: `IMPLAUSIBLE_DATE`)."""
    implausible = {o.delivery for o in outcomes or [] if o.problems[:1] and o.problems[0].startswith(IMPLAUSIBLE_DATE)}
    implausible |= {d for d, message in state.refused if message.startswith(IMPLAUSIBLE_DATE)}
    delivered = [*state.pending, *state.loaded, *(r[0] for r in state.refused)]
    return max((d.business_date for d in delivered if d not in implausible), default=None)


def gate_step(settings: Settings, run_id: str, agreement: FeedAgreement | None = None) -> RunReport:
    """Validate the staged batches with the Great Expectations suites and the bank rules, and judge
    each system's freshness.

    A blocking failure holds back what it concerns (gates.toml, `blocking_holds`): by default the
    deliveries of its system from the first failing date on, which stay pending; the gates then
    run again on what is left, since the other systems' checks may have leant on what was held
    (a call's customer delivered in a held core file), until nothing more fails. With
    `blocking_holds = "run"`, or a failure no system can be named for, nothing of the run loads.
    """
    from expectations.batches import StagedBatches
    from expectations.config import load_gates_config
    from expectations.history import feed_gates

    agreement = agreement or load_agreement()
    report = RunReport.load(settings, run_id)
    with _Step(settings, report, "gate"):
        hold_systems = load_gates_config(settings.gates_config).blocking_holds == "system"
        as_of = date.fromisoformat(report.business_date) if report.business_date else None
        held: list[CheckResult] = []
        while True:
            gates = feed_gates(
                _lake(settings),
                settings.landing_dir,
                settings.gates_config,
                settings.runs_dir / run_id,
                run_id,
                agreement,
                StagedBatches(_lake(settings), run_id, agreement, settings.duckdb_config()),
                as_of,
                settings.reporting_currency,
                held,
                settings.duckdb_config(),
                settings.gate_slice_rows,
            )
            failing = [check for check in gates.blocking_failures if check not in held]
            if not hold_systems or not failing or not _hold_back(settings, run_id, report, failing, agreement):
                break
            held += failing
        report.checks_passed += len(gates.passed)
        report.checks_warned += len(gates.warnings)
        report.checks_failed += len(gates.blocking_failures)
        report.warnings += [check.summary_line() for check in gates.warnings]
        unplaced = [check for check in gates.blocking_failures if _system_of(check, agreement) is None]
        if gates.blocking_failures and (not hold_systems or unplaced):
            report.failures = [check.summary_line() for check in gates.blocking_failures]
            _lake(settings).discard(run_id)
            raise GateFailed(f"{len(gates.blocking_failures)} blocking expectation(s) failed")
        for check in gates.blocking_failures:
            report.systems_blocked.setdefault(str(_system_of(check, agreement)), []).append(check.summary_line())
    return report


def _system_of(check: CheckResult, agreement: FeedAgreement) -> str | None:
    """The source system a check judged (its feed is `<system>.<file>`, or the system itself)."""
    system = check.feed.split(".")[0]
    return system if system in agreement.systems else None


_DELIVERY_FOLDER = re.compile(r"^([a-z_]+)/(\d{4}-\d{2}-\d{2})/")


def _failing_dates(check: CheckResult) -> set[date]:
    """The business dates a failing check's examples name (by their source file, or by date)."""
    dates = set()
    for example in check.examples:
        found = _DELIVERY_FOLDER.match(str(example.get("_source_file") or ""))
        if found:
            dates.add(date.fromisoformat(found.group(2)))
        elif isinstance(example.get("business_date"), date):
            dates.add(example["business_date"])
    return dates


def _hold_back(
    settings: Settings, run_id: str, report: RunReport, failing: list[CheckResult], agreement: FeedAgreement
) -> bool:
    """Take the deliveries the failing checks concern out of the run's staged load: each check's
    system from the earliest date its examples name (its later dates wait in order), or every
    staged date of the system when the examples name none. Returns whether anything was held."""
    lake = _lake(settings)
    audit = pq.read_table(lake.staging(run_id).root / STAGED_AUDIT).to_pylist()
    staged = sorted({(r["system"], r["business_date"]) for r in audit if r["outcome"] == "LOADED"})
    reasons: dict[tuple[str, date], list[str]] = {}
    for check in failing:
        system = _system_of(check, agreement)
        dates = [d for s, d in staged if s == system]
        if not dates:
            continue
        named = [d for d in _failing_dates(check) if d in dates]
        for day in dates:
            if day >= min(named, default=dates[0]):
                reasons.setdefault((str(system), day), []).append(check.summary_line())
    for (system, day), checks in sorted(reasons.items()):
        report.hold(f"{system}/{day.isoformat()}", checks, lake.withhold(run_id, system, day))
        log.info("held back %s/%s: %s", system, day, checks[0])
    return bool(reasons)


def commit_step(settings: Settings, run_id: str) -> RunReport:
    """Move the staged, gated partitions into the lake and record the load in the audit log."""
    report = RunReport.load(settings, run_id)
    lake = _lake(settings)
    with _Step(settings, report, "commit"):
        audit = lake.staging(run_id).root / STAGED_AUDIT
        if audit.exists():
            lake.commit(run_id, pq.read_table(audit))
    return report


def lake_version(settings: Settings) -> str | None:
    """The id of the latest committed load that loaded something: the lake's version."""
    audit = _lake(settings).audit_records()
    loaded = [
        lid
        for lid, out in zip(audit["load_id"].to_pylist(), audit["outcome"].to_pylist(), strict=True)
        if out == "LOADED"
    ]
    return max(loaded) if loaded else None


def lake_version_to_build(settings: Settings, rebuild: bool = False) -> str | None:
    """The lake version this run builds from, or None when there is nothing to build: the lake
    is empty, or the published warehouse is built from its latest version and no `rebuild` is
    asked for. The resolve and build steps decide alike."""
    version = lake_version(settings)
    if version is None:
        log.info("the lake is empty: nothing to build")
        return None
    if not rebuild and published_lake_version(settings) == version:
        log.info("the published warehouse is already built from lake version %s", version)
        return None
    return version


def resolve_step(settings: Settings, run_id: str, rebuild: bool = False) -> RunReport:
    """Identity resolution of the core customer records, when this run will build: the lake's
    records resolved and keyed from the published version's key registry, written with the new
    registry and merge log into the build area (`identity_build_path`), published with the build.
    splink runs on the setting engine's backend (DuckDB, or Spark: `backend_for`)."""
    report = RunReport.load(settings, run_id)
    with _Step(settings, report, "resolve"):
        discard_builds(settings)
        if lake_version_to_build(settings, rebuild) is None:
            return report
        if settings.engine == "spark":
            # splink's Spark session is a JVM on the driver, which would keep its heap through the
            # rest of the run beside the build's own (dbt's worker): in a process of its own, it
            # ends with the step (bench/bench_engines.py, docs/performance.md)
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as apart:
                records, merges = apart.submit(_resolve, settings).result()
        else:
            records, merges = _resolve(settings)
        log.info(
            "resolved %d customer records from the registry in %s (%d merges found)",
            records,
            published_identity_dir(settings),
            merges,
        )
        report.resolved = True
    return report


def _resolve(settings: Settings) -> tuple[int, int]:
    """The lake's records resolved and keyed into the build area (`resolve_lake`): (records
    keyed, merges found). splink scores on the engine the warehouse builds with (setting engine),
    the same rules either way."""
    config = settings.identity_config()
    identity = resolve_lake(
        settings.lake_dir,
        published_identity_dir(settings),
        identity_build_path(settings),
        settings.phone_region,
        config,
        backend_for(settings.engine, config),
    )
    return identity.keyed.num_rows, identity.merges_found


def build_step(settings: Settings, run_id: str, rebuild: bool = False) -> RunReport:
    """Build and test a new warehouse file from the lake and the identity the resolve step
    wrote, when the lake has moved on (or when asked to `rebuild`: new dbt models or
    assumptions, same data)."""
    require_pipeline_engine(settings)
    report = RunReport.load(settings, run_id)
    with _Step(settings, report, "build"):
        version = lake_version_to_build(settings, rebuild)
        if version is None:
            return report
        ensure_checks_schema(settings.lake_dir)  # audit.check_results reads the lake's check history
        ensure_model_runs_schema(settings.lake_dir)  # and audit.model_runs the models' fits and evaluations
        try:
            if not report.resolved:  # what the build area holds would be another run's identity
                raise BuildFailed([f"run {run_id} resolved no identity: the resolve step must run before the build"])
            start_archive(settings)  # the published nights' scores, which the score marts are built from
            # an incremental build starts from a copy of the published file, checked as it is copied
            result = build(
                settings, run_id, version, full_refresh=rebuild, start_from=partial(copy_published_state, settings)
            )
            archive_tonight(settings)  # tonight's scores join the archive, published with the build
        except VersionChanged as changed:
            report.failures = [f"build: {changed}"]
            raise BuildFailed([str(changed)]) from changed
        except BuildFailed as failed:
            report.failures = failed.failures
            raise
        report.built = True
        report.build_mode = result.mode
        report.notes += accounts_never_posted(build_path(settings))
        report.notes += [spark_partial_build(settings)] if settings.engine == "spark" else []
        report.notes += models_not_trained(settings)
    return report


def models_not_trained(settings: Settings) -> list[str]:
    """The run summary's notes on the models that scored nothing tonight: none trained (or the
    version asked for not found)."""
    missing = []
    if resolve_version(settings.churn_models_dir, settings.churn_model_version) is None:
        missing.append(NO_CHURN_MODEL)
    if resolve_version(settings.clv_models_dir, settings.clv_model_version, "clv_model_version") is None:
        missing.append(NO_CLV_MODEL)
    if resolve_version(settings.response_models_dir, settings.response_model_version, "response_model_version") is None:
        missing.append(NO_RESPONSE_MODEL)
    return missing


def spark_partial_build(settings: Settings) -> str:
    """The run summary's note on a build on Spark: how many of the project's models it built (those
    tagged engine_portable, `SPARK_SELECTION`), and what it left to DuckDB if any (dbt's manifest
    says)."""
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    left = sorted(node["name"] for node in models if PORTABLE_TAG not in node["tags"])
    if not left:
        return f"built on Spark: all {len(models)} of the project's models (tag {PORTABLE_TAG})"
    marts = [name for name in left if name.startswith(("fct_", "dim_", "bridge_", "customer_"))]
    return (
        f"built on Spark: {len(models) - len(left)} of the project's {len(models)} models (tag {PORTABLE_TAG}); "
        f"{len(left)} run on DuckDB only so far, among them the marts {', '.join(marts)} (docs/spark.md)"
    )


def accounts_never_posted(warehouse: Path, examples: int = 3) -> list[str]:
    """What the build saw without judging it: accounts that have no posting in the whole loaded
    history (a savings account left alone, a dormant account). The agreement allows them; they
    load, their balances come from the balances feed; a note says how many, never a warning."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(count, first)] = con.sql(
            "select count(*), list(account_id order by account_id)[1:?] from marts.dim_account a "
            "anti join intermediate.int_account_postings_monthly p on a.account_id = p.account_id",
            params=[examples],
        ).fetchall()
    if not count:
        return []
    return [
        f"core_banking.accounts: {count} account(s) have no posting in the loaded history, e.g. "
        f"{', '.join(first)}; loaded, their balances come from the balances feed"
    ]


def warehouse_gate_step(settings: Settings, run_id: str) -> RunReport:
    """The warehouse gates: dbt's data tests and reconciliations on the new file, if
    this run built one; a failure stops the run before publish. The results join the check history."""
    report = RunReport.load(settings, run_id)
    with _Step(settings, report, "warehouse_gate"):
        if not report.built:
            return report
        built = WarehouseBuild(
            build_path(settings),
            settings.root / "dbt" / "target" / "manifest.json",
            settings.root,
            # on Spark the tests' SQL is Spark's: measured by the dbt process that ran them
            settings.spark_dir / MEASURED_ON_SPARK if settings.engine == "spark" else None,
        )
        try:
            result = run_tests(settings)
        except BuildFailed as failed:
            report.failures = failed.failures
            if failed.result is not None:
                record_warehouse_tests(
                    settings.lake_dir, settings.runs_dir / run_id, run_id, failed.result.test_results, None, built
                )
            raise
        # kept in the build's audit.check_results too: inserted into DuckDB's table; on Spark, a file
        # added to the table's folder, which the build's views (and Spark) read
        into_build = result.path if settings.engine == "duckdb" else None
        checks = record_warehouse_tests(
            settings.lake_dir, settings.runs_dir / run_id, run_id, result.test_results, into_build, built
        )
        if settings.engine == "spark" and checks:
            tonight = checks_path(settings.lake_dir, run_id, "warehouse")
            append_file(settings.spark_dir, "audit", "check_results", tonight, build_path(settings))
        report.warnings += [f"warehouse test {c['check_id']}: {c['note']}" for c in checks if c["outcome"] == "warned"]
        report.warehouse_tested = True
        report.checks_passed += result.tests_passed
        report.checks_warned += result.tests_warned
        report.checks_failed += result.tests_failed
    return report


def publish_step(settings: Settings, run_id: str) -> RunReport:
    """Swap the new warehouse in, if this run built one."""
    report = RunReport.load(settings, run_id)
    with _Step(settings, report, "publish"):
        built = build_path(settings)
        if report.built and report.warehouse_tested and built.exists():
            # a full refresh (a changed project, `--rebuild`) writes the published file anew
            report.published = str(publish_version(settings, built, run_id, report.build_mode == "incremental"))
        if report.deliveries_refused or report.systems_blocked:
            report.outcome = "REFUSED"  # what did load is published; the refused and held stay in landing
        elif report.deliveries_loaded or report.built:
            report.outcome = "SUCCESS"
        else:
            report.outcome = "NOTHING_TO_DO"
    return report


def run(settings: Settings, selection: DateSelection | None = None, rebuild: bool = False) -> RunReport:
    """The whole nightly job in one process: every pending delivery in one pass and one build."""
    require_pipeline_engine(settings)  # before anything loads: the build would refuse it at the end
    agreement = load_agreement()
    with run_lock(settings):
        report = stage_step(settings, selection, agreement)
        gate_step(settings, report.run_id, agreement)  # freshness is judged even when nothing arrived
        commit_step(settings, report.run_id)
        resolve_step(settings, report.run_id, rebuild)
        with dbt_session(settings):  # the build and its tests in one dbt process
            build_step(settings, report.run_id, rebuild)
            warehouse_gate_step(settings, report.run_id)
        return publish_step(settings, report.run_id)


def rollback(settings: Settings, to: str | None = None) -> Version:
    """`bankdw rollback`: publish an earlier kept version, holding the run lock, so that no run in
    flight publishes over it (raises `RunInProgress` while one works)."""
    with run_lock(settings):
        return roll_back(settings, to)


def run_is_alive(settings: Settings) -> bool:
    """Whether a process holds the run lock now (a report saying RUNNING without one was killed)."""
    path = settings.root / ".run.lock"
    if _held_locks.get(path):
        return True
    if not path.exists():
        return False
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def pending_deliveries(settings: Settings) -> list[Delivery]:
    agreement = load_agreement()
    return landing_state(settings.landing_dir, _lake(settings), agreement).pending
