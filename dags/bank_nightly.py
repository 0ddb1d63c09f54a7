"""
### bank_nightly

Loads one business date of the bank's three feeds and publishes the warehouse.

For the business date of the run (the day before the run, in the bank's time zone; a run
triggered without a logical date, Airflow 3's default for the API and the trigger button,
takes the day before it was triggered):

1. **wait_for_<system>**: waits for the system's `_manifest.json`. A system that sends
   nothing that day (the call centre on a holiday) is allowed: after
   `manifest_wait_minutes` the sensor is skipped and the run goes on without it.
2. **stage**: verifies every pending delivery up to the business date against its
   manifest and converts it to Parquet in a staging area (refused deliveries are reported).
3. **feed_gates**: Great Expectations suites and the bank rules on the staged batches, and
   each system's freshness (severities in `expectations/gates.toml`); a blocking failure
   stops the run here, and nothing of it reaches the lake or the warehouse.
4. **commit**: moves the staged partitions into the lake.
5. **resolve**: identity resolution of the core customer records (rules, splink, stable keys
   from the published key registry), written into the build area for the build to read.
6. **build**: `dbt build` of the models into a new DuckDB file.
7. **warehouse_gates**: `dbt test` (data tests and reconciliations; the unit tests check the
   models' logic and run in CI, not nightly) on the new file; a failure stops the run here and
   the published warehouse stays as it was.
8. **publish**: swaps the new file in atomically (readers are never blocked), with the key
   registry it was built with, keeping the last versions for `bankdw rollback`.

Every task calls the same function as `bankdw run` (`bankdw.pipeline`); they pass each
other only the bankdw run id. The run summary page is `<data>/runs/<run_id>/report.html`.
Retries are for transient failures (a file system or process hiccup in stage, commit,
resolve, build, publish); a failed gate is final (`AirflowFailException`, retries=0): the data
will not change by trying again.
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
INTERVAL = timedelta(days=1)


def _business_date() -> date:
    """The business date a run loads: the day before its logical date, or, for a run triggered
    without one (the default of Airflow 3's API and of the UI's trigger button), the day before
    it was triggered, in the bank's time zone (`business_date_of_run`). A run triggered at 10:00
    on the 5th loads the 4th, as the scheduled run of 02:30 on the 5th does.
    """
    from bankdw.schedule import business_date_of_run

    run = get_current_context()["dag_run"]
    return business_date_of_run(run.logical_date, run.run_after, INTERVAL, SETTINGS.timezone)


@dag(
    dag_id="bank_nightly",
    schedule=CronTriggerTimetable("30 2 * * *", timezone=SETTINGS.timezone, interval=INTERVAL),
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
    def feed_gates(bankdw_run: str) -> str:
        """GX suites, bank rules and freshness on the staged batches: a blocking failure holds back
        its system's deliveries (or, with `blocking_holds = "run"`, fails here)."""
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
    def resolve(bankdw_run: str) -> str:
        """Resolve the customer records into the run's identity, if the run will build."""
        from bankdw.pipeline import resolve_step

        resolve_step(load_settings(), bankdw_run)
        return bankdw_run

    @task
    def build(bankdw_run: str) -> str:
        from bankdw.pipeline import build_step
        from bankdw.warehouse import BuildFailed

        try:
            build_step(load_settings(), bankdw_run)
        except BuildFailed as failed:  # a model that does not compile or run: not transient
            raise AirflowFailException(str(failed)) from failed
        return bankdw_run

    @task(retries=0)
    def warehouse_gates(bankdw_run: str) -> str:
        """dbt tests on the new warehouse file: a failure stops here, nothing is published."""
        from bankdw.pipeline import warehouse_gate_step
        from bankdw.warehouse import BuildFailed

        try:
            warehouse_gate_step(load_settings(), bankdw_run)
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
    publish(warehouse_gates(build(resolve(commit(feed_gates(bankdw_run))))))


bank_nightly()
