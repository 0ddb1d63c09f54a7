"""Shared fixtures: small landed deliveries written by the tests themselves or by the simulator,
and one simulated bank and one published warehouse built once per test session.

Building is what costs (a simulated bank takes seconds; a run with its gates and dbt build a
minute or more), copying files does not. So the suite simulates one bank and publishes one
warehouse from it, once, and every module that needs a bank of that shape starts from them:

`bank_landing` (session)
    The landing area of a simulated bank: `CUSTOMERS` customers, `BANK_DAYS` business dates
    from `BANK_START` (seed 7, default defects), the simulator's answer key in
    `bank_landing.parent / "_truth"`. Read it, never write into it: copy the dates you need
    into a landing area of your own with `copy_deliveries(bank_landing, landing, dates)`.
`published_bank` (session)
    A `PublishedBank`: a data dir whose landing area holds the first `PUBLISHED_DAYS + 1` dates
    of `bank_landing`, the first `PUBLISHED_DAYS` loaded and published by one `run()` (its
    report in `.report`), the last date's deliveries pending (`.next_date`). Tests that only
    read it (the warehouse read-only, the lake, the reports) use `published_bank.settings`
    as it is; a test or module fixture that runs, edits or deletes anything works on
    `published_bank.copy(tmp_path / "data")`, a copy of the whole data dir.
`published_nights` (session)
    A `tests.nights.Nights`: a copy of `published_bank` whose next two nights were published
    while two reader processes read, with a rollback between (night 1 also moves a member out of
    a household and adds a customer record). For what needs a real nightly run after the
    history: write-audit-publish, readers, versions, the published identity, incremental
    builds. Read it only; copy `.settings.root` to change it.
`value_bank` (session)
    Settings of a larger bank (`VALUE_BANK`: 2,000 customers over 70 days, September and
    October complete), simulated and published by one run: for what needs thousands of
    customers or months of history. Read it only; its `_truth/` is beside the landing area.

A module adopts them by asking for the fixture and taking its dates from the constants, e.g.

    from tests.conftest import BANK_START, PublishedBank, copy_deliveries

    @pytest.fixture(scope="module")
    def bank(published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory) -> Settings:
        return published_bank.copy(tmp_path_factory.mktemp("bank") / "data")

For the two modules still simulating their own bank: test_dag's end-to-end DAG run can copy
the first three dates (`copy_deliveries(bank_landing, data / "landing", [bank_date(n) for n
in range(3)])`) before removing the call centre's third; test_identity can build its customer
models on `published_bank.copy(...)`'s lake (staged, gated and committed already), if 150
customers over five dates give each rule enough cases (its test_every_rule_fires_... says).

A test that runs dbt itself on a build file of its own does it with `dbt_on`, which runs dbt
where the pipeline builds: dbt parses the whole project again whenever the file it builds
changes name, and a parse costs more than most such builds. The settings dbt is given
(`Settings.dbt_vars`: windows, thresholds, model dirs, the gates' severities) are part of its
parse too: a data dir with other values parses the project again (about 20 s). Override them
only where the test is about them, and put what a test needs where the defaults look
(test_churn copies its trained models into the copy's `<data>/models/`).

What a full night costs on a tiny bank (measured): about 35 s of dbt build and 35 s of dbt
test (about 10 s of each is dbt starting, whatever the bank), plus the gates' few seconds. A
scenario that can be read from `published_nights` (recording what it needs in tests/nights.py)
costs nothing more; one that needs a night of its own costs a minute of the suite.

Under pytest-xdist every worker is a process of its own with its own session fixtures: the
first worker that needs a shared bank builds it under a file lock in the directory all
workers share (`shared_dir`), the others wait for it and use the same files. The slowest
modules are collected first (`SLOWEST_FIRST`), so that no worker starts one at the end;
a new slow module belongs in that list.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gzip
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bankdw.config import Settings, load_settings
from bankdw.reporting.run_report import RunReport
from extract.contract import load_agreement
from extract.landing import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from tests.nights import Nights

DAGS = Path(__file__).resolve().parents[1] / "dags"
AIRFLOW = str(Path(sys.executable).parent / "airflow")


SPARK_DRIVER_JAVA_OPTIONS = (
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC"
    " -Dspark.sql.codegen.wholeStage=false -Dspark.sql.codegen.factoryMode=NO_CODEGEN"
)
"""The suite's setting spark_driver_java_options (pytest_configure; bench/bench_spark_night.py): the
quick JIT compiler only, one collector thread, and Spark's expressions interpreted rather than
compiled to Java (docs/spark.md, "Running it locally")."""


def settings_environment(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings as the environment variables a process of its own reads them from (`BANKDW_*`)."""
    return {f"BANKDW_{name.upper()}": str(value) for name, value in settings.items()}


_SESSION_DIRECTORIES: list[str] = []
"""Temporary directories this process made for the session, removed when it ends (the dbt parse
cache alone is 37 MB: left behind, every run of the suite would keep its own in /tmp)."""


def _session_directory(prefix: str) -> str:
    directory = tempfile.mkdtemp(prefix=prefix)
    _SESSION_DIRECTORIES.append(directory)
    return directory


def pytest_unconfigure(config: pytest.Config) -> None:
    """Each process removes what it made: the workers their Airflow homes, the controller the
    parse cache its workers shared (it ends after them)."""
    for directory in _SESSION_DIRECTORIES:
        shutil.rmtree(directory, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    """Airflow reads its configuration when first imported: give the test session its own
    home (SQLite metadata database, no examples, this project's DAGs) before any test can."""
    # Each xdist worker its own (they inherit the controller's environment): two processes
    # migrating and running DAGs in one SQLite file lose each other's task instances.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["AIRFLOW_HOME"] = _session_directory(f"bankdw-airflow-{os.environ['PYTEST_XDIST_WORKER']}-")
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = _session_directory("bankdw-airflow-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
    # One dbt parse of the project for every data dir of the session with the same settings
    # (setting dbt_parse_cache): a test's new data dir does not parse the whole project again.
    # Set here, before xdist starts its workers, which inherit it.
    if "BANKDW_DBT_PARSE_CACHE" not in os.environ:
        os.environ["BANKDW_DBT_PARSE_CACHE"] = _session_directory("bankdw-dbt-parse-")
    # The dbt docs cost 10 to 30 s a publish: only the shared published bank makes them
    # (tests/test_docs_site.py reads them); every other publish of the suite goes without.
    os.environ.setdefault("BANKDW_PUBLISH_DOCS", "false")
    # Spark's driver on small builds (tests/test_spark.py): the quick compiler only (with room for
    # its code) and one collector thread, about a quarter less CPU in as much time (docs/spark.md);
    # the suite is CPU bound on 2 cores
    os.environ.setdefault("BANKDW_SPARK_DRIVER_JAVA_OPTIONS", SPARK_DRIVER_JAVA_OPTIONS)
    # One DuckDB thread a query and one dbt thread a build: the suite's banks are tiny, where more
    # threads mostly wait for each other, and its workers keep both cores busy (a night on the test
    # bank: about 9 % less CPU, docs/performance.md)
    os.environ.setdefault("BANKDW_DUCKDB_THREADS", "1")
    os.environ.setdefault("BANKDW_DBT_THREADS", "1")


SLOWEST_FIRST = (
    "test_spark_pipeline.py",
    "test_churn.py",
    "test_loads.py",
    "test_spark.py",
    "test_customer_value.py",
    "test_dag_postgres.py",
    "test_customer_history.py",
    "test_crm.py",
    "test_bank_rules.py",
    "test_pipeline.py",
    "test_publish.py",
    "test_night_tests.py",
    "test_real_bank.py",
    "test_airflow_ui.py",
    "test_clv.py",
    "test_metrics.py",
    "test_serve.py",
    "test_dashboards.py",
    "test_dag_gates.py",
    "test_dag.py",
    "test_identity.py",
    "test_simulate.py",
    "test_dbt_project.py",
    "test_profitability.py",
    "test_gate_references.py",
)
"""Modules that take longest on their own, longest first (measured: `make test` lists the
slowest tests). xdist (`--dist loadfile --no-loadscope-reorder`, Makefile) hands out test files
in collection order, so the longest start first and the short ones fill in at the end: the
workers finish together. The first two build the shared banks (`published_bank` and the first
night on Spark, `spark_first_night`; `value_bank` for churn) while no other module waits for
them; the third (`make test` runs one worker more than the cores, Makefile) loads a bank of its
own meanwhile (test_loads). test_spark, which needs the night on Spark, comes next: the first
worker free takes it, and waits less for the night than a worker starting with it would. Without
`--no-loadscope-reorder` xdist orders files by their number of tests instead, and this order
is lost."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within a module kept


def nightly_dag(env: dict[str, str], patch: pytest.MonkeyPatch) -> DAG:
    """The nightly DAG as a scheduler's worker parses it with the environment `env` (BANKDW_
    settings): Airflow's database migrated with it, `env` set in this process through `patch`
    (settings are read when the DAG is parsed), the DAG loaded from dags/ for `dag.test()`."""
    subprocess.run([AIRFLOW, "db", "migrate"], env=os.environ | env, check=True, capture_output=True)
    for name, value in env.items():
        patch.setenv(name, value)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS)).dags["bank_nightly"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_group(process: subprocess.Popen[bytes], grace_seconds: float = 60) -> None:
    """Stop a process started with `start_new_session=True` and every process it started (its
    process group): SIGTERM, then SIGKILL if it has not ended within `grace_seconds`."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended already
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty data dir of the test's own."""
    return load_settings(data_dir=tmp_path / "data")


def write_delivery(
    landing: Path,
    system: str,
    business_date: date,
    files: dict[str, bytes],
    *,
    manifest_overrides: dict[str, dict[str, object]] | None = None,
    with_manifest: bool = True,
) -> Path:
    """Write a delivery folder and (unless told not to) a manifest that matches its files."""
    folder = landing / system / business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    if with_manifest:
        write_manifest(folder, manifest_overrides)
    return folder


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A delivered CSV file's header and rows (tests that change a delivery before it loads)."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    """`rows` under `header` as the source systems write CSV (`\\n` line ends); write the
    manifest again after (write_manifest)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_manifest(folder: Path, overrides: dict[str, dict[str, object]] | None = None) -> None:
    """The manifest a source system would write for the folder's files: rows, sha256, control totals.

    Rows and totals are counted here with the csv module, independently of the extract under test.
    """
    system, business_date = folder.parent.name, folder.name
    agreement = load_agreement()
    entries: dict[str, dict[str, object]] = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST_NAME:
            continue
        content = path.read_bytes()
        text = (gzip.decompress(content) if path.name.endswith(".gz") else content).decode("utf-8")
        entry: dict[str, object] = {"sha256": hashlib.sha256(content).hexdigest()}
        if path.name.endswith(".csv"):
            records = list(csv.DictReader(io.StringIO(text, newline="")))
            entry["rows"] = len(records)
            feed = agreement.feed_for(system, path.name)
            entry["control_totals"] = {
                c: sum((Decimal(r[c]) for r in records if r.get(c)), Decimal(0))
                for c in (feed.control_totals if feed else ())
            }
        else:
            entry["rows"] = text.count("\n")
        entries[path.name] = entry | (overrides or {}).get(path.name, {})
    Manifest.model_validate({"system": system, "business_date": business_date, "files": entries}).write(folder)


HOLD_THE_RUN = ('blocking_holds = "system"', 'blocking_holds = "run"')
"""For `gates_toml`: a blocking failure at the feed gate stops the whole run (nothing loads)."""


def gates_toml(path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of the shipped gates configuration (expectations/gates.toml) at `path`, each
    `(old, new)` text replaced; point the setting `gates_config` at it."""
    from expectations.config import GATES_TOML

    text = GATES_TOML.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"{old!r} is not in {GATES_TOML}"
        text = text.replace(old, new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def simulate_bank(
    landing: Path, customers: int = 120, days: int = 5, start: date = date(2026, 11, 16), seed: int = 7
) -> None:
    """A tiny synthetic bank (all three systems) in `landing`."""
    from simulator import SimulationConfig, simulate

    simulate(SimulationConfig(out=landing, customers=customers, days=days, start=start, seed=seed))


@pytest.fixture
def delivery_writer(settings: Settings) -> Callable[..., Path]:
    def _write(system: str, business_date: date, files: dict[str, bytes], **kwargs: object) -> Path:
        return write_delivery(settings.landing_dir, system, business_date, files, **kwargs)  # type: ignore[arg-type]

    return _write


# -- the shared simulated bank and its published warehouse ----------------------------------

BANK_START, BANK_DAYS, CUSTOMERS = date(2026, 11, 16), 8, 150
PUBLISHED_DAYS = 5
"""The published bank's history: BANK_START .. BANK_START + 4, the gates' five dates of
volume history (expectations/gates.toml, min_history); the sixth date waits in its landing."""
SYSTEMS = ("core_banking", "online_banking", "call_center")


def bank_date(n: int) -> date:
    """The n-th business date of the shared bank (0 is BANK_START)."""
    return BANK_START + timedelta(days=n)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between the processes of one session (POSIX `flock`, which Airflow
    and this suite need anyway; released by the kernel if the holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory `build` fills once per test session, whatever the number of xdist workers.

    Without xdist it lives in the session's base temp dir; under xdist in the one above the
    workers' own, which they share. A build that failed leaves no mark: the next asks again.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    target = base / "shared" / name
    with _locked(base / "shared" / f"{name}.lock"):
        done = target / ".built"
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            build(target)
            done.touch()
    return target


def dbt_on(settings: Settings, target: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`bankdw.warehouse.run_dbt` (output captured) on the DuckDB file `target`, which must be
    named `bank.duckdb` like the pipeline's (its views name their tables by the file's name).

    dbt parses the whole project again (about 13 s) whenever its profile changes, and the profile
    names the file dbt builds. So the command runs where the pipeline builds (`build_path`, free in
    a test's data dir) and the file is moved there and back: every test's dbt command on a data
    dir with the same settings then reuses the parse the suite keeps (setting dbt_parse_cache)."""
    from bankdw.warehouse import build_path, run_dbt

    work = build_path(settings)
    assert target.name == work.name, f"{target} is not named {work.name}"
    assert target == work or not work.exists(), f"{work} is in use"
    work.parent.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = target != work
    if moved and target.exists():
        target.replace(work)
    try:
        return run_dbt(settings, work, command, *extra, capture=True)
    finally:
        if moved and work.exists():
            work.replace(target)


def assert_one_parse_for_build_and_tests(settings: Settings, log: str | None = None, saved: bool = True) -> None:
    """The last night in `settings`' data dir (or in its dbt `log` as read after that night)
    parsed the project once for its build and its tests (the last three commands in dbt's log):
    one dbt process (bankdw.dbt_session), whose parse was the saved one (unless not `saved`: a
    first night on another profile parses the whole project)."""
    log = log if log is not None else (settings.root / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    parse, build, test = log.split("Running with dbt=")[-3:]
    assert "'invocation_command': 'dbt parse" in parse, parse[:3000]
    if saved:
        assert "Unable to do partial parsing" not in parse and "Partial parsing enabled" in parse, parse[:3000]
    assert "'invocation_command': 'dbt build" in build and "'invocation_command': 'dbt test" in test
    assert all("partial parsing" not in c.lower() for c in (build, test))  # the parse above serves both


def copy_deliveries(source: Path, landing: Path, dates: Iterable[date], systems: Iterable[str] = SYSTEMS) -> None:
    """Copy the deliveries of `dates` (every system, or those named) from landing area `source`."""
    for day in dates:
        for system in systems:
            folder = source / system / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, landing / system / folder.name, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def bank_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared simulated bank's landing area (read-only: copy what you need)."""

    def build(root: Path) -> None:
        simulate_bank(root / "landing", customers=CUSTOMERS, days=BANK_DAYS, start=BANK_START)

    return shared_dir(tmp_path_factory, "bank", build) / "landing"


@dataclass(frozen=True)
class PublishedBank:
    settings: Settings
    """The shared data dir: read it, never write into it (use `copy`)."""
    report: RunReport
    """The report of the run that loaded and published the history."""

    @property
    def last_date(self) -> date:
        """The latest business date loaded and published."""
        return bank_date(PUBLISHED_DAYS - 1)

    @property
    def next_date(self) -> date:
        """The business date whose deliveries wait in the landing area."""
        return bank_date(PUBLISHED_DAYS)

    def copy(self, data_dir: Path, **settings: object) -> Settings:
        """A copy of the whole data dir at `data_dir`, and its settings (overrides as keywords)."""
        shutil.copytree(self.settings.root, data_dir)
        return load_settings(data_dir=data_dir, **settings)


@pytest.fixture(scope="session")
def published_bank(bank_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> PublishedBank:
    """The shared bank's history loaded and published by one run; the next date pending."""
    from bankdw.pipeline import DateSelection, run

    def build(root: Path) -> None:
        settings = load_settings(data_dir=root / "data", publish_docs=True)
        copy_deliveries(bank_landing, settings.landing_dir, [bank_date(n) for n in range(PUBLISHED_DAYS + 1)])
        report = run(settings, DateSelection(last=bank_date(PUBLISHED_DAYS - 1)))
        assert report.outcome == "SUCCESS", report.failures
        (root / "run_id").write_text(report.run_id, encoding="utf-8")

    root = shared_dir(tmp_path_factory, "published", build)
    settings = load_settings(data_dir=root / "data")
    return PublishedBank(settings, RunReport.load(settings, (root / "run_id").read_text(encoding="utf-8")))


VALUE_BANK = {"customers": 2000, "days": 70, "start": date(2026, 8, 25), "seed": 7}
"""The larger shared bank: thousands of customers over two complete months (September and
October 2026), for what a few hundred customers over days cannot show (value tiers, the Pareto
curve, planted churners before they leave, models that learn from history)."""


@pytest.fixture(scope="session")
def value_bank(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A simulated bank of thousands of customers loaded and published by one run."""
    from bankdw.pipeline import DateSelection, run
    from simulator import SimulationConfig, simulate

    def build(root: Path) -> None:
        settings = load_settings(data_dir=root / "data")
        simulate(SimulationConfig(out=settings.landing_dir, **VALUE_BANK))  # type: ignore[arg-type]
        report = run(settings, DateSelection())
        assert report.outcome == "SUCCESS", report.failures

    return load_settings(data_dir=shared_dir(tmp_path_factory, "value_bank", build) / "data")


def on_the_value_bank_lake(value_bank: Settings, tmp_path: Path, **overrides: object) -> Settings:
    """A data dir of the test's own whose lake is the 2,000-customer bank's, linked, not copied
    (dbt reads the lake; the build files a test copies are its own)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lake").symlink_to(value_bank.root / "lake", target_is_directory=True)
    return load_settings(data_dir=tmp_path / "data", **overrides)


SPARK_RECENT_WINDOW_DAYS = 2
"""The recent balances' window on Spark (balance_snapshot_window_days; DuckDB published 92 days).
The shared bank's balances cover five weekdays, so a second night's window leaves a date the
first night's held: its partition is dropped (drop_dates_before_window), which tests/test_spark.py
sees."""
SPARK_NIGHT_SETTINGS: dict[str, object] = {
    "engine": "spark",
    "spark_catalog": "hive",
    "balance_snapshot_window_days": SPARK_RECENT_WINDOW_DAYS,
    "dbt_threads": 2,
}
"""The Spark nights' settings: the nightly run on Spark needs the Hive catalog (the next night
builds on from the published metastore, docs/spark.md); two dbt threads, since a night's
statements are mostly Spark's fixed cost in one `local[2]` JVM (docs/performance.md)."""


@dataclass(frozen=True)
class SparkNight:
    settings: Settings
    """The data dir: tests/test_spark_pipeline.py runs its next night and a rollback in it; any
    other test reads only the first night's published state (`state`), which no later night or
    rollback changes (three versions kept, setting keep_versions)."""
    report: RunReport

    @property
    def state(self) -> Path:
        """The Spark build the night published: its warehouse, metastore and `tables.json`."""
        from bankdw.publish import spark_state_path

        return spark_state_path(self.settings, self.report.run_id)


@pytest.fixture(scope="session")
def spark_first_night(published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory) -> SparkNight:
    """The nightly run on Spark (`bankdw run`, setting engine = spark) in a copy of the shared
    published bank, asked to build afresh the lake DuckDB published (`--rebuild`): every portable
    model built, tested and published from Spark. Built once for the session: the suite's one full
    Spark build, which tests/test_spark.py compares with DuckDB's and builds its own nights on,
    and tests/test_spark_pipeline.py publishes and goes on from."""
    from bankdw.pipeline import DateSelection, run

    def build(root: Path) -> None:
        settings = published_bank.copy(root / "data", **SPARK_NIGHT_SETTINGS)
        report = run(settings, DateSelection(last=published_bank.last_date), rebuild=True)
        assert report.outcome == "SUCCESS", report.failures
        (root / "run_id").write_text(report.run_id, encoding="utf-8")

    root = shared_dir(tmp_path_factory, "spark_night", build)
    settings = load_settings(data_dir=root / "data", **SPARK_NIGHT_SETTINGS)
    return SparkNight(settings, RunReport.load(settings, (root / "run_id").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def published_nights(
    published_bank: PublishedBank, bank_landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> Nights:
    """The shared bank's next two nights published while readers read, with a rollback between
    (tests/nights.py): read it, never write into it (copy `.settings.root`)."""
    from tests.nights import load_nights, publish_nights

    root = shared_dir(tmp_path_factory, "nights", lambda root: publish_nights(published_bank, bank_landing, root))
    return load_nights(root)
