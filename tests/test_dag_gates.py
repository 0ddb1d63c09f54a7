"""A failed gate in the Airflow DAG (gates configured to stop the run) fails its own task, once,
and nothing downstream runs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import HOLD_THE_RUN, bank_date, copy_deliveries, gates_toml, nightly_dag, write_manifest


@pytest.mark.slow
def test_a_blocking_feed_gate_fails_its_task_without_retry(
    bank_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the first two dates of the shared tiny bank, whose last accounts snapshot has a
    # status the agreement does not know
    data = tmp_path / "data"
    assert (bank_date(0), bank_date(1)) == (date(2026, 11, 16), date(2026, 11, 17))
    copy_deliveries(bank_landing, data / "landing", [bank_date(0), bank_date(1)])
    folder = data / "landing" / "core_banking" / "2026-11-17"
    accounts = folder / "accounts.csv"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace(",ACTIVE,", ",SUSPENDED,", 1), encoding="utf-8")
    write_manifest(folder)
    # and the gates configured to stop the whole run at a blocking failure (by default the other
    # systems would load: tests/test_pipeline.py)
    gates = gates_toml(tmp_path / "gates.toml", HOLD_THE_RUN)
    dag = nightly_dag({"BANKDW_DATA_DIR": str(data), "BANKDW_GATES_CONFIG": str(gates)}, monkeypatch)
    # when the run for business date 2026-11-17 is tested
    run = dag.test(logical_date=datetime(2026, 11, 18, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    # then the feed gates task failed on its first try, and nothing after it ran
    tasks = {ti.task_id: ti for ti in run.get_task_instances()}
    assert (tasks["feed_gates"].state, tasks["feed_gates"].try_number) == ("failed", 1)
    assert {tasks[t].state for t in ("commit", "build", "warehouse_gates", "publish")} == {"upstream_failed"}
    assert tasks["stage"].state == "success" and run.state == "failed"
    # and nothing was published, and the run page names the failed check
    assert not (data / "warehouse" / "bank.duckdb").exists()
    (page,) = (data / "runs").glob("*/report.html")
    assert "expect_column_values_to_be_in_set(status)" in page.read_text(encoding="utf-8")
