"""Building the warehouse with dbt into a new DuckDB file, and publishing it atomically.

Readers (analysts, BI tools) hold the published file open read-only; DuckDB lets no writer
in beside them. So a build never touches the published file: it writes
`_build/bank.duckdb` (`build`, models only), the warehouse gates test it
(`run_tests`), and only when both pass does `bankdw.publish` swap it in over the published
path (an atomic rename on one file system). Open readers keep the old file until they
reconnect; a failed build or test leaves the published file as it was.

A nightly build is incremental: the new file starts as a copy of the published one, and
dbt's incremental facts add only what newer loads brought (dbt_project/macros/incremental.sql).
The build is a full refresh instead when asked (`bankdw run --rebuild`), when nothing is
published yet, or when the dbt project changed since the published build (its models,
macros, seeds or settings): a changed model must not be appended to a table built by the old one.
A data dir moved elsewhere is not a change: only views name the lake's path, and every build
creates the views again.

On Spark (setting engine) dbt builds the models tagged engine_portable into Spark's warehouse
in the build area (`Settings.spark_dir`), tests them, and the build file is written after dbt's
build as a DuckDB file of views over the Spark tables' Parquet files (`bankdw.spark_tables`):
what the pipeline reads of a build it reads there, and `bankdw.publish` publishes it as views
over the same files, linked. A night on Spark starts from the published version's Spark folder,
restored into the build area; a moved data dir builds afresh (`project_fingerprint`).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bankdw.config import (
    DUCKDB_MEMORY_LIMIT_VAR,
    DUCKDB_THREADS_VAR,
    GATES_VAR,
    PATH_VARS,
    SPARK_CATALOG_VAR,
    SPARK_JAVA_OPTIONS_VAR,
    TEST_SCOPE_VAR,
    Settings,
)
from bankdw.dbt_command import command_line
from bankdw.dbt_session import active_session
from bankdw.spark_tables import write_catalog
from extract.sql import literal

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunner

log = logging.getLogger(__name__)

BUILD_INFO_TABLE = "audit.warehouse_build"


class BuildFailed(Exception):
    """dbt could not build or test the new warehouse; the published one is untouched."""

    def __init__(self, failures: list[str], result: BuildResult | None = None) -> None:
        self.failures = failures
        self.result = result
        """What the failed invocation did, tests included (None: dbt did not run)."""
        super().__init__("the warehouse build failed: " + "; ".join(failures[:10]))


class EngineNotReady(Exception):
    """The engine settings name a way of building the nightly run cannot work with (docs/spark.md)."""

    def __init__(self, engine: str, why: str) -> None:
        self.engine = engine
        super().__init__(f"the nightly run cannot build on {engine} so: {why}")


def require_pipeline_engine(settings: Settings) -> None:
    """Refuse, before anything is loaded or built, engine settings the nightly run cannot build with:
    on Spark the build, its tests and the publish are processes of their own, which find the build's
    tables through a metastore kept with it (setting spark_catalog `hive`), not in one process's memory."""
    if settings.engine == "spark" and settings.spark_catalog != "hive":
        raise EngineNotReady(
            settings.engine,
            f"the setting spark_catalog is {settings.spark_catalog} (BANKDW_SPARK_CATALOG): the build's tables would "
            "be gone when its process ends, before its tests. Set BANKDW_SPARK_CATALOG=hive (the default).",
        )


@dataclass
class BuildResult:
    path: Path
    seconds: float
    full_refresh: bool = True
    models: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    failures: list[str] = field(default_factory=list)
    test_results: list[dict[str, Any]] = field(default_factory=list)
    """The run results (dbt's run_results.json entries) of the tests this invocation ran."""

    @property
    def mode(self) -> str:
        return build_mode(self.full_refresh)


def build_mode(full_refresh: bool) -> str:
    """How a build was made, as the run report and audit.warehouse_build say it."""
    return "full refresh" if full_refresh else "incremental"


def build_path(settings: Settings) -> Path:
    """Where the run that builds writes its new warehouse: the build area, under the published
    file's name. DuckDB names a database after its file, and the views dbt creates name their
    tables with it (`"bank".staging...`): built as `bank.duckdb`, the views still resolve once
    the file is kept as a version's state (`bankdw.publish.state_path`) under that name. One name for every night
    also keeps dbt's command line the same, so dbt parses the project again only when it
    changed (`dbt_args`). One run at a time builds (`pipeline.run_lock`; the DAG runs one at a
    time), and publishing moves the file away."""
    return settings.build_dir / settings.warehouse_path.name


def versions_dir(settings: Settings) -> Path:
    """Where the published versions are kept with their states and kept folders (`bankdw.publish`)."""
    return settings.warehouse_path.parent / "versions"


@dataclass(frozen=True)
class KeptDir:
    """A folder a run writes into the build area beside the warehouse (`build`), which the build
    reads through the dbt var `var`, kept with the version it was built with
    (`versions/<name>-<run_id>/`) and installed beside the lake while that version is published
    (`installed`: the var's default, `Settings.dbt_vars`). Publishing, rollback and pruning
    (`bankdw.publish`) and the build's dbt command line (`dbt_args`) handle every one alike: a new
    kept folder is one more entry of `KEPT_DIRS`. Defined here, not in `bankdw.publish`, because
    the build's command line needs them and publish imports this module."""

    name: str
    var: str
    installed: Callable[[Settings], Path]

    @property
    def prefix(self) -> str:
        """The name of a version's copy, before its run id."""
        return f"{self.name}-"

    def build(self, settings: Settings) -> Path:
        """Where the run writes it: the build area, beside the build file."""
        return settings.build_dir / self.name

    def version_path(self, settings: Settings, run_id: str) -> Path:
        return versions_dir(settings) / f"{self.prefix}{run_id}"


IDENTITY = KeptDir("identity", "identity_dir", lambda settings: settings.identity_dir)
"""The build's identity: the key registry and merge log its customer keys come from."""
SCORES = KeptDir("scores", "scores_dir", lambda settings: settings.scores_dir)
"""The archive of every published night's model scores (bankdw/scores.py)."""
KEPT_DIRS = (IDENTITY, SCORES)


def identity_build_path(settings: Settings) -> Path:
    """Where the resolve step writes the identity the build reads (models/identity/resolve.py),
    beside the build file and published with it (`bankdw.publish`)."""
    return IDENTITY.build(settings)


def scores_build_path(settings: Settings) -> Path:
    """Where the build step writes the archive of scores the build reads and adds tonight's to
    (bankdw/scores.py), beside the build file and published with it (`bankdw.publish`)."""
    return SCORES.build(settings)


def dbt_environment(settings: Settings, target: Path) -> dict[str, str]:
    """The environment variables dbt reads (`profiles.yml`): the build file, and on Spark (setting
    engine) where Spark keeps its warehouse and metastore, relative to the data dir dbt runs in
    (`run_dbt`), and Spark's logging (dbt_project/spark-log4j2.properties). Every setting is a var
    (`dbt_args`)."""
    environment = {"BANKDW_DBT_PATH": _relative(target, settings.root)}
    if settings.engine == "spark":
        environment["BANKDW_SPARK_DIR"] = _relative(settings.spark_dir, settings.root)
        environment["BANKDW_SPARK_LOG4J2"] = (settings.dbt_project_dir / SPARK_LOGGING).as_posix()
    return environment


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


SPARK_LOGGING = "spark-log4j2.properties"
"""Spark's logging in session mode, in the dbt project (`dbt_environment`)."""

PORTABLE_TAG = "engine_portable"
"""The tag of the models built the same on DuckDB and on Spark (dbt_project.yml, docs/spark.md)."""
SPARK_SELECTION = ("--select", f"tag:{PORTABLE_TAG}")
"""What a build selects on Spark: the models built the same on both engines (every model of the
project since 2026-12-05; one not tagged would run on DuckDB only). Its tests: those of these
models, but for a test that also reads a model left out (dbt's `--indirect-selection cautious`)."""
SPARK_TEST_SELECTION = (*SPARK_SELECTION, "--indirect-selection", "cautious")


def portable_relations(target_dir: Path) -> dict[str, str]:
    """Every portable model's relation (schema.alias) by name, from the manifest dbt wrote to
    `target_dir` (its `--target-path`); an ephemeral model has none."""
    manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    return {
        node["name"]: f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and PORTABLE_TAG in node["tags"]
        and node["config"]["materialized"] != "ephemeral"
    }


def spark_runner_in_this_process(settings: Settings, environment: dict[str, str]) -> dbtRunner:
    """dbt's programmatic runner for dbt-spark's session mode in this process, so that the Spark
    session dbt opens is still there to read what it built: the profile's `environment`
    (`dbt_environment`) and Spark's Python workers' set in this process, the data dir as the
    working directory (as `run_dbt` runs dbt), the normalisation UDFs registered before the first
    model (models/identity/spark_udfs.py), the Python models run in this process
    (bankdw/spark_python.py)."""
    from dbt.cli.main import dbtRunner

    from bankdw import spark_python
    from models.identity.spark_udfs import python_worker_environment, udf_registrar

    os.environ.update(environment | python_worker_environment())
    os.chdir(settings.root)
    spark_python.register()
    return dbtRunner(callbacks=[udf_registrar(settings.phone_region)])


def run_dbt(
    settings: Settings,
    target: Path,
    command: str,
    *extra: str,
    capture: bool = False,
    build_area: bool = False,
    named: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """One dbt command on the DuckDB file `target`, in a child process.

    Not in this process: dbt-duckdb keeps the databases it opened (and their write lock) for
    the life of the process, and a build file becomes the published warehouse. A scheduler
    or test process that built in-process would lock every reader out of it afterwards.
    Inside a `bankdw.dbt_session.dbt_session` (the nightly run) the command goes to the
    session's worker process instead, unless its output is to be captured.
    `build_area`: as `dbt_args`. `named`: environment variables the project reads only when its
    nodes run, never when dbt parses (night_tests.sql's BANKDW_NIGHT_TESTED_SINCE), so that the
    parse kept for these vars and profile serves whatever they say.
    """
    args, environment = dbt_args(settings, command, build_area), dbt_environment(settings, target)
    shared = _shared_parse(settings, args, environment)
    saved = forget_another_checkouts_parse(settings, settings.root / "dbt" / "target")
    # dbt keeps one parse per target folder, of the vars and profile it last ran with: a data dir
    # whose commands change them (a night's build after a test's own command, a copy of another
    # data dir) would parse the whole project again; the kept parse of these vars serves instead.
    # Copies keep the file's time, so that a parse and its copy compare equal without being read.
    if shared is not None and shared.exists() and not (saved.exists() and filecmp.cmp(shared, saved)):
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shared, saved)
    session = None if capture else active_session(settings)
    line = [*command_line(), *args, *extra]
    if session is not None:  # the night's worker process (`bankdw.dbt_session`)
        returncode = session.run(args[1:], command, list(extra), environment, named)
        done: subprocess.CompletedProcess[str] = subprocess.CompletedProcess(line, returncode)
    else:
        done = subprocess.run(
            line,
            cwd=settings.root,
            env=os.environ | environment | (named or {}),
            capture_output=capture,
            text=True,
            check=False,
        )
    # kept for the next data dir with these vars: a first parse, or one dbt made again (a project file changed)
    if shared is not None and saved.exists() and not (shared.exists() and filecmp.cmp(saved, shared)):
        shared.parent.mkdir(parents=True, exist_ok=True)
        partial = shared.with_name(f".{shared.name}.{os.getpid()}")
        shutil.copy2(saved, partial)
        partial.replace(shared)  # atomic: a reader sees the whole parse or none
    return done


PARTIAL_PARSE = "partial_parse.msgpack"
"""Where dbt keeps its parse of the project, in its target folder; it parses again only what changed."""
PARSED_PROJECT = "partial_parse.project"
"""Beside dbt's parse: the dbt project folder it parsed (`forget_another_checkouts_parse`)."""


def forget_another_checkouts_parse(settings: Settings, target_dir: Path) -> Path:
    """Remove the parse dbt kept in `target_dir` (returned) if a checkout of the project in
    another folder made it, and name this one's beside it.

    dbt's partial parsing compares the files' contents, the vars and the profile, not where the
    project lies, and its parse holds absolute paths: a seed is loaded from the CSV file of the
    checkout that parsed it. A data dir taken over by a release installed in a folder of its own
    would load the old release's seeds, or fail once that folder is gone. A parse with no name
    beside it (kept before this check) is parsed again once."""
    saved, parsed = target_dir / PARTIAL_PARSE, target_dir / PARSED_PROJECT
    project = str(settings.dbt_project_dir)
    if parsed.exists() and parsed.read_text(encoding="utf-8") == project:
        return saved
    if saved.exists():
        log.info("dbt's kept parse in %s is of another checkout of the project: parsing %s", target_dir, project)
        saved.unlink()
    target_dir.mkdir(parents=True, exist_ok=True)
    parsed.write_text(project, encoding="utf-8")
    return saved


def _shared_parse(settings: Settings, args: list[str], environment: dict[str, str]) -> Path | None:
    """The parse kept in `dbt_parse_cache` for dbt commands with these vars and this profile.

    dbt's parse is valid for the same project, vars and profile; the paths in them are relative
    to the data dir (`dbt_args`), so data dirs with the same settings share one parse. The name
    holds a digest of the vars, the profile's environment and the project's folder (a parse names
    the files of the checkout that made it: `forget_another_checkouts_parse`): other settings or
    another checkout, another file."""
    if settings.dbt_parse_cache is None:
        return None
    key = json.dumps([args[args.index("--vars") + 1], environment, str(settings.dbt_project_dir)], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return settings.dbt_parse_cache / f"partial_parse-{digest}.msgpack"


def dbt_args(settings: Settings, command: str, build_area: bool = False) -> list[str]:
    """The command line of every dbt command of the pipeline: the settings in force as `--vars`
    (overriding the defaults in dbt_project.yml), `dbt_threads`, and where dbt keeps its files.
    `build_area`: the build reads the run's candidate of every kept folder (`KEPT_DIRS`: the
    identity, the archive of scores), in the build area; by default the published ones.

    dbt parses the whole project again whenever its vars or profile change: nothing here names
    the run (`build_path`, `identity_build_path`), and paths are relative to the data dir dbt
    runs in (`run_dbt`), so the parse dbt saved in `dbt/target` serves from night to night and
    in a copy of the data dir (a restore elsewhere, a test's copy). Only the build's staging
    views name the lake, relatively: no reader opens them (the published file holds tables).
    """
    project = settings.dbt_project_dir
    dbt_vars = settings.dbt_vars(paths_relative_to=settings.root)
    if build_area:
        for kept in KEPT_DIRS:
            dbt_vars[kept.var] = _relative(kept.build(settings), settings.root)
    return [
        command,
        "--target",
        settings.dbt_target,
        "--vars",
        json.dumps(dbt_vars),
        "--threads",
        str(settings.dbt_threads),
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(settings.root / "dbt" / "target"),
        "--log-path",
        str(settings.root / "dbt" / "logs"),
    ]


_PROJECT_PARTS = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")
WITHOUT_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")


def project_fingerprint(settings: Settings) -> str:
    """A digest of everything in the dbt project that shapes the warehouse, and of the
    settings passed to it: an incremental build is only valid on a file built by the same."""
    digest = hashlib.sha256()
    project = settings.dbt_project_dir
    for part in _PROJECT_PARTS:
        root = project / part
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(project).as_posix().encode())
                digest.update(path.read_bytes())
    # the identity settings are not here: they shape the resolve step's output, which dbt reads as data;
    # nor the gates' severities and tolerances: only tests read them, and no table depends on a test;
    # nor the JVM options of Spark's driver and where it keeps its tables' names, nor DuckDB's
    # threads and memory limit: how fast, not what
    # nor where the data dir lies: only views name the lake's path, and every build creates them again
    # (a data dir moved or restored elsewhere, or copied by a test, goes on incrementally)
    # nor what a night's tests read (warehouse_test_scope)
    shaping = {
        name: value
        for name, value in settings.dbt_vars().items()
        if name
        not in (
            GATES_VAR,
            TEST_SCOPE_VAR,
            SPARK_JAVA_OPTIONS_VAR,
            SPARK_CATALOG_VAR,
            DUCKDB_THREADS_VAR,
            DUCKDB_MEMORY_LIMIT_VAR,
            *PATH_VARS,
        )
    }
    digest.update(json.dumps(shaping, sort_keys=True).encode())
    if settings.engine != "duckdb":  # another engine's build is no state to go on from (DuckDB's digest as it was)
        digest.update(settings.engine.encode())
        # and Spark's metastore names its tables' folders by absolute path: a moved data dir builds afresh
        digest.update(str(settings.spark_dir.resolve()).encode())
    return digest.hexdigest()


def _published_fingerprint(settings: Settings) -> str | None:
    info = _published_build_info(settings)
    return info.get("project_fingerprint") if info else None


def build(
    settings: Settings,
    run_id: str,
    lake_version: str,
    full_refresh: bool = False,
    start_from: Callable[[Path], None] | None = None,
) -> BuildResult:
    """`dbt build` of the seeds and models (no tests: see `run_tests`) into a new file; raises
    BuildFailed on any error.

    Incremental on a copy of the published warehouse unless `full_refresh` is asked for or
    the published file was built by another version of the dbt project. Reads the identity
    the run's resolve step wrote (`identity_build_path`). `start_from(target)` copies the
    published file to the build file (default: a plain copy; the pipeline checks its checksum
    in the same read, `bankdw.publish.verify_published`; on Spark `copy_published_state` restores the
    published version's Spark folder instead, and is required).
    """
    target = build_path(settings)
    identity = identity_build_path(settings)
    if not identity.is_dir():
        raise BuildFailed([f"no identity resolved for run {run_id} ({identity}): the resolve step must run first"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # and its write-ahead log: what an interrupted build left
    target.with_name(f"{target.name}.wal").unlink(missing_ok=True)
    fingerprint = project_fingerprint(settings)
    if not full_refresh and _published_fingerprint(settings) != fingerprint:
        log.info("the dbt project changed since the published build (or nothing is published): full refresh")
        full_refresh = True
    started_from = None if full_refresh else published_lake_version(settings)
    if not full_refresh:
        # Readers may hold the published file open read-only; copying it only reads it.
        if start_from is not None:
            start_from(target)
        elif settings.engine == "duckdb":
            shutil.copyfile(settings.warehouse_path, target)
        else:  # the Spark state is the published version's folder, which bankdw.publish restores
            raise BuildFailed(
                ["an incremental build on Spark starts from the published state: start_from=copy_published_state"]
            )
    extra = [*WITHOUT_TESTS, *(["--full-refresh"] if full_refresh else [])]
    if settings.engine == "spark":
        result = _invoke(settings, target, "build", *SPARK_SELECTION, *extra)
        # what the pipeline reads of the build, and publishes, it reads through views over Spark's files
        write_catalog(settings.spark_dir, target)
    else:
        result = _invoke(settings, target, "build", *extra)
    result.full_refresh = full_refresh
    _stamp(target, run_id, lake_version, fingerprint, full_refresh, started_from, settings)
    mode = build_mode(full_refresh)
    log.info("dbt build (%s): %d models (%.1fs)", mode, result.models, result.seconds)
    return result


def run_tests(settings: Settings) -> BuildResult:
    """The warehouse gates: `dbt test` (data tests and reconciliations) on the new file;
    raises BuildFailed if any fails. The published file is not touched either way.

    Every test runs, every night. On an incremental night (setting warehouse_test_scope
    `night`), the tests of the large incremental tables read the rows the night wrote
    (`night_tested_since`; docs/quality.md); after a full refresh every test reads whole tables.

    Unit tests check the models' logic, not the night's data: they run in CI (`make test`),
    not every night.
    """
    target = build_path(settings)
    since = night_tested_since(settings, target)
    selection = SPARK_TEST_SELECTION if settings.engine == "spark" else ()
    # the scope named once for the command, not asked by each test (on Spark a job each)
    named = {NIGHT_TESTED_SINCE: since or "-"}
    result = _invoke(settings, target, "test", *selection, "--exclude-resource-type", "unit_test", named=named)
    scope = "whole tables" if since is None else f"the night's rows of the incremental tables (newer than {since})"
    log.info(
        "dbt test on %s: %d passed, %d warned (%.1fs)", scope, result.tests_passed, result.tests_warned, result.seconds
    )
    return result


NIGHT_TESTED_SINCE = "BANKDW_NIGHT_TESTED_SINCE"
"""The environment variable that names a night's test scope to dbt (dbt_project/macros/
night_tests.sql, night_since): the lake version, or `-` for whole tables."""


def night_tested_since(settings: Settings, target: Path) -> str | None:
    """The lake version whose newer rows the warehouse tests of the build `target` read in the
    large incremental tables (dbt_project/macros/night_tests.sql): the published build's that an
    incremental night started from, when the setting warehouse_test_scope is `night`. None:
    every test reads whole tables (a full refresh, the setting `whole`)."""
    if settings.warehouse_test_scope != "night":
        return None
    with duckdb.connect(str(target), read_only=True) as con:
        [(since,)] = con.sql(f"select max(started_from_lake_version) from {BUILD_INFO_TABLE}").fetchall()
    return since


def _invoke(
    settings: Settings, target: Path, command: str, *extra: str, named: dict[str, str] | None = None
) -> BuildResult:
    """Run one dbt command on `target` (`run_dbt`, reading the build area's kept folders, with
    the environment variables `named`) and count what it did from its run results."""
    results_path = settings.root / "dbt" / "target" / "run_results.json"
    results_path.unlink(missing_ok=True)
    t0 = time.monotonic()
    done = run_dbt(settings, target, command, *extra, build_area=True, named=named)
    result = BuildResult(path=target, seconds=time.monotonic() - t0)
    nodes = json.loads(results_path.read_text(encoding="utf-8"))["results"] if results_path.exists() else []
    for node in nodes:
        status, unique_id = str(node["status"]), str(node["unique_id"])
        if unique_id.split(".")[0] in ("test", "unit_test"):
            result.test_results.append(node)
            if status == "pass":
                result.tests_passed += 1
            elif status == "warn":
                result.tests_warned += 1
            else:
                result.tests_failed += 1
        elif status == "success":
            result.models += 1
        if status in ("error", "fail", "runtime error"):
            result.failures.append(f"{unique_id}: {status} ({(node.get('message') or '').strip()[:300]})")
    if done.returncode != 0:
        if not nodes:
            result.failures.append(f"dbt {command} did not run (exit {done.returncode})")
        raise BuildFailed(result.failures or [f"dbt {command} failed (see the dbt log under the data dir)"], result)
    return result


def _stamp(
    target: Path,
    run_id: str,
    lake_version: str,
    fingerprint: str,
    full_refresh: bool,
    started_from: str | None,
    settings: Settings,
) -> None:
    """Record in the new warehouse which run built it from which state of the lake, and how:
    `started_from_lake_version` is the lake version of the published build an incremental
    build started from (null on a full refresh). A night's warehouse tests read the rows
    newer than it (dbt_project/macros/night_tests.sql); on Spark they read it from a copy in
    the Spark dir (`SPARK_BUILD_INFO`)."""
    con = duckdb.connect(str(target))
    try:
        con.execute("create schema if not exists audit")
        con.execute(
            f"create or replace table {BUILD_INFO_TABLE} as select ? as run_id, ? as lake_version, "
            "?::timestamptz as built_at, ? as project_fingerprint, ? as build_mode, "
            "?::varchar as started_from_lake_version",
            [run_id, lake_version, datetime.now(UTC), fingerprint, build_mode(full_refresh), started_from],
        )
        if settings.engine == "spark":
            con.execute(f"copy {BUILD_INFO_TABLE} to {literal(str(settings.spark_dir / SPARK_BUILD_INFO))}")
        con.execute("checkpoint")
    finally:
        con.close()


SPARK_BUILD_INFO = "warehouse_build.parquet"
"""audit.warehouse_build's row in the Spark dir, where a Spark session reads it (macros/night_tests.sql)."""


def _published_build_info(settings: Settings) -> dict[str, Any] | None:
    """The published warehouse's row of audit.warehouse_build (None: no usable warehouse)."""
    path = settings.warehouse_path
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        rel = con.sql(f"select * from {BUILD_INFO_TABLE}")
        names, rows = rel.columns, rel.fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def published_run_id(settings: Settings) -> str | None:
    """The run that built the published warehouse (None: no usable warehouse)."""
    info = _published_build_info(settings)
    return info.get("run_id") if info else None


def published_lake_version(settings: Settings) -> str | None:
    """The lake version the published warehouse was built from (None: no usable warehouse)."""
    info = _published_build_info(settings)
    return info.get("lake_version") if info else None


def discard_builds(settings: Settings) -> None:
    """Empty the build area of what a run that never published left there (a failed or
    interrupted build, its identity): a run that builds starts from nothing."""
    shutil.rmtree(settings.build_dir, ignore_errors=True)
