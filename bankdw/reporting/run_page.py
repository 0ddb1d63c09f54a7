"""The run summary page a data engineer opens in a browser: `<data>/runs/<run_id>/report.html`.

One self-contained HTML file (no scripts, no network), rewritten after every step of the
run, so that it shows where a run stopped as well as what a finished run did. In the order a
person needs it: what failed and what warned (the run's failures and warnings, and every
failing or warning check, with its failing rows and examples), then the run's facts and what
was published or why not, the deliveries as one table, and the checks and dbt tests as counts
by outcome (the passing ones are counted, not listed: a night runs hundreds). It holds
example rows, i.e. customer data: it lives in the data dir, never in the repository.

Written with `html.escape` and f-strings rather than a template engine: the page is a few
tables, and no template library is a direct dependency of the project.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bankdw.config import Settings

if TYPE_CHECKING:
    from bankdw.reporting.run_report import RunReport

PAGE = "report.html"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.failed { background: #fde2e2; } .warned { background: #fff4d6; } .passed { color: #555; }
.outcome-FAILED { color: #b00020; } .outcome-SUCCESS { color: #1b7a1b; } .outcome-REFUSED { color: #b36b00; }
code, pre { font-size: 0.85rem; white-space: pre-wrap; }
"""
ORDER = {"failed": 0, "warned": 1, "passed": 2}


def page_path(settings: Settings, run_id: str) -> Path:
    return settings.runs_dir / run_id / PAGE


def write_run_page(settings: Settings, report: RunReport) -> Path:
    folder = settings.runs_dir / report.run_id
    feed_checks = _read_json(folder / "gates.json", {}).get("results", [])
    dbt_tests = _read_json(folder / "dbt_tests.json", [])
    body = [
        f"<h1>bankdw run {escape(report.run_id)}: "
        f"<span class='outcome-{escape(report.outcome)}'>{escape(report.outcome)}</span></h1>",
        _attention(report, feed_checks, dbt_tests),
        _facts(report),
        _publication(settings, report),
        _deliveries(report),
        _feed_checks(feed_checks),
        _warehouse_tests(dbt_tests, report),
        _data_docs(folder),
    ]
    html = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>bankdw run {escape(report.run_id)} {escape(report.outcome)}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = folder / PAGE
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def _read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = []
    for i, row in enumerate(rows):
        css = f" class='{classes[i]}'" if classes else ""
        lines.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(lines) + "\n</table>"


def _facts(report: RunReport) -> str:
    steps = ", ".join(f"{escape(k)} {v:.1f}s" for k, v in report.step_seconds.items())
    return _table(
        ["started (UTC)", "business date", "last step", "checks", "time"],
        [
            [
                escape(report.started_at),
                escape(report.business_date or "-"),
                escape(report.step),
                f"{report.checks_passed} passed, {report.checks_warned} warned, {report.checks_failed} failed",
                f"{report.seconds:.1f}s ({steps})",
            ]
        ],
    )


def _publication(settings: Settings, report: RunReport) -> str:
    if report.published:
        text = f"Published: <code>{escape(report.published)}</code> (version {escape(report.run_id)})."
    elif report.outcome == "FAILED":
        text = (
            f"<strong>Not published: the run failed at step {escape(report.step)}.</strong> "
            f"The published warehouse <code>{escape(str(settings.warehouse_path))}</code> was left as it was."
        )
    elif report.outcome == "RUNNING":
        text = f"Running: step {escape(report.step)}."
    else:
        text = "Nothing new was built: the published warehouse is unchanged."
    parts = [f"<h2>Publication</h2><p>{text}</p>"]
    if report.notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>")
    return "\n".join(parts)


def _deliveries(report: RunReport) -> str:
    """One row per delivery: loaded, refused, held back or waiting, and why; then the rows of
    each feed file."""
    rows: list[list[str]] = []
    classes: list[str] = []
    for label in report.deliveries_loaded:
        rows.append([escape(label), "loaded", ""])
        classes.append("passed")
    for label, problems in report.deliveries_refused.items():
        rows.append([escape(label), "refused", escape("; ".join(problems))])
        classes.append("failed")
    for label, checks in report.deliveries_held.items():
        rows.append([escape(label), "held back (gated again next run)", escape("; ".join(checks))])
        classes.append("failed")
    for label in report.deliveries_waiting:
        rows.append([escape(label), "waiting for its manifest", ""])
        classes.append("warned")
    parts = [f"<h2>Deliveries ({len(report.deliveries_loaded)} loaded)</h2>"]
    if rows:
        parts.append(_table(["delivery", "status", "why"], rows, classes))
    for system, checks in report.systems_blocked.items():
        parts.append(f"<p class='failed'>Blocked {escape(system)}: {escape('; '.join(checks))}</p>")
    if report.rows:
        counts = [
            [escape(feed), f"{c['delivered']:,}", f"{c['loaded']:,}", f"{c['quarantined']:,}"]
            for feed, c in sorted(report.rows.items())
        ]
        parts.append(_table(["feed file", "delivered", "loaded", "quarantined"], counts))
    return "\n".join(parts)


def _outcome(check: dict[str, Any]) -> str:
    if check["success"]:
        return "passed"
    return "warned" if check["severity"] == "warning" else "failed"


def _feed_checks(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "<h2>Feed gates</h2><p>No feed gate ran.</p>"
    summary, where = _tally([_outcome(c) for c in checks])
    return f"<h2>Feed gates ({summary})</h2><p>{where}</p>"


def _check_table(checks: list[dict[str, Any]]) -> str:
    rows, classes = [], []
    for check in checks:
        label = check["expectation"] + (f"({check['column']})" if check.get("column") else "")
        if check.get("condition"):
            label += f" where {check['condition']}"
        examples = json.dumps(check.get("examples") or [], indent=1, default=str) if check.get("examples") else ""
        rows.append(
            [
                escape(check["feed"]),
                escape(label),
                escape(check["severity"]),
                escape(_outcome(check)),
                str(check.get("unexpected_count") or 0),
                escape(check.get("note") or ""),
                f"<pre>{escape(examples)}</pre>" if examples else "",
            ]
        )
        classes.append(_outcome(check))
    return _table(["feed / system", "check", "severity", "outcome", "failing rows", "note", "examples"], rows, classes)


def _warehouse_tests(tests: list[dict[str, Any]], report: RunReport) -> str:
    if not tests:
        why = "the run built nothing" if not report.built and report.outcome != "FAILED" else "no dbt test results"
        return f"<h2>Warehouse tests (dbt)</h2><p>None: {escape(why)}.</p>"
    summary, where = _tally([t["outcome"] for t in tests])
    return f"<h2>Warehouse tests (dbt: {summary})</h2><p>{where}</p>"


def _tally(outcomes: list[str]) -> tuple[str, str]:
    """The counts by outcome, and where those that did not pass are: listed once, at the top of
    the page (`_attention`)."""
    counts = {o: outcomes.count(o) for o in ORDER}
    summary = f"{counts['failed']} failed, {counts['warned']} warned, {counts['passed']} passed"
    if counts["passed"] == len(outcomes):
        return summary, "Every one passed."
    return summary, "Those that did not pass are listed above, under Failures and Warnings."


def _test_table(tests: list[dict[str, Any]]) -> str:
    rows = [
        [
            escape(t["check_id"]),
            escape(t["severity"]),
            escape(t["outcome"]),
            str(t["failing_rows"]),
            escape(t.get("note") or ""),
        ]
        for t in tests
    ]
    return _table(["test", "severity", "outcome", "failing rows", "message"], rows, [t["outcome"] for t in tests])


def _attention(report: RunReport, feed_checks: list[dict[str, Any]], tests: list[dict[str, Any]]) -> str:
    """What needs a person, first: the run's failures, then its warnings, each with the checks
    and dbt tests behind them."""
    feed_checks = sorted(feed_checks, key=lambda c: c["feed"])
    tests = sorted(tests, key=lambda t: t["check_id"])
    failed_checks = [c for c in feed_checks if _outcome(c) == "failed"]
    warned_checks = [c for c in feed_checks if _outcome(c) == "warned"]
    failed_tests = [t for t in tests if t["outcome"] == "failed"]
    warned_tests = [t for t in tests if t["outcome"] == "warned"]
    parts = []
    if report.failures or failed_checks or failed_tests:
        parts.append("<h2 id='failures' class='failed'>Failures</h2>")
        if report.failures:
            parts.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in report.failures) + "</ul>")
        if failed_checks:
            parts.append(_check_table(failed_checks))
        if failed_tests:
            parts.append(_test_table(failed_tests))
    if report.warnings or warned_checks or warned_tests:
        parts.append("<h2 id='warnings' class='warned'>Warnings</h2>")
        if report.warnings:
            parts.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in report.warnings[:200]) + "</ul>")
        if warned_checks:
            parts.append(_check_table(warned_checks))
        if warned_tests:
            parts.append(_test_table(warned_tests))
    if not parts:
        return "<p id='all-clear'>No failures, no warnings.</p>"
    return "\n".join(parts)


def _data_docs(folder: Path) -> str:
    index = folder / "data_docs" / "index.html"
    if not index.exists():
        return ""
    link = "<a href='data_docs/index.html'>Validation pages per feed file</a>"
    return f"<h2>Great Expectations Data Docs</h2><p>{link}</p>"
