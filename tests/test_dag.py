"""The Airflow DAG: it imports cleanly, is configured as agreed, and takes its night from the run."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from bankdw.config import Settings
from bankdw.schedule import business_date_of_run
from tests.conftest import DAGS, PublishedBank, copy_deliveries, nightly_dag

if TYPE_CHECKING:
    from airflow.sdk import DAG


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


def night_without_the_call_centre(
    published_bank: PublishedBank, bank_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, date, DAG]:
    """A copy of the shared bank whose next date has every delivery but the call centre's (closed
    that day), the date after waiting too, an Airflow database, a manifest wait that has already
    run out (settings are read when the DAG is parsed), and the DAG parsed with those settings."""
    settings = published_bank.copy(tmp_path / "data")
    night, later = published_bank.next_date, published_bank.next_date + timedelta(days=1)
    shutil.rmtree(settings.landing_dir / "call_center" / night.isoformat())
    copy_deliveries(bank_landing, settings.landing_dir, [later])
    env = {
        "BANKDW_DATA_DIR": str(settings.root),
        "BANKDW_MANIFEST_WAIT_MINUTES": "0",
        "BANKDW_MANIFEST_POKE_SECONDS": "1",
    }
    return settings, night, nightly_dag(env, monkeypatch)


# The night run end to end, each task for real (the call centre closed that day): by the
# scheduler, tests/test_dag_postgres.py. Feed gates that fail a night under dag.test():
# tests/test_dag_gates.py.


def test_a_run_loads_the_day_before_its_logical_date_whatever_its_interval_or_trigger_time() -> None:
    shanghai, day = ZoneInfo("Asia/Shanghai"), timedelta(days=1)
    scheduled = datetime(2026, 11, 5, 2, 30, tzinfo=shanghai)  # the 02:30 run of the 5th
    assert business_date_of_run(scheduled, scheduled, day, "Asia/Shanghai") == date(2026, 11, 4)
    # `airflow dags trigger -l` a week later: the logical date names the night, not the moment
    # (Airflow 3.3's CLI gives such a run the data interval of the trigger time)
    later = datetime(2026, 11, 12, 15, 0, tzinfo=shanghai)
    assert business_date_of_run(scheduled, later, day, "Asia/Shanghai") == date(2026, 11, 4)
    # no logical date: the day before the trigger, in the bank's time zone (23:00 UTC on the 11th
    # is 07:00 on the 12th in Shanghai)
    assert business_date_of_run(None, later, day, "Asia/Shanghai") == date(2026, 11, 11)
    assert business_date_of_run(None, datetime(2026, 11, 11, 23, 0, tzinfo=UTC), day, "Asia/Shanghai") == date(
        2026, 11, 11
    )


def test_a_run_triggered_without_a_logical_date_waits_for_the_day_before(
    published_bank: PublishedBank, bank_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the next date's deliveries except the call centre's, and the date after's too
    _, night, dag = night_without_the_call_centre(published_bank, bank_landing, tmp_path, monkeypatch)
    # when a run is triggered with no logical date (Airflow 3's API default) at 10:00 the day
    # after the business date; the steps after the sensors are marked done, not run
    triggered = datetime.combine(night + timedelta(days=1), time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai"))
    run = dag.test(logical_date=None, run_after=triggered, mark_success_pattern=r"(?!wait_for_).*")
    # then the run had no data interval, and the sensors looked for the day before: the core
    # and online deliveries of that date are found, the call centre's (missing) is skipped
    assert run.logical_date is None and run.data_interval_start is None
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["wait_for_core_banking"] == "success"
    assert states["wait_for_online_banking"] == "success"
    assert states["wait_for_call_center"] == "skipped"
    assert run.state == "success"
