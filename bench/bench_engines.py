"""Where is Spark's fixed cost repaid? The same nights run by the pipeline on DuckDB and on Spark,
at growing bank sizes (issue 18).

For each `--customers` size: simulates a bank over `--days + 1` business days (cached in
`--work`, as bench_scale.py) and loads the first `--days` days with the pipeline on DuckDB (every
step, published): the lake, identity's registry and the published state both engines start
from. That data dir is copied once per engine, and each copy runs, timed step by step as
bench_scale.py times a pass (`run_pass`):

    history   the nightly run's rebuild (`bankdw run --rebuild`): identity resolved again, every
              model of the project built afresh from the loaded days, the warehouse tests, publish;
    night     the next business date as the scheduler runs it (`bankdw run`): stage, gate, commit,
              resolve, build (incremental), warehouse tests, publish.

Stage, gate and commit are the same code on both engines (DuckDB and Great Expectations on the
lake); resolve (splink's DuckDB or Spark backend), the build, the warehouse tests and publish are
the engine's: the *engine's part*, which the summary fits. Spark runs in session mode
(`local[2]`, profiles.yml) with the settings' defaults, its driver's heap `--spark-driver-memory`
(the JVM's default of 1 GB does not hold a large bank's build).

Printed per engine and pass: every step's seconds beside the reference measured in the same run
(DuckDB alone converting the pass's delivered files to Parquet, bench_scale.py), the engine's
part, the CPU seconds of this process and every process it started (dbt's worker, Spark's JVM and
Python workers) and the peak resident memory of them all.

After the night both published warehouses must hold the same rows in every public mart
(bench/compare_warehouses.py; the columns that carry each data dir's own load and run ids left
out), or the bench fails: the figure-for-figure proof is tests/test_spark.py; this only makes sure
the two timings built the same thing. Last it fits `seconds = fixed + per_customer x customers`
per engine over the sizes measured and prints where Spark's line would cross DuckDB's, or that
on this machine it does not.

    .venv/bin/python bench/bench_engines.py --customers 10000 100000 --days 10
    .venv/bin/python bench/bench_engines.py --summary --customers 10000 100000 --days 10   # print again

The pipeline's, dbt's and Spark's detail go to `<work>/engines-<customers>x<days>.log`; every
figure to `<work>/engines-result-<customers>x<days>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import chdir
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy
import psutil
from bench_scale import START, PassFigures, PeakMemory, StepFigures, bank, landing, restore, run_pass
from compare_warehouses import compare

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.publish import list_versions, version_path
from bankdw.reporting.progress import output_to_log

ENGINES = ("duckdb", "spark")
ENGINE_STEPS = ("resolve", "build", "warehouse tests", "publish")
"""The steps each engine does its own way; stage, gate and commit are the same code on both."""
PASSES = ("history", "night")
LOCAL_CORES = 2
"""The cores Spark runs on here (`spark.master: local[2]`, profiles.yml)."""
CLUSTER_CORES = (8, 32, 128)
"""Clusters the extrapolation gives Spark's work per customer to (`summary`)."""
RUN_IDS = frozenset({"load_id", "detected_in_run"})
"""Mart columns that carry a data dir's own load or run ids: two copies give them different values."""


@dataclass
class EngineFigures:
    engine: str
    build: str
    customers: int
    cpu_seconds: float
    run: PassFigures

    @property
    def engine_seconds(self) -> float:
        return sum(s.seconds for s in self.run.steps if s.step in ENGINE_STEPS)

    @staticmethod
    def from_json(row: dict[str, object]) -> EngineFigures:
        run = dict(row["run"])  # type: ignore[call-overload]
        run["steps"] = [StepFigures(**s) for s in run["steps"]]
        fields = {k: v for k, v in row.items() if k != "run"}
        return EngineFigures(**fields, run=PassFigures(**run))  # type: ignore[arg-type]


class ProcessTree(PeakMemory):
    """The CPU seconds of the processes this one starts (dbt's worker, Spark's JVM and Python
    workers) while the block runs, each process's as last seen before it ended, less what a
    process already running at the start had used: sampled in bench_scale's thread.
    `resource.getrusage` would miss the JVM, which its parent does not wait for."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(every)
        self._cpu: dict[tuple[int, float], float] = {}
        self._before: dict[tuple[int, float], float] = {}

    def __enter__(self) -> ProcessTree:
        super().__enter__()  # its first sample sees the processes already running
        self._before = dict(self._cpu)
        return self

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
        return sum(seconds - self._before.get(process, 0.0) for process, seconds in self._cpu.items())


def timed_pass(
    settings: Settings, build: str, customers: int, first_and_last: tuple[date, date], log_path: Path, source: Path
) -> EngineFigures:
    """One pipeline pass on `settings`' data dir: the history's rebuild or the night."""
    me, tree = psutil.Process(), ProcessTree()
    before = me.cpu_times()
    with tree, output_to_log(log_path, quiet=True) as terminal:
        first, last = first_and_last
        run = run_pass(settings, f"{settings.engine} {build}", first, last, source, terminal, build == "history")
    after = me.cpu_times()
    own = after.user - before.user + after.system - before.system
    figures = EngineFigures(settings.engine, build, customers, round(own + tree.cpu_seconds, 1), run)
    if not run.outcome.startswith("SUCCESS"):
        raise SystemExit(f"{settings.engine} {build}: {run.outcome} (see {log_path})")
    print(
        f"  {build:<8}{settings.engine:<8}{run.seconds:8.1f}s  engine's part {figures.engine_seconds:8.1f}s "
        f"{figures.cpu_seconds:8.1f} CPU-s {run.peak_mb:8,.0f} MB   reference {run.reference_seconds:.1f}s",
        flush=True,
    )
    return figures


def published(settings: Settings) -> Path:
    """The published version's DuckDB file (on Spark, views over the version's Parquet tables)."""
    return version_path(settings, list_versions(settings)[0].run_id)


def same_marts(duck: Settings, spark: Settings) -> int:
    """The public marts compared row for row between the two published warehouses; the number
    compared, or the bench stops on a difference."""
    with chdir(spark.root):  # a published Spark version names its tables' folders from the data dir
        results = compare(published(duck), published(spark), ["marts"], RUN_IDS)
    differ = [
        f"{r.table}: rows {r.rows_baseline} / {r.rows_candidate}, only DuckDB {r.only_in_baseline}, "
        f"only Spark {r.only_in_candidate} {'; '.join(r.column_differences)}"
        for r in results
        if r.column_differences or r.only_in_baseline or r.only_in_candidate
    ]
    if differ:
        raise SystemExit("the engines published different marts after the night:\n  " + "\n  ".join(differ))
    return len(results)


def measure(work: Path, customers: int, days: int, seed: int) -> list[EngineFigures]:
    source = landing(work, customers, days + 1, seed)
    loaded = bank(work, f"engines-{customers}x{days}", source)
    last_loaded, night = START + timedelta(days=days - 1), START + timedelta(days=days)
    log_path = work / f"engines-{customers}x{days}.log"
    print(f"{customers:,} customers x {days} days (detail: {log_path})", flush=True)
    with output_to_log(log_path, quiet=True) as terminal:
        initial = run_pass(loaded, f"initial load of {days} days", START, last_loaded, source, terminal)
    if not initial.outcome.startswith("SUCCESS"):
        raise SystemExit(f"the initial load failed: {initial.outcome}")
    print(f"  loaded {days} days with the pipeline on DuckDB in {initial.seconds:.0f}s", flush=True)
    copies = {}
    for engine in ENGINES:
        restore(loaded.root, work / f"engines-{customers}x{days}-{engine}")
        copies[engine] = load_settings(data_dir=work / f"engines-{customers}x{days}-{engine}", engine=engine)
    figures = [
        timed_pass(copies[engine], build, customers, dates, log_path, source)
        for build, dates in (("history", (START, last_loaded)), ("night", (night, night)))
        for engine in ENGINES
    ]
    (work / f"engines-result-{customers}x{days}.json").write_text(
        json.dumps([asdict(f) for f in figures], indent=2), encoding="utf-8"
    )
    compared = same_marts(copies["duckdb"], copies["spark"])
    print(f"  after the night both engines published the same rows in all {compared} public marts", flush=True)
    return figures


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares `seconds = fixed + per_customer x customers` (exact through two sizes)."""
    slope, fixed = numpy.polyfit([x for x, _ in points], [y for _, y in points], 1)
    return float(fixed), float(slope)


def summary(figures: list[EngineFigures]) -> None:
    steps = ("stage", "gate", "commit", *ENGINE_STEPS)
    print("\nseconds by step, x the reference (DuckDB converting the pass's files), CPU-s, peak MB")
    print(f"{'pass':<8}{'customers':>10}{'engine':>8}" + "".join(f"{s[:9]:>10}" for s in steps), end="")
    print(f"{'total':>9}{'x ref':>7}{'engine':>8}{'x ref':>7}{'CPU-s':>8}{'peak MB':>9}")
    for f in figures:
        by_step = {s.step: s.seconds for s in f.run.steps}
        ref = f.run.reference_seconds
        cells = "".join(f"{by_step.get(s, 0):>10.1f}" for s in steps)
        print(f"{f.build:<8}{f.customers:>10,}{f.engine:>8}{cells}", end="")
        print(
            f"{f.run.seconds:>9.1f}{f.run.seconds / ref:>7.1f}{f.engine_seconds:>8.1f}{f.engine_seconds / ref:>7.1f}"
            f"{f.cpu_seconds:>8.0f}{f.run.peak_mb:>9,.0f}"
        )
    sizes = sorted({f.customers for f in figures})
    if len(sizes) < 2:
        print("\none size measured: no line to fit (give --customers two sizes or more)")
        return
    for build in PASSES:
        # the engine's part of the pass (stage, gate and commit are the same on both engines);
        # both engines ran in the same run, one after the other, so where their lines cross (a
        # bank size) holds on a machine whose speed moves both; the seconds do not
        lines = {
            engine: fit([(f.customers, f.engine_seconds) for f in figures if f.engine == engine and f.build == build])
            for engine in ENGINES
        }
        (duck_fixed, duck_slope), (spark_fixed, spark_slope) = lines["duckdb"], lines["spark"]
        seconds = {(f.customers, f.engine): f.engine_seconds for f in figures if f.build == build}
        ratios = ", ".join(f"{n:,}: {seconds[n, 'spark'] / seconds[n, 'duckdb']:.1f}x" for n in sizes)
        print(
            f"\n{build}, the engine's part: Spark's time over DuckDB's by customers {ratios}\n"
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


def saved(work: Path, customers: list[int], days: int) -> list[EngineFigures]:
    """The figures an earlier run wrote for these sizes."""
    figures = []
    for size in customers:
        rows = json.loads((work / f"engines-result-{size}x{days}.json").read_text(encoding="utf-8"))
        figures += [EngineFigures.from_json(row) for row in rows]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=10, help="days of history before the night")
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
    # every Spark session of the run (the build's in dbt's worker, splink's in the resolve step)
    # starts its JVM from this environment
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {args.spark_driver_memory} pyspark-shell"
    began = time.monotonic()
    figures = []
    for customers in args.customers:
        figures += measure(args.work, customers, args.days, args.seed)
    summary(figures)
    print(f"\n{time.monotonic() - began:.0f}s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
