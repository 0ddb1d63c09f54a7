"""The nightly DAG as a bank runs it beyond one machine's SQLite: a real scheduler with the
LocalExecutor and a PostgreSQL metadata database (docs/deployment.md); the same DAG file that
tests/test_dag.py and tests/test_dag_gates.py run on SQLite with `dag.test()`. The night is
one a bank meets: the call centre closed that day, so its sensor gives up and the run goes on.

The test starts every part itself, each in processes of its own as in production: PostgreSQL
from the pgserver wheel (`bankdw.postgres`, as `bankdw serve` does), `airflow db migrate`,
`airflow dags reserialize` (the DAG processor's work, done once instead of a processor parsing
every 30 s), the API server (in Airflow 3 a task reports its state to the API server, never to
the database) and the scheduler, whose LocalExecutor runs every task in a process of its own.
It triggers the night through the REST API with its logical date, as an operator re-running a
night does, and reads the outcome from the metadata database and the published warehouse.

Not `airflow dags trigger -l`: in Airflow 3.3 the CLI infers a manual run's data interval from
the time of triggering, not from the logical date it is given (the REST API and the UI use the
logical date), and the DAG takes its business date from the data interval, so the run would
load the day before today, not the night asked for.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from psycopg import sql

from bankdw.postgres import Server
from tests.conftest import AIRFLOW, DAGS, SYSTEMS, PublishedBank, copy_deliveries, free_port, stop_group

STARTUP_SECONDS = 240
"""How long the API server may take to answer (seconds: it imports all of Airflow on a shared machine)."""
RUN_SECONDS = 900
"""How long the night's run may take (about 3 minutes on 2 shared cores)."""
EVENT_SECONDS = 60
"""How long the scheduler may take to log a task's end after the run's state says success."""
TASKS = (
    *(f"wait_for_{system}" for system in SYSTEMS),
    *("stage", "feed_gates", "commit", "resolve", "build", "warehouse_gates", "publish"),
)


@pytest.fixture
def metadata_db(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A PostgreSQL server of the test's own with an `airflow` login and database: the server,
    and the SQLAlchemy URL without its scheme (`//airflow:<password>@127.0.0.1:<port>/airflow`)."""
    password = secrets.token_urlsafe(18)
    server = Server(
        pgdata=tmp_path / "postgres" / "pgdata",
        socket_dir=tmp_path / "postgres" / "socket",
        port=free_port(),
        admin="postgres_admin",
        hba="host airflow airflow 127.0.0.1/32 scram-sha-256\n",
        log_file=tmp_path / "postgres" / "postgres.log",
    )
    server.start()
    try:
        with server.connect() as con:
            con.execute(sql.SQL("create role airflow login password {}").format(sql.Literal(password)))
            con.execute("create database airflow owner airflow")
        yield server, f"//airflow:{password}@127.0.0.1:{server.port}/airflow"
    finally:
        server.stop()


@contextmanager
def _running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """An Airflow component in a process group of its own, stopped with its children at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            stop_group(process)


def _api(port: int, path: str, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {}),
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _wait_for_api(port: int, api_server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and api_server.poll() is None:
        try:
            if _api(port, "/api/v2/monitor/health")["metadatabase"]["status"] == "healthy":
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise AssertionError(f"the API server did not answer: {_tail(log)}")


def _finished_by_local_executor(scheduler_log: Path) -> set[str]:
    """The tasks whose process the scheduler's LocalExecutor reported ending well (the scheduler's
    log): every task that ran, a sensor that gave up (skipped) included."""
    return set(
        re.findall(
            r"TaskInstance Finished: dag_id=bank_nightly, task_id=(\w+),.* executor=LocalExecutor\(.*"
            r"executor_state=success",
            scheduler_log.read_text(encoding="utf-8", errors="replace"),
        )
    )


def _tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.slow
def test_the_scheduler_runs_the_night_with_the_local_executor_on_postgresql(
    published_bank: PublishedBank, bank_landing: Path, metadata_db: tuple[Server, str], tmp_path: Path
) -> None:
    # given a copy of the shared published bank, its next date's deliveries pending but the
    # call centre's (closed that day), the date after's too, and an Airflow whose metadata
    # database is the PostgreSQL server
    settings = published_bank.copy(tmp_path / "data")
    night = published_bank.next_date
    shutil.rmtree(settings.landing_dir / "call_center" / night.isoformat())
    copy_deliveries(bank_landing, settings.landing_dir, [night + timedelta(days=1)])
    server, url = metadata_db
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg:{url}",
        # Airflow 3.3 would derive asyncpg for its async engine, not installed: psycopg 3 serves both
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"postgresql+psycopg_async:{url}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),  # one secret for every component
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # not 8793: `make airflow-ui` may hold it
        # No scheduled run of today's date beside the night under test; a triggered run still runs.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # The test's own API server, on 127.0.0.1 only: its REST API without logins.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "BANKDW_DATA_DIR": str(settings.root),
        # The call centre's wait gives up at once (the others find their manifests there).
        "BANKDW_MANIFEST_WAIT_MINUTES": "0",
        "BANKDW_MANIFEST_POKE_SECONDS": "1",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    logical = datetime.combine(night + timedelta(days=1), clock(2, 30), tzinfo=ZoneInfo(settings.timezone))
    api_log, scheduler_log = tmp_path / "api-server.log", tmp_path / "scheduler.log"
    # when the API server and the scheduler run, and the night's run is triggered through the REST API
    run: dict[str, Any] = {"state": None}
    with ExitStack() as components:
        api_server = components.enter_context(
            _running([AIRFLOW, "api-server", "-H", "127.0.0.1", "--port", str(api_port)], env, api_log)
        )
        scheduler = components.enter_context(_running([AIRFLOW, "scheduler"], env, scheduler_log))
        subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, check=True, capture_output=True)
        _wait_for_api(api_port, api_server, api_log)
        token = _api(api_port, "/auth/token")["access_token"]
        runs = "/api/v2/dags/bank_nightly/dagRuns"
        run_id = _api(api_port, runs, token, {"logical_date": logical.isoformat()})["dag_run_id"]
        deadline = time.monotonic() + RUN_SECONDS
        while run["state"] not in ("success", "failed") and time.monotonic() < deadline and scheduler.poll() is None:
            time.sleep(2)
            run = _api(api_port, f"{runs}/{run_id}", token)
        # the scheduler logs each task's end as it hears of it from the executor, which may be
        # after the task set its own state and the run's: wait for the last before stopping it
        deadline = time.monotonic() + EVENT_SECONDS
        while run["state"] == "success" and time.monotonic() < deadline:
            if _finished_by_local_executor(scheduler_log) == set(TASKS):
                break
            time.sleep(1)
    finished = _finished_by_local_executor(scheduler_log)
    # then the run's data interval is the night before its logical date, and it succeeded
    assert run["state"] == "success", _tail(scheduler_log)
    assert datetime.fromisoformat(run["data_interval_start"]) == logical - timedelta(days=1)
    # and the call centre's wait gave up without failing the run; every other task succeeded,
    # each in a process of its own, queued by the scheduler and reported back by its
    # LocalExecutor (the one executor configured)
    with server.connect("airflow") as metadata:
        rows = metadata.execute(
            "select ti.task_id, ti.state, ti.pid, job.job_type from task_instance as ti "
            "left join job on job.id = ti.queued_by_job_id where ti.run_id = %s",
            [run_id],
        ).fetchall()
    states = {task: state for task, state, _, _ in rows}
    assert states.pop("wait_for_call_center") == "skipped"
    assert states == dict.fromkeys(set(TASKS) - {"wait_for_call_center"}, "success")
    assert {job for _, _, _, job in rows} == {"SchedulerJob"}
    assert len({pid for _, _, pid, _ in rows if pid is not None}) == len(TASKS)
    # (the skipped sensor too: its process ended well, whatever state the task set)
    assert finished == set(TASKS)
    # and the warehouse is published with what arrived that night, added incrementally to the
    # history's warehouse, though the date after's deliveries wait in the landing area
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.sql("select build_mode from audit.warehouse_build").fetchall() == [("incremental",)]
        latest = con.sql("select max(business_date) from marts.fct_account_balance_daily").fetchall()
        assert latest == [(night,)]
        loads = con.sql("select system, max(business_date) from audit.loads group by 1 order by 1").fetchall()
        assert loads == [
            ("call_center", published_bank.last_date),
            ("core_banking", night),
            ("online_banking", night),
        ]
