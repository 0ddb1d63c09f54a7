"""What a night on Spark costs in CPU under Spark options to compare (issue 12: the suite's Spark
nights are about half its CPU).

    .venv/bin/python bench/bench_spark_night.py --data <basetemp>/shared/spark_night/data \\
        --version <run id> --variant 'codegen-off=-Dspark.sql.codegen.wholeStage=false' [--pairs 2]

`--data` is a data dir the nightly run on Spark published at least twice, such as the suite's
(`pytest tests/test_spark_pipeline.py --basetemp DIR` leaves it in `DIR/shared/spark_night/data`);
`--version` is the version to go on from (there, the first Spark night's run id). The first run
copies the data dir to `<data>.bench-pristine`, kept for later runs of the bench (a night adds a
version, and the versions kept are pruned); each run puts that copy back at the data dir's own
path (the Spark dir's absolute path is in the build's fingerprint: elsewhere the night builds
afresh), rolls back to
`--version` and runs `bankdw run` in a process of its own with the suite's Spark night settings
(tests/conftest.py, SPARK_NIGHT_SETTINGS, and its JVM options): an incremental night over what
the later versions loaded, built, tested on Spark and published. A variant adds JVM options (a
`-Dspark.sql...` option sets a Spark setting). The reference is the same night without them, run
just before each variant: pairs alternate. CPU is the whole machine's (/proc/stat, the JVM
included): run it on an otherwise idle machine and compare within a pair; the host moves a
night's CPU by a third from one hour to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from bench_suite_cpu import machine_busy_seconds

from tests.conftest import SPARK_DRIVER_JAVA_OPTIONS, SPARK_NIGHT_SETTINGS, settings_environment


@dataclass(frozen=True)
class Night:
    exit: int
    build_mode: str
    wall: float
    cpu: float
    """The machine's busy CPU seconds while the night ran (the JVM included)."""
    stolen: float
    """CPU seconds the host took from the machine meanwhile."""
    build: float
    tests: float

    def line(self, label: str, reference: Night) -> str:
        return (
            f"{label:<24} {self.exit:>4} {self.build_mode:<12} {self.wall:>7.1f} {self.cpu:>7.1f} "
            f"{self.stolen:>7.1f} {self.build:>7.1f} {self.tests:>7.1f} {self.cpu / reference.cpu:.2f}"
        )


def night(data: Path, pristine: Path, version: str, java_options: str, log: Path) -> Night:
    shutil.rmtree(data)
    shutil.copytree(pristine, data, symlinks=True)
    environment = os.environ | {
        "BANKDW_DATA_DIR": str(data),
        "BANKDW_PUBLISH_DOCS": "false",
        "BANKDW_DUCKDB_THREADS": "1",
        "BANKDW_SPARK_DRIVER_JAVA_OPTIONS": java_options,
    }
    environment |= settings_environment(SPARK_NIGHT_SETTINGS)
    bankdw = str(Path(sys.executable).parent / "bankdw")
    with log.open("a", encoding="utf-8") as out:
        subprocess.run([bankdw, "rollback", "--to", version], env=environment, stdout=out, stderr=out, check=True)
        cpu, stolen = machine_busy_seconds(), psutil.cpu_times().steal
        began = time.perf_counter()
        done = subprocess.run([bankdw, "run"], env=environment, stdout=out, stderr=out, check=False)
        seconds = time.perf_counter() - began
    cpu, stolen = machine_busy_seconds() - cpu, psutil.cpu_times().steal - stolen
    report = json.loads(max((data / "runs").glob("*.json")).read_text(encoding="utf-8"))
    steps = report["step_seconds"]
    return Night(
        done.returncode,
        report["build_mode"],
        seconds,
        cpu,
        stolen,
        steps.get("build", 0.0),
        steps.get("warehouse_gate", 0.0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--variant", action="append", default=[], help="NAME=JVM options (repeatable)")
    parser.add_argument("--pairs", type=int, default=1)
    args = parser.parse_args()
    data = args.data.resolve()
    pristine = data.with_name(f"{data.name}.bench-pristine")
    if not pristine.exists():
        shutil.copytree(data, pristine, symlinks=True)
    log = data.with_name("bench-spark-night.log")
    variants = dict(variant.split("=", 1) for variant in args.variant)
    header = ("run", "exit", "mode", "wall s", "CPU-s", "stolen", "build", "tests")
    print(f"{header[0]:<24} {header[1]:>4} {header[2]:<12} " + " ".join(f"{h:>7}" for h in header[3:]) + " ratio")
    for n in range(args.pairs):
        for name, options in variants.items():
            reference = night(data, pristine, args.version, SPARK_DRIVER_JAVA_OPTIONS, log)
            print(reference.line(f"reference ({n + 1})", reference), flush=True)
            variant = night(data, pristine, args.version, f"{SPARK_DRIVER_JAVA_OPTIONS} {options}", log)
            print(variant.line(f"{name} ({n + 1})", reference), flush=True)


if __name__ == "__main__":
    main()
