"""Which business date a scheduled or triggered run loads.

Its own module, importing nothing of the warehouse: the DAG's sensors ask it on every poke,
each in a new process, and `bankdw.pipeline` (DuckDB, Arrow, the checks) costs about 2 s
and 160 MB to import there.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def business_date_of_run(
    logical_date: datetime | None, run_after: datetime, interval: timedelta, timezone: str
) -> date:
    """The business date a scheduled or triggered run loads: the day before the moment that names
    the run, in the bank's time zone.

    That moment is the run's logical date (a scheduled run's, or one given to the UI, the REST
    API or `airflow dags trigger -l`); a run triggered without one (Airflow 3's default for the
    API and the trigger button) is named by when it was triggered (`run_after`). The run's data
    interval is not read: Airflow 3.3's CLI sets a manual run's interval from the moment of
    triggering, whatever logical date it names (its DAG run documentation, apache/airflow#64740).
    """
    anchor = logical_date if logical_date is not None else run_after
    return (anchor - interval).astimezone(ZoneInfo(timezone)).date()
