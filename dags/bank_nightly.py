"""
### bank_nightly

Loads one business date of the bank's three feeds and publishes the warehouse.

For the business date of the run (the day before the run, in the bank's time zone):

1. **wait_for_<system>**: waits for the system's `_manifest.json`. A system that sends
   nothing that day (the call centre on a holiday) is allowed: after
   `manifest_wait_minutes` the sensor is skipped and the run goes on without it.
2. **stage**: verifies every pending delivery up to the business date against its
   manifest and converts it to Parquet in a staging area (refused deliveries are reported).
3. **gate**: Great Expectations suites on the staged batches; a blocking failure stops the
   run here, and nothing of it reaches the lake or the warehouse.
4. **commit**: moves the staged partitions into the lake.
5. **build**: `dbt build` into a new DuckDB file (models and tests).
6. **publish**: swaps the new file in atomically; readers are never blocked.

Every task calls the same function as `bankdw run` (`bankdw.pipeline`); they pass each
other only the bankdw run id. Gate and test failures are not retried: the data will not change.
"""

from __future__ import annotations

from datetime import date, timedelta

import pendulum
from airflow.sdk import PokeReturnValue, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.trigger import CronTriggerTimetable

from bankdw.config import load_settings

SETTINGS = load_settings()  # environment and config file only: no I/O beyond that at import
SYSTEMS = ("core_banking", "online_banking", "call_center")


def _business_date() -> date:
    """The business date a run loads: the start of its data interval, in the bank's time zone."""
    interval_start = get_current_context()["data_interval_start"]
    assert interval_start is not None
    return pendulum.instance(interval_start).in_timezone(SETTINGS.timezone).date()


@dag(
    dag_id="bank_nightly",
    schedule=CronTriggerTimetable("30 2 * * *", timezone=SETTINGS.timezone, interval=timedelta(days=1)),
    start_date=pendulum.datetime(2026, 1, 1, tz=SETTINGS.timezone),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["bankdw", "nightly", "warehouse"],
    doc_md=__doc__,
)
def bank_nightly() -> None:
    @task.sensor(
        poke_interval=SETTINGS.manifest_poke_seconds,
        timeout=SETTINGS.manifest_wait_minutes * 60,
        mode="reschedule",
        soft_fail=True,
        retries=0,
    )
    def wait_for_manifest(system: str) -> PokeReturnValue:
        """Done when the system's delivery for the business date has its manifest."""
        from extract.landing import MANIFEST_NAME

        settings = load_settings()
        manifest = settings.landing_dir / system / _business_date().isoformat() / MANIFEST_NAME
        return PokeReturnValue(is_done=manifest.is_file())

    @task(trigger_rule="none_failed")
    def stage() -> str:
        """Verify and convert every pending delivery up to the business date; returns the run id."""
        from bankdw.pipeline import DateSelection, stage_step

        return stage_step(load_settings(), DateSelection(last=_business_date())).run_id

    @task(retries=0)
    def gate(bankdw_run: str) -> str:
        from bankdw.pipeline import GateFailed, gate_step

        try:
            gate_step(load_settings(), bankdw_run)
        except GateFailed as failed:
            raise AirflowFailException(str(failed)) from failed
        return bankdw_run

    @task
    def commit(bankdw_run: str) -> str:
        from bankdw.pipeline import commit_step

        commit_step(load_settings(), bankdw_run)
        return bankdw_run

    @task
    def build(bankdw_run: str) -> str:
        from bankdw.pipeline import build_step
        from bankdw.warehouse import BuildFailed

        try:
            build_step(load_settings(), bankdw_run)
        except BuildFailed as failed:
            raise AirflowFailException(str(failed)) from failed
        return bankdw_run

    @task
    def publish(bankdw_run: str) -> str:
        from bankdw.pipeline import publish_step

        return publish_step(load_settings(), bankdw_run).outcome

    waits = [wait_for_manifest.override(task_id=f"wait_for_{system}")(system) for system in SYSTEMS]
    # `bankdw_run`, not `run_id`: Airflow reserves that name for its own run's id.
    bankdw_run = stage()
    waits >> bankdw_run
    # TaskFlow passes XComArgs where the functions declare their runtime types.
    publish(build(commit(gate(bankdw_run))))  # type: ignore[arg-type]


bank_nightly()
