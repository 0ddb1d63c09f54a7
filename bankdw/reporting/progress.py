"""One line per step of a run as it finishes, for `bankdw run` on a terminal.

The pipeline tells `step_done` when a step ends (`bankdw.pipeline._Step`); whoever shows
progress listens (`listening`): the CLI does, the Airflow DAG does not (its task logs say it).
A line names the step, its time and what it counted, from the run's report:

      stage            5.6 s  3 deliveries, 48,210 rows
      gate            12.8 s  1,204 checks passed, 2 warned, 0 failed

Plain text, no colour codes: the terminal may be a log file or a pipe. Meanwhile everything
else the run writes (dbt's, splink's and the steps' own lines) goes to a log file
(`output_to_log`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bankdw.reporting.run_report import RunReport

Listener = Callable[["RunReport", str, bool], None]
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener(report, step, ok)` whenever a step ends, inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def step_done(report: RunReport, step: str, ok: bool) -> None:
    for listener in list(_listeners):
        listener(report, step, ok)


def step_line(report: RunReport, step: str, ok: bool) -> str:
    """The progress line of a finished step."""
    seconds = report.step_seconds.get(step, 0.0)
    mark = "ok  " if ok else "FAIL"
    return f"  {mark} {step:15} {seconds:6.1f} s  {_counts(report, step)}".rstrip()


def _counts(report: RunReport, step: str) -> str:
    checks = f"{report.checks_passed:,} checks passed, {report.checks_warned} warned, {report.checks_failed} failed"
    if step == "stage":
        rows = sum(c.get("delivered", 0) for c in report.rows.values())
        refused = f", {len(report.deliveries_refused)} refused" if report.deliveries_refused else ""
        return f"{len(report.deliveries_loaded)} deliveries, {rows:,} rows{refused}"
    if step in ("gate", "warehouse_gate"):
        return checks
    if step == "commit":
        loaded = sum(c.get("loaded", 0) for c in report.rows.values())
        return f"{loaded:,} rows into the lake"
    if step == "build":
        return report.build_mode or ""
    if step == "publish":
        return f"published {report.published}" if report.published else "nothing published"
    return ""


@contextmanager
def output_to_log(path: Path, quiet: bool) -> Iterator[TextIO]:
    """While the block works, everything written to the process's stdout and stderr (our log
    lines, splink's warnings, the dbt child processes that inherit them) goes to the log file
    `path`; yields the terminal, for the progress lines. Not quiet (`bankdw -v run`): all stays
    on the terminal. Used by `bankdw run` and the benches under bench/.

    File descriptors rather than logging handlers: dbt runs in child processes that write to
    the descriptors they inherit, and a library's warnings go to whatever stderr is.
    """
    if not quiet:
        yield sys.stdout
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # dbt's lines name tables and failing tests
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    terminal = os.fdopen(os.dup(saved_out), "w", encoding="utf-8")
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, log_fd):
            os.close(fd)
        terminal.close()
