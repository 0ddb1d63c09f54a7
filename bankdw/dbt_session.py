"""One dbt process for the dbt commands of a night: the build and the warehouse tests.

Every dbt command runs in a child process (`bankdw.warehouse.run_dbt`: dbt-duckdb holds the
files it opened for the life of its process). A fresh `dbt` process costs about 10 s before
its first node runs: importing dbt, loading the saved parse, writing manifest.json. A night
runs two commands (`build`, then `test` as the warehouse gate), so `bankdw run` opens a session
(`dbt_session`) and both run in one worker process: dbt is imported once, the project parsed
once (`dbt parse`, then each command with that manifest: `dbtRunner(manifest=...)`, dbt's own
programmatic API). Measured on the test bank: 55-60 s a night for build and tests instead of
66-73 s in two processes (issue 20).

Between commands the worker closes dbt-duckdb's database (dbt-duckdb keeps it open for the life
of the process, `keep_open`), so the pipeline's own work on the build file between the build and
the tests (its stamp, its notes, the test results it records) opens it as before.

On Spark (setting engine, dbt-spark's session mode) the worker keeps Spark's session for both
commands, as `bankdw.dbt_command` runs one (`invoke_on_spark`: the normalisation functions
registered, the built tables described): one JVM, one Spark start and one metastore start a night
instead of two (the pipeline reads the build from the tables' files meanwhile, never through
Spark). The session ends with the worker, before the build is published.

The worker dies with the process that started it: it reads its commands from a pipe. When the
pipe closes between commands (the pipeline is done) it ends normally; when it closes in the
middle of one (the pipeline was killed while dbt builds) it exits at once, whatever dbt is
doing: a killed night leaves no dbt behind still writing a build file.

The scheduler runs each step in a process of its own (dags/bank_nightly.py): there each command
keeps its own `dbt` process, as does every command outside a session.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from bankdw.config import Settings
from bankdw.dbt_command import COLLECTOR_THRESHOLDS, invoke_on_spark, on_spark

_session: ContextVar[DbtSession | None] = ContextVar("dbt_session", default=None)

RUN_RESULTS = "run_results.json"
"""dbt's artifact of a command's results, in its target path."""

EXCEPTION = 2
"""The exit code of a dbt command that raised (as dbt's own command line): 1 is a failed node."""


class DbtSession:
    """The parent's side: a worker process started on the first command, in the data dir dbt runs in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._worker: subprocess.Popen[str] | None = None
        self._replies: IO[str] | None = None

    def run(
        self,
        common: list[str],
        command: str,
        extra: list[str],
        environment: dict[str, str],
        named: dict[str, str] | None = None,
    ) -> int:
        """Run `dbt <command> <common> <extra>` in the worker with `environment` and `named` added
        to this process's; returns its exit code (0 success, 1 a node failed, 2 dbt raised).
        `environment` is part of what dbt's parse holds for; `named` (read only when nodes run,
        `bankdw.warehouse.run_dbt`) is not, so the session's parse serves whatever it says."""
        worker, replies = self._start()
        request = {
            "common": common,
            "command": command,
            "extra": extra,
            "environment": environment,
            "named": named or {},
        }
        assert worker.stdin is not None
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            reply = replies.readline()
        except BrokenPipeError:
            reply = ""
        if not reply:  # the worker died: the next command starts another
            self.close()
            return EXCEPTION
        return int(json.loads(reply)["returncode"])

    def _start(self) -> tuple[subprocess.Popen[str], IO[str]]:
        if self._worker is not None and self._replies is not None and self._worker.poll() is None:
            return self._worker, self._replies
        read_end, write_end = os.pipe()
        try:
            self._worker = subprocess.Popen(
                [sys.executable, "-m", "bankdw.dbt_session", str(write_end)],
                cwd=self.root,
                stdin=subprocess.PIPE,
                pass_fds=(write_end,),
                text=True,
            )
        finally:
            os.close(write_end)
        self._replies = os.fdopen(read_end, encoding="utf-8")
        return self._worker, self._replies

    def close(self) -> None:
        """Let the worker go (it exits when its command pipe closes), waiting for it."""
        worker, replies, self._worker, self._replies = self._worker, self._replies, None, None
        if worker is not None:
            if worker.stdin is not None:
                worker.stdin.close()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if replies is not None:
            replies.close()


@contextmanager
def dbt_session(settings: Settings) -> Iterator[None]:
    """Run the dbt commands of `settings`' data dir made inside the block in one worker process."""
    session = DbtSession(settings.root)
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)
        session.close()


def active_session(settings: Settings) -> DbtSession | None:
    """The session open for `settings`' data dir, if any."""
    session = _session.get()
    return session if session is not None and session.root == settings.root else None


# The worker's side


def _close_duckdb() -> None:
    """Release the database dbt-duckdb keeps open for the life of the process (`keep_open`),
    so that the parent opens the build file between commands. dbt-duckdb's connection manager
    keeps its environment in a class attribute and offers no call that closes it (its
    `close_all_connections` only forgets it)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
        DuckDBConnectionManager._ENV = None


def _collect_less() -> None:
    """Keep Python's cycle collector off dbt's parsed project, once the worker has it: frozen,
    the manifest (alive as long as the worker anyway) is never traversed again by the passes
    `COLLECTOR_THRESHOLDS` starts (docs/performance.md, item 7)."""
    gc.collect()
    gc.freeze()


_NO_MANIFEST_AGAIN = ("--no-write-json",)
"""Each command of a session runs without writing dbt's JSON artifacts: dbt would write
manifest.json again at its end (4 MB of JSON, about 1.5 s of CPU each time), the same parse the
session's `dbt parse` wrote already; the command's run_results.json is written here instead
(`_write_run_results`)."""


def _write_run_results(result: object, common: list[str]) -> None:
    """Write `<target-path>/run_results.json` as dbt writes it at a command's end (dbt's own
    artifact class, `RunExecutionResult.write`): the pipeline reads the tests' outcomes there.
    Nothing when the command raised (no result) or gave no run result."""
    from dbt.artifacts.schemas.run import RunExecutionResult

    if isinstance(result, RunExecutionResult):
        result.write(str(Path(common[common.index("--target-path") + 1]) / RUN_RESULTS))


def _serve(replies: IO[str]) -> None:
    from dbt.cli.main import dbtRunner

    gc.set_threshold(*COLLECTOR_THRESHOLDS)

    requests: queue.Queue[str | None] = queue.Queue()
    busy = threading.Event()  # a command is asked and not yet answered

    def read_commands() -> None:
        for line in sys.stdin:
            # set here, not when the loop takes the command: a pipeline killed right after asking
            # would otherwise find the command still queued, and it would run to its end unasked
            busy.set()
            requests.put(line)
        if busy.is_set():  # the pipe closed in the middle of a command: the pipeline died
            os._exit(1)  # now, whatever dbt is doing
        requests.put(None)  # between commands: end as any process does (dbt's resources released)

    threading.Thread(target=read_commands, daemon=True).start()
    base = dict(os.environ)
    manifests: dict[str, Any] = {}
    while (line := requests.get()) is not None:
        request = json.loads(line)
        os.environ.clear()
        os.environ.update(base | request["environment"] | request["named"])
        common, command, extra = request["common"], request["command"], request["extra"]
        # dbt's parse holds for the same command line and profile environment (the build file's path)
        key = json.dumps([common, request["environment"]], sort_keys=True)
        try:
            if key not in manifests:
                sys.argv = ["dbt", "parse", *common]  # what dbt's log names as the command
                parsed = dbtRunner().invoke(sys.argv[1:])
                if parsed.success:
                    manifests[key] = parsed.result
                    _collect_less()
            sys.argv = ["dbt", command, *common, *extra]
            if on_spark(common):  # Spark's session, its JVM and its catalog stay up between commands
                done = invoke_on_spark([*sys.argv[1:], *_NO_MANIFEST_AGAIN], manifests.get(key))
            else:
                done = dbtRunner(manifest=manifests.get(key)).invoke([*sys.argv[1:], *_NO_MANIFEST_AGAIN])
            _write_run_results(done.result, common)
            returncode = 0 if done.success else EXCEPTION if done.exception is not None else 1
        except Exception:  # noqa: BLE001 - reported as dbt's command line would: the trace, the exit code
            traceback.print_exc()
            returncode = EXCEPTION
        finally:
            _close_duckdb()
            busy.clear()  # before the reply: the pipeline may close the pipe as soon as it has it
        replies.write(json.dumps({"returncode": returncode}) + "\n")
        replies.flush()


if __name__ == "__main__":
    with os.fdopen(int(sys.argv[1]), "w", encoding="utf-8") as reply_pipe:
        _serve(reply_pipe)
