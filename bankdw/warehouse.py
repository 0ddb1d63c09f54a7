"""Building the warehouse with dbt into a new DuckDB file, and publishing it atomically.

Readers (analysts, BI tools) hold the published file open read-only; DuckDB lets no writer
in beside them. So a build never touches the published file: it writes
`_build/bank-<run_id>.duckdb`, and only when dbt's models and tests all pass is that file
renamed over the published path (an atomic rename on one file system). Open readers keep
the old file until they reconnect; a failed build leaves the published file as it was.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bankdw.config import Settings

log = logging.getLogger(__name__)

BUILD_INFO_TABLE = "audit.warehouse_build"


class BuildFailed(Exception):
    """dbt could not build or test the new warehouse; the published one is untouched."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("the warehouse build failed: " + "; ".join(failures[:10]))


@dataclass
class BuildResult:
    path: Path
    seconds: float
    models: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    failures: list[str] = field(default_factory=list)


def build_path(settings: Settings, run_id: str) -> Path:
    return settings.build_dir / f"bank-{run_id}.duckdb"


@contextmanager
def _dbt_environment(settings: Settings, target: Path) -> Iterator[None]:
    """The environment variables `dbt_project/profiles.yml` and the sources read."""
    values = {
        "BANKDW_LAKE_DIR": str(settings.lake_dir),
        "BANKDW_DBT_PATH": str(target),
        "BANKDW_TIMEZONE": settings.timezone,
        "BANKDW_REPORTING_CURRENCY": settings.reporting_currency,
        "BANKDW_DBT_THREADS": str(settings.dbt_threads),
        "BANKDW_PHONE_REGION": settings.phone_region,
        "BANKDW_IDENTITY_MATCH_THRESHOLD": str(settings.identity_match_threshold),
        "BANKDW_IDENTITY_PROBABILISTIC": str(settings.identity_probabilistic).lower(),
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_args(settings: Settings, command: str) -> list[str]:
    project = settings.dbt_project_dir
    return [
        command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(settings.root / "dbt" / "target"),
        "--log-path",
        str(settings.root / "dbt" / "logs"),
    ]


def build(settings: Settings, run_id: str, lake_version: str) -> BuildResult:
    """`dbt build` (seeds, models, tests) into a new file; raises BuildFailed on any error."""
    # dbt is heavy to import: only when a build runs.
    from dbt.cli.main import dbtRunner
    from dbt.contracts.results import RunExecutionResult

    target = build_path(settings, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    t0 = time.monotonic()
    with _dbt_environment(settings, target):
        outcome = dbtRunner().invoke(dbt_args(settings, "build"))
    result = BuildResult(path=target, seconds=time.monotonic() - t0)
    nodes: list[Any] = list(outcome.result) if isinstance(outcome.result, RunExecutionResult) else []
    for node in nodes:
        status = str(node.status)
        resource = node.node.resource_type
        if resource == "test":
            if status == "pass":
                result.tests_passed += 1
            elif status == "warn":
                result.tests_warned += 1
            else:
                result.tests_failed += 1
        elif status == "success":
            result.models += 1
        if status in ("error", "fail", "runtime error"):
            result.failures.append(f"{node.node.unique_id}: {status} ({(node.message or '').strip()[:300]})")
    if not outcome.success:
        if outcome.exception is not None:
            result.failures.append(f"dbt did not run: {outcome.exception}")
        raise BuildFailed(result.failures or ["dbt build failed (see the dbt log under the data dir)"])
    _stamp(target, run_id, lake_version)
    log.info(
        "dbt build: %d models, %d tests passed, %d warned (%.1fs)",
        result.models,
        result.tests_passed,
        result.tests_warned,
        result.seconds,
    )
    return result


def _stamp(target: Path, run_id: str, lake_version: str) -> None:
    """Record in the new warehouse which run built it from which state of the lake."""
    con = duckdb.connect(str(target))
    try:
        con.execute("create schema if not exists audit")
        con.execute(
            f"create or replace table {BUILD_INFO_TABLE} as select ? as run_id, ? as lake_version, "
            "?::timestamptz as built_at",
            [run_id, lake_version, datetime.now(UTC)],
        )
        con.execute("checkpoint")
    finally:
        con.close()


def publish(settings: Settings, built: Path) -> Path:
    """Move the built file over the published path in one atomic rename."""
    published = settings.warehouse_path
    published.parent.mkdir(parents=True, exist_ok=True)
    built.replace(published)
    log.info("published %s", published)
    return published


def published_lake_version(settings: Settings) -> str | None:
    """The lake version the published warehouse was built from (None: no usable warehouse)."""
    path = settings.warehouse_path
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = con.sql(f"select lake_version from {BUILD_INFO_TABLE}").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return rows[0][0] if rows else None


def discard_builds(settings: Settings, keep: Path | None = None) -> None:
    """Remove build files that were never published (failed or interrupted builds)."""
    if settings.build_dir.is_dir():
        for path in settings.build_dir.glob("bank-*.duckdb*"):
            if keep is None or path.name != keep.name:
                path.unlink(missing_ok=True)
