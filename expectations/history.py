"""The history of every check of every run: feed gates before commit, the warehouse's dbt tests
after the build.

Every check of every run is kept in the lake, one file per run and stage
(`<lake>/_audit/checks/<run_id>.<stage>.parquet`): the warehouse file is rebuilt each run,
the lake is not. dbt exposes them as `audit.check_results`, and the warehouse gate adds its own
test results to the new warehouse before it is published, so the published file always holds
the checks that let it through. The run's folder (`<data>/runs/<run_id>/`) holds the same
results as JSON for the HTML run page (`bankdw.reporting.run_page`), and the GX Data Docs pages.

This module knows paths, not the installation's settings: the pipeline passes the lake and the
run's folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from expectations.batches import DEFAULT_SLICE_ROWS
from expectations.results import CheckResult, GateReport
from extract.contract import FeedAgreement
from extract.lake import Lake, write_atomically
from extract.sql import DuckDBConfig, literal, path_pattern

log = logging.getLogger(__name__)

CHECKS_DIR = Path("_audit") / "checks"
DBT_TESTS_FILE = "dbt_tests.json"
DATA_DOCS_DIR = "data_docs"
DIFFERENCE = "difference"
"""The column a warehouse test returns per broken row to have its differences measured."""
MEASURED_ON_SPARK = "test_differences.json"
"""In the Spark dir: the measured differences of the warehouse tests, by test id, written by the dbt
process that ran them (bankdw.dbt_command.measure_differences): a test's SQL on Spark is Spark's,
which DuckDB cannot run over the build's views."""


def differences_sql(test_sql: str) -> str:
    """How many rows the test's query `test_sql` returned, their differences' sum and the largest
    (in absolute value): the same SQL on DuckDB and on Spark."""
    return f"select count(*), sum(abs({DIFFERENCE})), max(abs({DIFFERENCE})) from ({test_sql}) as broken"


def differences_note(n: int, total: object, largest: object) -> str | None:
    """What the run's report says of a test's measured differences (None: no row)."""
    if not n:
        return None
    return f"{n} row(s) beyond the amount tolerance: sum of differences {total}, largest {largest}"


CHECK_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("checked_at", pa.timestamp("us", tz="UTC")),
        ("stage", pa.string()),
        ("check_id", pa.string()),
        ("subject", pa.string()),
        ("check_name", pa.string()),
        ("column_name", pa.string()),
        ("severity", pa.string()),
        ("outcome", pa.string()),
        ("failing_rows", pa.int64()),
        ("examples", pa.string()),
        ("note", pa.string()),
    ]
)
"""One row per check of a run. stage: feed (GX suites and bank rules) or warehouse (dbt tests);
subject: the feed file, source system or dbt node checked; outcome: passed, warned, failed."""


def checks_dir(lake_dir: Path) -> Path:
    return lake_dir / CHECKS_DIR


def ensure_checks_schema(lake_dir: Path) -> None:
    """A zero-row file, so that dbt's source reads before the first run has checked anything."""
    empty = checks_dir(lake_dir) / "_empty.parquet"
    if not empty.exists():
        write_atomically(CHECK_SCHEMA.empty_table(), empty)


def feed_gates(
    lake: Lake,
    landing_dir: Path,
    gates_config: Path,
    run_folder: Path,
    run_id: str,
    agreement: FeedAgreement,
    batches: Mapping[str, pd.DataFrame],
    as_of: date | None,
    reporting_currency: str,
    held: Sequence[CheckResult] = (),
    duckdb_config: DuckDBConfig | None = None,
    slice_rows: int = DEFAULT_SLICE_ROWS,
) -> GateReport:
    """The GX suites on the staged batches, then the bank rules; the results are written to the
    run's folder (gates.json, Data Docs) and to the lake's check history.

    `held`: blocking failures of an earlier pass of the same run that held deliveries back
    (`bankdw.pipeline.gate_step`); they stay in the results, in place of the same checks'
    outcomes on what is left. `duckdb_config`: of the connections that read the lake (the
    installation's memory limit and where they spill). `slice_rows`: most rows of a feed file
    validated at once (setting `gate_slice_rows`)."""
    from expectations.bank_rules import RuleInputs, lake_keys, run_bank_rules
    from expectations.config import load_gates_config

    config = load_gates_config(gates_config)
    folder = run_folder
    report = GateReport()
    if batches:
        from expectations.gates import run_gates  # GX is slow to import: only when there is a batch

        report = run_gates(
            batches,
            config=config,
            reference_keys=lake_keys(lake, agreement, duckdb_config),
            docs_dir=folder / DATA_DOCS_DIR,
            slice_rows=slice_rows,
        )
        from expectations.data_docs import write_index

        write_index(folder / DATA_DOCS_DIR)
    inputs = RuleInputs(lake, run_id, landing_dir, agreement, as_of, reporting_currency, duckdb_config or {})
    report.results += run_bank_rules(inputs, config)
    held_ids = {check.check_id for check in held}
    report.results = [*held, *(check for check in report.results if check.check_id not in held_ids)]
    report.write_json(folder)
    write_checks(lake.root, run_id, "feed", [_feed_row(check) for check in report.results])
    return report


def _feed_row(check: CheckResult) -> dict[str, Any]:
    return {
        "check_id": check.check_id,
        "subject": check.feed,
        "check_name": check.expectation + (f" where {check.condition}" if check.condition else ""),
        "column_name": check.column,
        "severity": check.severity,
        "outcome": check.outcome,
        "failing_rows": check.unexpected_count,
        "examples": json.dumps(check.examples, default=_json_value) if check.examples else None,
        "note": check.note,
    }


def checks_path(lake_dir: Path, run_id: str, stage: str) -> Path:
    """The file of a run's checks of one stage (feed, warehouse) in the lake's check history."""
    return checks_dir(lake_dir) / f"{run_id}.{stage}.parquet"


def write_checks(lake_dir: Path, run_id: str, stage: str, rows: list[dict[str, Any]]) -> Path:
    ensure_checks_schema(lake_dir)
    now = datetime.now(UTC)
    table = pa.Table.from_pylist(
        [{"run_id": run_id, "checked_at": now, "stage": stage, **row} for row in rows], schema=CHECK_SCHEMA
    )
    path = checks_path(lake_dir, run_id, stage)
    write_atomically(table, path)
    return path


def warehouse_tests(
    run_folder: Path, results: list[dict[str, Any]], built: WarehouseBuild | None = None
) -> list[dict[str, Any]]:
    """The check rows of a dbt invocation's data and unit tests (`BuildResult.test_results`),
    also written to the run's folder for its report. With `built`, each test's severity is the
    one configured (a passing test configured to warn is a warning check), and a test that
    returns a `difference` per broken row (assert_balances_roll_forward) is measured: how many
    rows broke, the sum and the largest difference, even when they stay within its tolerance."""
    rows = []
    for node in results:
        unique_id: str = node["unique_id"]
        status = node["status"]
        outcome = {"pass": "passed", "warn": "warned"}.get(status, "failed")
        configured = built.severity(unique_id) if built else None
        severity = "warning" if status == "warn" or configured == "warn" else "blocking"
        measured = built.differences(node) if built else None
        message = None if status == "pass" else (node.get("message") or status)[:500]
        rows.append(
            {
                "check_id": unique_id,
                "subject": unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
                "check_name": unique_id.split(".")[0],
                "column_name": None,
                "severity": severity,
                "outcome": outcome,
                "failing_rows": int(node.get("failures") or 0),
                "examples": None,
                "note": "; ".join(part for part in (message, measured) if part) or None,
            }
        )
    run_folder.mkdir(parents=True, exist_ok=True)
    (run_folder / DBT_TESTS_FILE).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


@dataclass(frozen=True)
class WarehouseBuild:
    """The file a run's tests ran on and dbt's manifest of them (`<target>/manifest.json`)."""

    path: Path
    manifest: Path
    search_path: Path | None = None
    """Where the relative lake paths of its views resolve from: the data dir dbt ran in."""
    measured: Path | None = None
    """A build on Spark: the differences its dbt process measured (`MEASURED_ON_SPARK`)."""

    @cached_property
    def _nodes(self) -> dict[str, Any]:
        if not self.manifest.exists():
            return {}
        nodes: dict[str, Any] = json.loads(self.manifest.read_text(encoding="utf-8")).get("nodes", {})
        return nodes

    def severity(self, unique_id: str) -> str | None:
        """The test's configured severity: `error` or `warn` (None: not in the manifest)."""
        config = (self._nodes.get(unique_id) or {}).get("config") or {}
        severity = config.get("severity")
        return str(severity).lower() if severity else None

    def differences(self, node: dict[str, Any]) -> str | None:
        """How many rows a test returning a `difference` column returned, their sum and the largest
        (in absolute value); None for any other test."""
        sql = node.get("compiled_code") or ""
        if not node["unique_id"].startswith("test.") or DIFFERENCE not in sql:
            return None
        if self.measured is not None:
            found = json.loads(self.measured.read_text(encoding="utf-8")) if self.measured.exists() else {}
            return found.get(node["unique_id"])
        if not self.path.exists():
            return None
        try:
            config: dict[str, str | bool | int | float | list[str]] = (
                {"file_search_path": str(self.search_path)} if self.search_path else {}
            )
            with duckdb.connect(str(self.path), read_only=True, config=config) as con:
                if DIFFERENCE not in con.sql(f"select * from ({sql}) limit 0").columns:
                    return None
                n, total, largest = con.sql(differences_sql(sql)).fetchall()[0]
        except duckdb.Error as exc:
            log.warning("could not measure the differences of %s: %s", node["unique_id"], exc)
            return None
        return differences_note(n, total, largest)


def record_warehouse_tests(
    lake_dir: Path,
    run_folder: Path,
    run_id: str,
    test_results: list[dict[str, Any]],
    into_build: Path | None,
    built: WarehouseBuild | None = None,
) -> list[dict[str, Any]]:
    """Keep the dbt test results (run_results entries) in the lake's history and, with `into_build`
    (the tests passed, that file will be published), in its `audit.check_results` too. Returns
    the check rows recorded."""
    rows = warehouse_tests(run_folder, test_results, built)
    if not rows:
        return rows
    path = write_checks(lake_dir, run_id, "warehouse", rows)
    if into_build is not None and into_build.exists():
        con = duckdb.connect(str(into_build))
        try:
            con.execute(
                "insert into audit.check_results by name select * exclude (checked_at), "
                f"checked_at::timestamptz as checked_at from read_parquet({literal(path_pattern(path))})"
            )
            con.execute("checkpoint")
        finally:
            con.close()
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
