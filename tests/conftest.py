"""Shared fixtures: small landed deliveries written by the tests themselves or by the simulator."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bankdw.config import Settings, load_settings


def pytest_configure(config: pytest.Config) -> None:
    """Airflow reads its configuration when first imported: give the test session its own
    home (SQLite metadata database, no examples, this project's DAGs) before any test can."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bankdw-airflow-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty data dir of the test's own."""
    return load_settings(data_dir=tmp_path / "data")


def write_delivery(
    landing: Path,
    system: str,
    business_date: date,
    files: dict[str, bytes],
    *,
    manifest_overrides: dict[str, dict[str, object]] | None = None,
    with_manifest: bool = True,
) -> Path:
    """Write a delivery folder and (unless told not to) a manifest that matches its files."""
    folder = landing / system / business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, object]] = {}
    for name, content in files.items():
        (folder / name).write_bytes(content)
        text = gzip.decompress(content) if name.endswith(".gz") else content
        lines = text.decode("utf-8").split("\n")
        rows = len([line for line in lines[1:] if line]) if name.endswith(".csv") else len(lines) - 1
        entries[name] = {"rows": rows, "sha256": hashlib.sha256(content).hexdigest()}
    for name, override in (manifest_overrides or {}).items():
        entries[name] = entries.get(name, {}) | override
    if with_manifest:
        manifest = {"system": system, "business_date": business_date.isoformat(), "files": entries}
        (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def simulate_bank(landing: Path, customers: int = 120, days: int = 5, start: date = date(2026, 11, 16)) -> None:
    """A tiny synthetic bank (all three systems) in `landing`."""
    from bankdw.simulate import SimulationConfig, simulate

    simulate(SimulationConfig(out=landing, customers=customers, days=days, start=start, seed=7))


@pytest.fixture
def delivery_writer(settings: Settings) -> Callable[..., Path]:
    def _write(system: str, business_date: date, files: dict[str, bytes], **kwargs: object) -> Path:
        return write_delivery(settings.landing_dir, system, business_date, files, **kwargs)  # type: ignore[arg-type]

    return _write
