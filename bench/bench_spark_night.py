"""What a night on Spark costs in CPU under Spark options to compare (issue 12: the suite's Spark
nights are about half its CPU).

    .venv/bin/python bench/bench_spark_night.py --data <basetemp>/shared/spark_night/data \\
        --version <run id> --variant 'codegen-off=-Dspark.sql.codegen.wholeStage=false' [--pairs 2]

`--data` is a data dir the nightly run on Spark published at least twice, such as the suite's
(`pytest tests/test_spark_pipeline.py --basetemp DIR` leaves it in `DIR/shared/spark_night/data`);
`--version` is the version to go on from (there, the first Spark night's run id). Each run puts a
copy of the data dir, taken once at the start, back at the data dir's own path (the Spark dir's
absolute path is in the build's fingerprint: elsewhere the night builds afresh), rolls back to
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
from pathlib import Path

from tests.conftest import SPARK_NIGHT_SETTINGS

SUITE_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC"
"""The suite's JVM options for Spark's driver (tests/conftest.py, pytest_configure)."""


def busy_seconds() -> tuple[float, float]:
    """The machine's CPU seconds spent so far (user, nice, system) and stolen by the host."""
    with Path("/proc/stat").open(encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return sum(fields[:3]) / tick, fields[7] / tick


def night(data: Path, pristine: Path, version: str, java_options: str, log: Path) -> dict[str, object]:
    shutil.rmtree(data)
    shutil.copytree(pristine, data, symlinks=True)
    environment = os.environ | {
        "BANKDW_DATA_DIR": str(data),
        "BANKDW_PUBLISH_DOCS": "false",
        "BANKDW_DUCKDB_THREADS": "1",
        "BANKDW_SPARK_DRIVER_JAVA_OPTIONS": java_options,
    }
    environment |= {f"BANKDW_{name.upper()}": str(value) for name, value in SPARK_NIGHT_SETTINGS.items()}
    bankdw = str(Path(sys.executable).parent / "bankdw")
    with log.open("a", encoding="utf-8") as out:
        subprocess.run([bankdw, "rollback", "--to", version], env=environment, stdout=out, stderr=out, check=True)
        cpu, stolen = busy_seconds()
        began = time.perf_counter()
        done = subprocess.run([bankdw, "run"], env=environment, stdout=out, stderr=out, check=False)
        seconds = time.perf_counter() - began
    cpu_after, stolen_after = busy_seconds()
    report = json.loads(max((data / "runs").glob("*.json")).read_text(encoding="utf-8"))
    return {
        "exit": done.returncode,
        "build_mode": report["build_mode"],
        "wall": round(seconds, 1),
        "cpu": round(cpu_after - cpu, 1),
        "stolen": round(stolen_after - stolen, 1),
        "build": report["step_seconds"].get("build"),
        "tests": report["step_seconds"].get("warehouse_gate"),
    }


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
            pair = {}
            for label, extra in (("reference", ""), (name, options)):
                figures = night(data, pristine, args.version, f"{SUITE_JAVA_OPTIONS} {extra}".strip(), log)
                pair[label] = figures
                ratio = float(figures["cpu"]) / float(pair["reference"]["cpu"])  # type: ignore[arg-type]
                print(
                    f"{f'{label} ({n + 1})':<24} {figures['exit']:>4} {figures['build_mode']:<12} "
                    f"{figures['wall']:>7} {figures['cpu']:>7} {figures['stolen']:>7} {figures['build']:>7} "
                    f"{figures['tests']:>7} {ratio:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
