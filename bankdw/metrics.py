"""The semantic layer: the bank's metrics (dbt_project/models/semantic/) queried with MetricFlow
against the published warehouse, read-only.

MetricFlow plans a query from dbt's semantic manifest and renders it as DuckDB SQL; this module
runs that SQL on a read-only connection of the published file. Not through `mf` (dbt-metricflow's
CLI) or its dbt-adapter client: those open the warehouse through dbt-duckdb's profile, which
opens its file for writing (a published file is read-only, and DuckDB lets no writer in beside
readers), and read the manifest only from `<project>/target/`. MetricFlow's own engine and
DuckDB renderer do the work; the few lines of `ReadOnlyDuckDBClient` are the glue.

The semantic manifest is the one of the published version: publish keeps it beside the dbt docs
(`bankdw.docs.published_semantic_manifest`); before any publish has kept one, the build's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from bankdw.config import Settings

log = logging.getLogger(__name__)

SEMANTIC_MANIFEST = "semantic_manifest.json"


class MetricsUnavailable(Exception):
    """Nothing is published yet, or no semantic manifest was kept with it."""


@dataclass(frozen=True)
class MetricResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _quiet_metricflow() -> None:
    """MetricFlow logs every planning step at INFO; show them only with `bankdw -v`."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        for name in ("metricflow", "metricflow_semantics"):
            logging.getLogger(name).setLevel(logging.WARNING)


def semantic_manifest_path(settings: Settings) -> Path:
    """The semantic manifest of the published version (kept by publish beside the docs), else
    the last build's."""
    from bankdw.docs import published_semantic_manifest

    kept = published_semantic_manifest(settings)
    if kept.exists():
        return kept
    return settings.root / "dbt" / "target" / SEMANTIC_MANIFEST


class ReadOnlyDuckDBClient:
    """MetricFlow's SqlClient protocol on a read-only DuckDB connection (see the module's doc)."""

    def __init__(self, path: Path) -> None:
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self._con = duckdb.connect(str(path), read_only=True)
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    @property
    def sql_engine_type(self) -> Any:
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> Any:
        return self._renderer

    def query(self, stmt: str, sql_bind_parameter_set: Any = None) -> Any:
        from metricflow.data_table.mf_table import MetricFlowDataTable

        self._refuse_bind_parameters(sql_bind_parameter_set)
        cursor = self._con.execute(stmt)
        columns = [d[0] for d in cursor.description or []]
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        self._refuse_bind_parameters(sql_bind_parameter_set)
        self._con.execute(stmt)

    def dry_run(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        self._refuse_bind_parameters(sql_bind_parameter_set)
        self._con.execute(f"explain {stmt}")

    def close(self) -> None:
        self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    @staticmethod
    def _refuse_bind_parameters(parameters: Any) -> None:
        if parameters is not None and parameters.param_dict:
            raise ValueError("bind parameters are not used by MetricFlow's metric queries here")


class Metrics:
    """MetricFlow on the published warehouse: `query`, `explain`, `list`. Close it (or use
    `with`): it holds a read-only connection of the published file."""

    def __init__(self, settings: Settings) -> None:
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        _quiet_metricflow()
        if not settings.warehouse_path.exists():
            raise MetricsUnavailable(f"nothing is published at {settings.warehouse_path}: run `bankdw run` first")
        manifest_path = semantic_manifest_path(settings)
        if not manifest_path.exists():
            raise MetricsUnavailable(f"no semantic manifest at {manifest_path}: publish a build first")
        manifest = parse_manifest_from_dbt_generated_manifest(manifest_path.read_text(encoding="utf-8"))
        self._client = ReadOnlyDuckDBClient(settings.warehouse_path)
        self._engine = MetricFlowEngine(SemanticManifestLookup(manifest), self._client)

    def __enter__(self) -> Metrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _request(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str],
        where: Sequence[str],
        order_by: Sequence[str],
        limit: int | None,
    ) -> Any:
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        return MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            where_constraints=list(where) or None,
            order_by_names=list(order_by) or None,
            limit=limit,
        )

    def query(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        where: Sequence[str] = (),
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> MetricResult:
        """The metrics by `group_by` (e.g. `metric_time__month`, `product__product_family`).
        MetricFlow writes the SQL (`explain`); it runs here, so that money comes back as DuckDB's
        DECIMAL (Python's Decimal), not as the floats of MetricFlow's own result table."""
        sql = self.explain(metrics, group_by, where, order_by, limit)
        cursor = self._client.connection.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return MetricResult(columns, [tuple(row) for row in cursor.fetchall()], sql)

    def explain(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        where: Sequence[str] = (),
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> str:
        """The SQL MetricFlow writes for the query."""
        explained = self._engine.explain(self._request(metrics, group_by, where, order_by, limit))
        return str(explained.sql_statement.sql)

    def list(self) -> list[tuple[str, str, list[str]]]:
        """Every metric: its name, description and the dimensions it can be grouped by."""
        listed = []
        for metric in self._engine.list_metrics(include_dimensions=True):
            dimensions = sorted(d.dunder_name for d in metric.dimensions)
            listed.append((metric.name, metric.description or "", dimensions))
        return sorted(listed)


def write_csv(result: MetricResult, path: Path) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
