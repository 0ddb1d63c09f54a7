"""The Airflow DAG: it imports cleanly, is configured as agreed, and really runs end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.conftest import simulate_bank

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == ["bank_nightly"]


def test_bank_nightly_is_configured_as_agreed(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["bank_nightly"]
    # given the DAG, then it is tagged, one run at a time, and its schedule is in the bank's time zone
    assert {"bankdw", "nightly"} <= set(dag.tags)
    assert dag.max_active_runs == 1 and dag.catchup is False
    timetable = dag.timetable.serialize()
    assert (timetable["expression"], timetable["timezone"]) == ("30 2 * * *", "Asia/Shanghai")
    # and transient failures are retried, gates and sensors never
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert retries["feed_gates"] == 0 and retries["warehouse_gates"] == 0
    assert all(retries[f"wait_for_{s}"] == 0 for s in ("core_banking", "call_center"))
    assert retries["stage"] >= 1 and retries["resolve"] >= 1 and retries["build"] >= 1 and retries["publish"] >= 1
    # and the steps run in order after the three manifests (no cycles: topological sort succeeds)
    order = [t.task_id for t in dag.topological_sort()]
    assert order.index("stage") < order.index("feed_gates") < order.index("commit") < order.index("resolve")
    assert order.index("resolve") < order.index("build")
    assert order.index("build") < order.index("warehouse_gates") < order.index("publish")
    assert dag.get_task("stage").upstream_task_ids == {
        "wait_for_core_banking",
        "wait_for_online_banking",
        "wait_for_call_center",
    }


@pytest.mark.slow
def test_dag_test_runs_the_real_tasks_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a tiny bank with deliveries for 2026-11-16 .. 2026-11-18, except that the call
    # centre sent nothing on 2026-11-18 (closed), and an Airflow database
    data = tmp_path / "data"
    simulate_bank(data / "landing", customers=80, days=3, start=date(2026, 11, 16))
    shutil.rmtree(data / "landing" / "call_center" / "2026-11-18")
    env = os.environ | {"BANKDW_DATA_DIR": str(data)}
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True
    )
    # and a manifest wait that has already run out (settings are read when the DAG is parsed)
    monkeypatch.setenv("BANKDW_DATA_DIR", str(data))
    monkeypatch.setenv("BANKDW_MANIFEST_WAIT_MINUTES", "0")
    monkeypatch.setenv("BANKDW_MANIFEST_POKE_SECONDS", "1")
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).dags["bank_nightly"]
    warehouse = data / "warehouse" / "bank.duckdb"
    # when the runs are backfilled in date order, as `airflow backfill create` runs them:
    # first the run of 2026-11-17 02:30 (business date 2026-11-16) ...
    first = dag.test(logical_date=datetime(2026, 11, 17, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert first.state == "success"
    # ... which loads its own date only, though later dates wait in the landing area
    with duckdb.connect(str(warehouse), read_only=True) as con:
        dates = con.sql("select min(business_date), max(business_date) from marts.fct_account_balance_daily").fetchall()
        assert dates == [(date(2026, 11, 16), date(2026, 11, 16))]
    # then the run of 2026-11-19 02:30 (business date 2026-11-18), with 2026-11-17 still pending
    run = dag.test(logical_date=datetime(2026, 11, 19, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    # then the call centre's wait gave up without failing the run, and every other task succeeded
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states.pop("wait_for_call_center") == "skipped"
    assert states == dict.fromkeys(states, "success"), states
    assert run.state == "success"
    # and the warehouse is published with what arrived: three days of the core system, the
    # later two added incrementally to the first night's warehouse
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("select build_mode from audit.warehouse_build").fetchall() == [("incremental",)]
        dates = con.sql("select min(business_date), max(business_date) from marts.fct_account_balance_daily").fetchall()
        assert dates == [(date(2026, 11, 16), date(2026, 11, 18))]
        loads = con.sql(
            "select system, count(distinct business_date) from audit.loads group by 1 order by 1"
        ).fetchall()
        assert loads == [("call_center", 2), ("core_banking", 3), ("online_banking", 3)]
