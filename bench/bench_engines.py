"""Where is Spark's fixed cost repaid? The same models built on DuckDB and on Spark from one lake,
at growing bank sizes (issue 18).

For each `--customers` size: simulates a bank over `--days + 1` business days (cached in
`--work`, as bench_scale.py), loads the first `--days` days with the pipeline (every step,
published, on DuckDB), then times, on each engine from the same lake and the same published
identity:

    history   a full refresh of every model tagged `engine_portable` (the models that build on
              both engines, docs/spark.md) from the `--days` days;
    night     the next business date loaded by the pipeline's steps (stage, gate, commit, resolve;
              engine independent, not timed here), then the same models built incrementally
              on what the history's build left, reading the night's identity.

Each engine's build is the pipeline's own dbt command line (`bankdw.warehouse.dbt_args`) in a
process of its own, as a night runs it: DuckDB with dbt-duckdb into a file of its own; Spark
with dbt-spark in session mode (`local[2]`, a new JVM a build, the normalisation UDFs
registered as tests/spark_build.py does), after an untimed `dbt parse` with the same command line
(a night keeps its parse from the night before). Printed per engine and build: dbt's seconds
for the build (run_results.json: from the first hook to the last model, the JVM's start
included), beside the reference measured in the same run (DuckDB alone converting the same
delivered files to Parquet); the process's seconds (its start and imports, the kept parse
read, the row counts below, the JVM's end), the CPU seconds of the process tree and its peak
resident memory.
After the night both engines must hold the same number of rows in every model (printed, and a
mismatch fails the bench): the figure-for-figure proof is tests/test_spark.py; this only makes
sure the two timings built the same thing.

Last it fits dbt's `seconds = fixed + per_customer x customers` per engine over the sizes measured
and prints where Spark's line would cross DuckDB's, or that on this machine it does not.

    .venv/bin/python bench/bench_engines.py                              # 10,000 and 100,000
    .venv/bin/python bench/bench_engines.py --customers 2000 10000 --days 10

dbt's, Spark's and the pipeline's detail go to `<work>/engines-<customers>x<days>.log`; every
figure to `<work>/engines-result-<customers>x<days>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import chdir
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import duckdb
import numpy
import psutil
from bench_scale import START, PeakMemory, bank, delivered_files, landing, reference, run_pass

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.dbt_command import command_line
from bankdw.pipeline import DateSelection, commit_step, gate_step, resolve_step, stage_step
from bankdw.reporting.progress import output_to_log
from bankdw.warehouse import (
    PORTABLE_TAG,
    WITHOUT_TESTS,
    dbt_args,
    dbt_environment,
    portable_relations,
    spark_runner_in_this_process,
)

ENGINES = ("duckdb", "spark")
LOCAL_CORES = 2
"""The cores Spark runs on here (`spark.master: local[2]`, profiles.yml)."""
CLUSTER_CORES = (8, 32, 128)
"""Clusters the extrapolation gives Spark's work per customer to (`summary`)."""
DUCKDB_FILE = "engines/duckdb.duckdb"
"""The bench's DuckDB build, relative to the data dir (neither the build area nor the published file)."""
SPARK_DIR = "engines/spark"
"""Where Spark keeps the bench's warehouse and metastore, relative to the data dir (not the build
area, which the pipeline's steps clear)."""


@dataclass
class BuildFigures:
    engine: str
    build: str
    customers: int
    process_seconds: float
    dbt_seconds: float
    cpu_seconds: float
    peak_mb: float
    reference_seconds: float
    rows: dict[str, int]


class ProcessTree(PeakMemory):
    """The peak resident memory of the processes this one starts (dbt, Spark's JVM and Python
    workers), and their CPU seconds, each process's as last seen before it ended: sampled in
    bench_scale's thread. `resource.getrusage` would miss the JVM, which its parent does not wait for."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(every)
        self._cpu: dict[tuple[int, float], float] = {}

    def _rss(self) -> int:
        total = 0
        for process in self._me.children(recursive=True):
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    self._cpu[(process.pid, process.create_time())] = times.user + times.system
                    total += process.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
        return total

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())


def engine_args(settings: Settings, full_refresh: bool, command: str = "build") -> list[str]:
    """The pipeline's dbt command line for the portable models, without their tests; each engine
    keeps its own target folder, so that neither parses the project again for the other's
    profile. The history's build reads the published identity, the night's the one its resolve
    step wrote (`build_area`)."""
    args = dbt_args(settings, command, build_area=not full_refresh)
    args += ["--target-path", str(settings.root / "dbt" / f"target-{settings.engine}")]
    if command == "parse":
        return args
    args += ["--select", f"tag:{PORTABLE_TAG}", *WITHOUT_TESTS]
    return [*args, "--full-refresh"] if full_refresh else args


def engine_environment(settings: Settings) -> dict[str, str]:
    """The profile's environment (`bankdw.warehouse.dbt_environment`): the bench's DuckDB file,
    Spark's warehouse and metastore outside the build area."""
    return dbt_environment(settings, settings.root / DUCKDB_FILE) | {"BANKDW_SPARK_DIR": SPARK_DIR}


def parse(settings: Settings, full_refresh: bool, log: TextIO) -> None:
    """dbt's parse of the project for the build to come, not timed: a night keeps its parse from
    the night before (the same vars), and the first parse for a target costs 20 to 60 s whatever
    the bank's size, which would hide what the engines cost."""
    subprocess.run(
        [*command_line(), *engine_args(settings, full_refresh, "parse")],
        cwd=settings.root,
        env=os.environ | engine_environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        check=True,
    )


def models(settings: Settings) -> dict[str, str]:
    """Every portable model's relation, from the manifest of the engine's last build."""
    return portable_relations(settings.root / "dbt" / f"target-{settings.engine}")


def dbt_seconds(settings: Settings) -> float:
    results = settings.root / "dbt" / f"target-{settings.engine}" / "run_results.json"
    return float(json.loads(results.read_text(encoding="utf-8"))["elapsed_time"])


def duckdb_build(settings: Settings, full_refresh: bool, log: TextIO) -> dict[str, Any]:
    """The portable models built with dbt-duckdb into `engines/duckdb.duckdb`."""
    target = settings.root / DUCKDB_FILE
    target.parent.mkdir(exist_ok=True)
    if full_refresh:
        target.unlink(missing_ok=True)
    done = subprocess.run(
        [*command_line(), *engine_args(settings, full_refresh)],
        cwd=settings.root,
        env=os.environ | engine_environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the DuckDB build failed (exit {done.returncode}): see {log.name}")
    # from the data dir: the staging views name the lake relatively (`bankdw.warehouse.dbt_args`)
    with chdir(settings.root), duckdb.connect(str(target), read_only=True) as con:
        rows = {
            name: int(con.sql(f"select count(*) from {relation}").fetchall()[0][0])
            for name, relation in models(settings).items()
        }
    return {"dbt_seconds": dbt_seconds(settings), "rows": rows}


def spark_build(settings: Settings, full_refresh: bool, driver_memory: str, log: TextIO) -> dict[str, Any]:
    """The portable models built with dbt-spark (`spark_child`, a process and a JVM of its own)."""
    if full_refresh:
        shutil.rmtree(settings.root / SPARK_DIR, ignore_errors=True)
    out = settings.root / "engines" / "spark-build.json"
    line = [sys.executable, __file__, "--spark-child", str(settings.root), str(out)]
    done = subprocess.run(
        [*line, "--full-refresh"] if full_refresh else line,
        cwd=PROJECT_ROOT,
        env=os.environ | {"PYSPARK_SUBMIT_ARGS": f"--driver-memory {driver_memory} pyspark-shell"},
        stdout=log,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the Spark build failed (exit {done.returncode}): see {log.name}")
    return dict(json.loads(out.read_text(encoding="utf-8")))


def spark_child(data_dir: Path, out: Path, full_refresh: bool) -> None:
    """In the child: dbt-spark's build of the portable models, then each model's rows."""
    from pyspark.sql import SparkSession

    settings = load_settings(data_dir=data_dir, engine="spark")
    runner = spark_runner_in_this_process(settings, engine_environment(settings))
    done = runner.invoke(engine_args(settings, full_refresh))
    if not done.success:
        raise SystemExit(f"dbt build on Spark failed: {done.exception or 'see the dbt log under the data dir'}")
    spark = SparkSession.builder.getOrCreate()  # the session dbt-spark built with
    rows = {name: spark.table(relation).count() for name, relation in models(settings).items()}
    out.write_text(json.dumps({"dbt_seconds": dbt_seconds(settings), "rows": rows}), encoding="utf-8")


def timed_build(
    settings: Settings, engine: str, full_refresh: bool, driver_memory: str, log: TextIO
) -> tuple[dict[str, Any], float, ProcessTree]:
    began, tree = time.monotonic(), ProcessTree()
    with tree:
        if engine == "duckdb":
            built = duckdb_build(settings, full_refresh, log)
        else:
            built = spark_build(settings, full_refresh, driver_memory, log)
    return built, time.monotonic() - began, tree


def measure(work: Path, customers: int, days: int, seed: int, driver_memory: str) -> list[BuildFigures]:
    source = landing(work, customers, days + 1, seed)
    settings = bank(work, f"engines-{customers}x{days}", source)
    last_loaded, night = START + timedelta(days=days - 1), START + timedelta(days=days)
    log_path = work / f"engines-{customers}x{days}.log"
    print(f"{customers:,} customers x {days} days (detail: {log_path})", flush=True)
    figures: list[BuildFigures] = []
    with output_to_log(log_path, quiet=True) as terminal:
        loaded = run_pass(settings, f"initial load of {days} days", START, last_loaded, source, terminal)
    if loaded.outcome.startswith("FAILED"):
        raise SystemExit(f"the initial load failed: {loaded.outcome}")
    print(f"  loaded {days} days with the pipeline in {loaded.seconds:.0f}s", flush=True)
    for build, first, last in (("history", START, last_loaded), ("night", night, night)):
        full_refresh = build == "history"
        if not full_refresh:
            with output_to_log(log_path, quiet=True):
                report = stage_step(settings, DateSelection(first=night, last=night))
                for step in (gate_step, commit_step, resolve_step):
                    report = step(settings, report.run_id)
            print(f"  the night of {night} loaded and resolved (pipeline steps, not timed)", flush=True)
        ref_seconds = reference(delivered_files(source, first, last))[0]
        for engine in ENGINES:
            engine_settings = load_settings(data_dir=settings.root, engine=engine)
            with log_path.open("a", encoding="utf-8") as log:
                parse(engine_settings, full_refresh, log)
                built, seconds, tree = timed_build(engine_settings, engine, full_refresh, driver_memory, log)
            figures.append(
                BuildFigures(
                    engine,
                    build,
                    customers,
                    round(seconds, 1),
                    round(built["dbt_seconds"], 1),
                    round(tree.cpu_seconds, 1),
                    round(tree.peak / 1e6),
                    round(ref_seconds, 2),
                    built["rows"],
                )
            )
            print(
                f"  {build:<8}{engine:<8}{seconds:8.1f}s process {built['dbt_seconds']:8.1f}s dbt "
                f"{tree.cpu_seconds:8.1f} CPU-s {tree.peak / 1e6:8,.0f} MB   reference {ref_seconds:.1f}s",
                flush=True,
            )
    (work / f"engines-result-{customers}x{days}.json").write_text(
        json.dumps([asdict(f) for f in figures], indent=2), encoding="utf-8"
    )
    duck, spark = (next(f for f in figures if f.engine == e and f.build == "night") for e in ENGINES)
    differ = {
        m: (duck.rows.get(m), spark.rows.get(m))
        for m in duck.rows.keys() | spark.rows.keys()
        if duck.rows.get(m) != spark.rows.get(m)
    }
    if differ:
        raise SystemExit(f"the engines built different rows after the night (model: DuckDB, Spark): {differ}")
    print(f"  after the night both engines hold the same rows in all {len(duck.rows)} models", flush=True)
    return figures


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares `seconds = fixed + per_customer x customers` (exact through two sizes)."""
    slope, fixed = numpy.polyfit([x for x, _ in points], [y for _, y in points], 1)
    return float(fixed), float(slope)


def summary(figures: list[BuildFigures]) -> None:
    header = ("build", "customers", "engine", "dbt s", "x ref", "process s", "CPU-s", "peak MB")
    print("\n{:<8}{:>10}{:>8}{:>9}{:>8}{:>11}{:>9}{:>9}".format(*header))
    for f in figures:
        ratio = f.dbt_seconds / f.reference_seconds
        print(
            f"{f.build:<8}{f.customers:>10,}{f.engine:>8}{f.dbt_seconds:>9.1f}{ratio:>8.1f}"
            f"{f.process_seconds:>11.1f}{f.cpu_seconds:>9.1f}{f.peak_mb:>9,}"
        )
    sizes = sorted({f.customers for f in figures})
    if len(sizes) < 2:
        print("\none size measured: no line to fit (give --customers two sizes or more)")
        return
    for build in ("history", "night"):
        # dbt's seconds, the build alone (not the process's start nor the row counts); both engines
        # ran in the same run, one after the other, so where their lines cross (a bank size) holds
        # on a machine whose speed moves both; the seconds do not
        lines = {
            engine: fit([(f.customers, f.dbt_seconds) for f in figures if f.engine == engine and f.build == build])
            for engine in ENGINES
        }
        (duck_fixed, duck_slope), (spark_fixed, spark_slope) = lines["duckdb"], lines["spark"]
        seconds = {(f.customers, f.engine): f.dbt_seconds for f in figures if f.build == build}
        ratios = ", ".join(f"{n:,}: {seconds[n, 'spark'] / seconds[n, 'duckdb']:.1f}x" for n in sizes)
        print(
            f"\n{build}: Spark's time over DuckDB's by customers {ratios}\n"
            f"  seconds = fixed + per 100,000 customers: DuckDB {duck_fixed:.0f} + {duck_slope * 1e5:.0f}, "
            f"Spark {spark_fixed:.0f} + {spark_slope * 1e5:.0f}"
        )
        print(f"  {repaid(duck_fixed, duck_slope, spark_fixed, spark_slope)} on this machine")
        print(f"  as the bank grows, Spark's time over DuckDB's here tends to {spark_slope / duck_slope:.1f}x")
        for cores in CLUSTER_CORES:
            # the best a cluster could do: Spark's part per customer spread over its cores without
            # loss, its fixed part as here, DuckDB still on this machine's cores
            spread = spark_slope * LOCAL_CORES / cores
            print(f"  with {cores} cores for Spark: {repaid(duck_fixed, duck_slope, spark_fixed, spread)}")


def repaid(duck_fixed: float, duck_slope: float, spark_fixed: float, spark_slope: float) -> str:
    """Where Spark's line (seconds by customers) crosses below DuckDB's, in words."""
    if spark_slope >= duck_slope:
        return "Spark's time grows at least as fast as DuckDB's: its fixed cost is never repaid"
    crossing = (spark_fixed - duck_fixed) / (duck_slope - spark_slope)
    return f"Spark's fixed cost is repaid above about {crossing:,.0f} customers"


def saved(work: Path, customers: list[int], days: int) -> list[BuildFigures]:
    """The figures an earlier run wrote for these sizes."""
    figures = []
    for size in customers:
        rows = json.loads((work / f"engines-result-{size}x{days}.json").read_text(encoding="utf-8"))
        figures += [BuildFigures(**row) for row in rows]
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--spark-child":
        spark_child(Path(sys.argv[2]), Path(sys.argv[3]), "--full-refresh" in sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=20, help="days of history before the night")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--spark-driver-memory", default="6g", help="the JVM's heap (Spark's local mode runs in the driver)"
    )
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-scale")
    parser.add_argument("--summary", action="store_true", help="print the summary of an earlier run's figures")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.summary:
        summary(saved(args.work, args.customers, args.days))
        return
    figures = []
    for customers in args.customers:
        figures += measure(args.work, customers, args.days, args.seed, args.spark_driver_memory)
    summary(figures)


if __name__ == "__main__":
    main()
