"""What a run and `bankdw status` tell the user, as text."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bankdw.config import Settings

if TYPE_CHECKING:
    from bankdw.reporting.run_report import RunReport


def _beside_python(command: str) -> str:
    """A command of the running environment (.venv/bin/duckdb), as the user can type it."""
    path = Path(sys.executable).parent / command
    if not path.exists():
        return command
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def query_hint(settings: Settings) -> list[str]:
    path = settings.warehouse_path
    top5 = "select * from marts.customer_360 order by contribution_12m desc limit 5"
    if settings.engine == "spark":  # customer_360 is not built on Spark yet (docs/spark.md)
        top5 = "select * from marts.fct_customer_profitability_monthly order by contribution desc limit 5"
    count = "select count(*) from marts.dim_customer"
    return [
        f"Warehouse: {path}",
        f'Query it:  {_beside_python("duckdb")} -readonly {path} "{top5}"',
        f'      or:  {_beside_python("python")} -c "import duckdb; '
        f"print(duckdb.connect('{path}', read_only=True).sql('{count}'))\"",
    ]


def format_run(report: RunReport, settings: Settings) -> str:
    lines = []
    if report.outcome == "NOTHING_TO_DO":
        lines.append(f"Nothing new to load (run {report.run_id}, {report.seconds:.1f}s): the warehouse is up to date.")
    else:
        lines.append(f"Run {report.run_id}: {report.outcome} in {report.seconds:.1f}s")
    by_system = Counter(label.split("/")[0] for label in report.deliveries_loaded)
    if report.deliveries_loaded:
        per_system = ", ".join(f"{system} {n}" for system, n in by_system.items())
        lines.append(f"Deliveries loaded: {len(report.deliveries_loaded)} ({per_system})")
    for label, problems in report.deliveries_refused.items():
        lines.append(f"Delivery REFUSED: {label}: {'; '.join(problems)}")
    if report.deliveries_waiting:
        lines.append(f"Waiting for a manifest: {', '.join(report.deliveries_waiting)}")
    if report.deliveries_held:
        lines.append(f"Held back by the feed gate, gated again next run: {', '.join(report.deliveries_held)}")
    for system, checks in report.systems_blocked.items():
        more = f" (+{len(checks) - 3} more)" if len(checks) > 3 else ""
        lines.append(f"Blocked {system}: " + "; ".join(checks[:3]) + more)
    if report.rows:
        # the total, and the feed files that lost rows to the quarantine (each feed: the run page)
        loaded = sum(c["loaded"] for c in report.rows.values())
        quarantined = {feed: c["quarantined"] for feed, c in sorted(report.rows.items()) if c["quarantined"]}
        lines.append(
            f"Rows loaded: {loaded:,} from {len(report.rows)} feed files; quarantined: {sum(quarantined.values()):,}"
        )
        lines += [f"  {feed:36} {n:>8,} quarantined" for feed, n in quarantined.items()]
    lines.append(
        f"Checks: {report.checks_passed} passed, {report.checks_failed} failed, {report.checks_warned} warnings"
    )
    lines += [f"  {w}" for w in report.warnings[:10]]
    if len(report.warnings) > 10:
        lines.append(f"  ... and {len(report.warnings) - 10} more warnings (run page)")
    lines += [f"Note: {n}" for n in report.notes]
    if report.failures:
        lines.append(f"FAILED at {report.step}:")
        lines += [f"  {f}" for f in report.failures[:20]]
        lines.append("The published warehouse was left as it was.")
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in report.step_seconds.items())
    lines.append(f"Steps: {steps}")
    if settings.warehouse_path.exists():
        lines += query_hint(settings)
    return "\n".join(lines)


def format_status(settings: Settings) -> str:
    from bankdw.reporting.run_report import RunReport
    from extract.contract import load_agreement
    from extract.lake import Lake
    from extract.load import landing_state

    state = landing_state(settings.landing_dir, Lake(settings.lake_dir), load_agreement())
    lines = [f"Landing area: {settings.landing_dir}"]
    for system in load_agreement().systems:
        dates = sorted(d.business_date for d in state.loaded if d.system == system)
        span = f"{dates[0]} .. {dates[-1]}" if dates else "-"
        pending = sum(1 for d in state.pending if d.system == system)
        lines.append(f"  {system:16} loaded {len(dates):4} ({span}), pending {pending}")
    for delivery, reason in state.refused:
        lines.append(f"  REFUSED {delivery.label}: {reason}")
    for delivery in state.incomplete:
        lines.append(f"  waiting for a manifest: {delivery.label}")
    latest = RunReport.latest(settings)
    if latest is None:
        lines.append("Last run: none")
    else:
        from bankdw.pipeline import run_is_alive

        outcome, step = latest.outcome, f"step {latest.step}"
        if outcome == "RUNNING" and not run_is_alive(settings):
            outcome, step = "KILLED", f"stopped in step {latest.step}; no process holds the run lock"
        lines.append(f"Last run: {latest.run_id} {outcome} ({step}, {latest.seconds:.1f}s)")
        lines += [f"  {f}" for f in latest.failures[:10]]
    lines += query_hint(settings) if settings.warehouse_path.exists() else ["Warehouse: not published yet"]
    return "\n".join(lines)


def format_versions(settings: Settings) -> str:
    """The kept warehouse versions, newest first, the published one marked."""
    from bankdw.publish import list_versions

    versions = list_versions(settings)
    if not versions:
        return "Versions: none kept yet"
    lines = [f"Versions kept (newest first, up to {settings.keep_versions}; `bankdw rollback --to VERSION`):"]
    for v in versions:
        mark = "*" if v.published else " "
        lines.append(
            f" {mark} {v.run_id}  lake {v.lake_version or '?'}  built {v.built_at or '?'}  {v.size_bytes / 1e6:.1f} MB"
        )
    return "\n".join(lines)


def format_table(columns: list[str], rows: list[tuple[object, ...]]) -> str:
    """Rows as a plain aligned text table: numbers right-aligned, dates as dates (a metric's
    `metric_time` comes back as a midnight timestamp)."""

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime) and value.time() == datetime.min.time():
            return value.date().isoformat()
        return str(value)

    cells = [[text(value) for value in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in rows) for i in range(len(columns))
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])
