"""Shared fixtures: small landed deliveries written by the tests themselves or by the simulator."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bankdw.config import Settings, load_settings
from extract.contract import load_agreement
from extract.landing import MANIFEST_NAME, Manifest


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
    for name, content in files.items():
        (folder / name).write_bytes(content)
    if with_manifest:
        write_manifest(folder, manifest_overrides)
    return folder


def write_manifest(folder: Path, overrides: dict[str, dict[str, object]] | None = None) -> None:
    """The manifest a source system would write for the folder's files: rows, sha256, control totals.

    Rows and totals are counted here with the csv module, independently of the extract under test.
    """
    system, business_date = folder.parent.name, folder.name
    agreement = load_agreement()
    entries: dict[str, dict[str, object]] = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST_NAME:
            continue
        content = path.read_bytes()
        text = (gzip.decompress(content) if path.name.endswith(".gz") else content).decode("utf-8")
        entry: dict[str, object] = {"sha256": hashlib.sha256(content).hexdigest()}
        if path.name.endswith(".csv"):
            records = list(csv.DictReader(io.StringIO(text, newline="")))
            entry["rows"] = len(records)
            feed = agreement.feed_for(system, path.name)
            entry["control_totals"] = {
                c: sum((Decimal(r[c]) for r in records if r.get(c)), Decimal(0))
                for c in (feed.control_totals if feed else ())
            }
        else:
            entry["rows"] = text.count("\n")
        entries[path.name] = entry | (overrides or {}).get(path.name, {})
    Manifest.model_validate({"system": system, "business_date": business_date, "files": entries}).write(folder)


def simulate_bank(landing: Path, customers: int = 120, days: int = 5, start: date = date(2026, 11, 16)) -> None:
    """A tiny synthetic bank (all three systems) in `landing`."""
    from simulator import SimulationConfig, simulate

    simulate(SimulationConfig(out=landing, customers=customers, days=days, start=start, seed=7))


@pytest.fixture
def delivery_writer(settings: Settings) -> Callable[..., Path]:
    def _write(system: str, business_date: date, files: dict[str, bytes], **kwargs: object) -> Path:
        return write_delivery(settings.landing_dir, system, business_date, files, **kwargs)  # type: ignore[arg-type]

    return _write
