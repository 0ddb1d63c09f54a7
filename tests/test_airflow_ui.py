"""`make airflow-ui` starts Airflow's UI as a newcomer runs it: from the repository, with the
venv not activated (no `.venv/bin` on PATH), and answers its health endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from bankdw.config import PROJECT_ROOT
from tests.conftest import free_port, stop_group

STARTUP_SECONDS = 240


def test_make_airflow_ui_serves_the_ui_without_the_venv_on_path(tmp_path: Path) -> None:
    # given a shell whose PATH knows nothing of the venv, and an Airflow home of its own
    port = free_port()
    path = ":".join(p for p in os.environ.get("PATH", "").split(":") if ".venv" not in p)
    make = shutil.which("make", path=path)
    assert make is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))},
        "PATH": path,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__API__PORT": str(port),
        "BANKDW_DATA_DIR": str(tmp_path / "data"),
    }
    log = (tmp_path / "airflow-ui.log").open("wb")
    # when `make airflow-ui` starts
    process = subprocess.Popen(
        [make, "--no-print-directory", "airflow-ui"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    health = None
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as answer:
                    health = json.loads(answer.read())
                    if health.get("metadatabase", {}).get("status") == "healthy":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(2)
    finally:
        # then it stops with its whole process group
        stop_group(process)
        log.close()
    output = (tmp_path / "airflow-ui.log").read_text(encoding="utf-8", errors="replace")
    assert health is not None, output[-3000:]
    assert health["metadatabase"]["status"] == "healthy", health
