"""Does Airflow add at most 10% to a night run by the CLI (issue 20)?

Simulates one bank of `--customers` customers (or reuses it, cached in `--work` per size and
seed: bench_nightly's landing area), loads its first `--days` days once, then runs the same
next night on fresh copies of that data dir, alternating, `--repeat` times each:

- the reference, measured in the same run: `bankdw run --date <night>`, a child process;
- the DAG: `airflow dags test bank_nightly <logical date>` (Airflow's `dag.test()`: the
  scheduler's dependency logic, the sensors, XCom and task states in its metadata database,
  every task in one child process). Its own AIRFLOW_HOME with a SQLite database per run,
  migrated before the clock starts.

It prints both nights' seconds, the ratio of the medians (the target is 1.10), and each mode's
seconds per step from its run report. A scheduler with the LocalExecutor (tests/test_dag_postgres.py
runs one) also starts a process per task, which `dag.test()` does not: the bench measures what
such a process pays before the task's own work (importing the DAG file and the pipeline in an
interpreter that has Airflow loaded, as the executor's forked supervisor has) and prints it per
night, beside the ratio, rather than leaving it out.

    .venv/bin/python bench/bench_airflow.py                         # 1,000 customers, 10 days, 2 nights each
    .venv/bin/python bench/bench_airflow.py --customers 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_nightly import bank, landing

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import DateSelection, run
from bankdw.reporting.run_report import RunReport

BIN = Path(sys.executable).parent
DAGS = PROJECT_ROOT / "dags"
STEPS = ("stage", "gate", "commit", "resolve", "build", "warehouse_gate", "publish")
TARGET = 1.10
START = date(2026, 3, 2)
"""The simulated bank's first business date: after the DAG's start date (a run of a logical date
before it has no tasks to run)."""


def history(work: Path, source: Path, days: int) -> Settings:
    """The bank with its first `days` days loaded and published, once per size (kept in `work`)."""
    settings = load_settings(data_dir=work / f"history-{days}d")
    marker = settings.root / ".loaded"
    if not marker.exists():
        settings = bank(work, settings.root.name, source)
        t0 = time.monotonic()
        report = run(settings, DateSelection(last=START + timedelta(days=days - 1)))
        if report.outcome != "SUCCESS":
            sys.exit(f"the initial load ended {report.outcome}: {report.failures[:3]}")
        marker.write_text(report.run_id, encoding="utf-8")
        print(f"loaded {days} days of history in {time.monotonic() - t0:.0f}s", flush=True)
    return settings


def fresh_copy(base: Settings, root: Path) -> Settings:
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base.root, root, symlinks=True)  # the landing area stays a link to the simulated one
    return load_settings(data_dir=root)


def night_by_cli(settings: Settings, night: date) -> tuple[float, RunReport]:
    env = os.environ | {"BANKDW_DATA_DIR": str(settings.root)}
    t0 = time.monotonic()
    done = subprocess.run(
        [str(BIN / "bankdw"), "run", "--date", night.isoformat()], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - t0
    return seconds, _succeeded(settings, "bankdw run", done)


def night_by_airflow(settings: Settings, night: date, home: Path) -> tuple[float, RunReport]:
    """The DAG's run for `night`: its logical date is the night after, at the schedule's hour."""
    shutil.rmtree(home, ignore_errors=True)
    env = os.environ | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "BANKDW_DATA_DIR": str(settings.root),
    }
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    logical = datetime.combine(night + timedelta(days=1), clock(2, 30), tzinfo=ZoneInfo(settings.timezone))
    t0 = time.monotonic()
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "bank_nightly", logical.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - t0
    return seconds, _succeeded(settings, "airflow dags test", done)


def _succeeded(settings: Settings, what: str, done: subprocess.CompletedProcess[str]) -> RunReport:
    """The night's report: a run of its own (not the history's, copied), which published."""
    report = RunReport.latest(settings)
    history_run = (settings.root / ".loaded").read_text(encoding="utf-8")
    if done.returncode != 0 or report is None or report.run_id == history_run or report.outcome != "SUCCESS":
        outcome = report.outcome if report else "no run"
        sys.exit(f"{what} ended {outcome} (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return report


def task_process_seconds() -> tuple[float, int]:
    """What a task process pays before its work: importing the DAG file and the pipeline, in an
    interpreter that has Airflow's task SDK loaded already (the supervisor forks it so); and the
    number of the DAG's tasks, each of which pays it under a scheduler."""
    code = (
        "import time, runpy, airflow.sdk; t0 = time.perf_counter(); "
        f"dag_file = runpy.run_path({str(DAGS / 'bank_nightly.py')!r}); import bankdw.pipeline; "
        "print(time.perf_counter() - t0, len(dag_file['bank_nightly']().tasks))"
    )
    env = os.environ | {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    samples = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]  # Airflow may log a warning first
        .split()
        for _ in range(3)
    ]
    return statistics.median(float(seconds) for seconds, _ in samples), int(samples[0][1])


def steps(report: RunReport) -> str:
    return "  ".join(f"{step} {report.step_seconds.get(step, 0):6.1f}" for step in STEPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=10, help="days of history loaded before the night")
    parser.add_argument("--repeat", type=int, default=2, help="nights run by each, alternating")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "data" / "bench-airflow")
    args = parser.parse_args()
    work = args.work / f"{args.customers}x{args.days}-seed{args.seed}-{START}"
    work.mkdir(parents=True, exist_ok=True)
    base = history(work, landing(args.work, args.customers, args.days + 1, args.seed, START), args.days)
    night = START + timedelta(days=args.days)
    print(f"night {night}: {args.customers:,} customers, {args.days} days of history; {args.repeat} nights each")
    seconds: dict[str, list[float]] = {"cli": [], "airflow": []}
    for n in range(args.repeat):
        for mode in seconds:
            settings = fresh_copy(base, work / f"{mode}-{n}")
            if mode == "cli":
                took, report = night_by_cli(settings, night)
            else:
                took, report = night_by_airflow(settings, night, work / f"airflow-home-{n}")
            seconds[mode].append(took)
            print(f"  {mode:<8} {took:7.1f}s   {steps(report)}", flush=True)
    cli, airflow = statistics.median(seconds["cli"]), statistics.median(seconds["airflow"])
    per_task, tasks = task_process_seconds()
    print(f"median: bankdw run {cli:.1f}s (the reference), airflow dags test {airflow:.1f}s")
    print(f"Airflow / CLI: {airflow / cli:.3f} (target at most {TARGET:.2f})")
    print(
        f"a scheduler's process per task (not in dags test): {per_task:.2f}s each, {tasks} tasks: "
        f"{per_task * tasks:.1f}s, {(airflow + per_task * tasks) / cli:.3f} of the CLI night with it"
    )
    result = {"seconds": seconds, "ratio": airflow / cli, "task_process_seconds": per_task, "tasks": tasks}
    (work / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
