"""Where the test suite's CPU goes, by test module and by test (issue 12).

`make test` keeps both cores of a 2-core machine busy from start to end (docs/performance.md):
the suite is CPU bound, so only less CPU makes it faster, and the question is which tests spend
it. Their own processes are not the answer: a test's pipeline run spends most of its CPU in
children (dbt's worker, Spark's JVM, Airflow's processes, PostgreSQL, a browser), and some of
them outlive their parent, so `/usr/bin/time` and `getrusage` miss them.

This runs pytest as `make pytest` does (xdist, whole files per worker, the same order) with this
module as a plugin, and samples every process's CPU (its user and system time, psutil) twice a second:

- an xdist worker's CPU goes to the test it is running (the plugin writes the test's id to a file
  named by the worker's pid at the start of each test);
- any other process's CPU goes to the test that was running when the process started, which its
  environment names (pytest sets PYTEST_CURRENT_TEST; children inherit it);
- the rest (anything no test started, the kernel's threads) is "outside the suite".

A process that starts and ends between two samples, and a process's last half second, are not
seen; the figures say how much of the machine's busy CPU over the run they account for (the
reference, the machine's CPU times over the same run).

    .venv/bin/python bench/bench_suite_cpu.py                     # the whole suite, as make pytest
    .venv/bin/python bench/bench_suite_cpu.py tests/test_config.py --top 10

The figures of the last full run are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path

import psutil
import pytest

MAP_DIR = "BENCH_SUITE_CPU_MAP"
"""The environment variable naming the folder where each xdist worker writes its current test."""
IDLE = "idle: "
OUTSIDE = "(outside the suite)"
PROJECT = Path(__file__).resolve().parents[1]


# the plugin: loaded by pytest in every xdist worker (`-p bench_suite_cpu`)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Name the test this worker runs from now on (its setup, call and teardown)."""
    folder = os.environ.get(MAP_DIR)
    if folder:
        Path(folder, str(os.getpid())).write_text(item.nodeid, encoding="utf-8")
    try:
        return (yield)
    finally:
        if folder:
            Path(folder, str(os.getpid())).write_text(IDLE + item.nodeid, encoding="utf-8")


# the sampler


def _processes() -> dict[tuple[int, float], float]:
    """Every process's CPU seconds so far (its own, not its children's), by (pid, start time): a
    pid reused is another process."""
    found = {}
    for process in psutil.process_iter(["create_time", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:  # None: not ours to read, or ended meanwhile
            found[(process.pid, process.info["create_time"])] = times.user + times.system
    return found


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent busy so far (all cores): user, nice, system, irq and softirq."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq")))


class Sampler(threading.Thread):
    """Attributes the CPU of every process to a test, every `interval` seconds, until stopped."""

    def __init__(self, map_dir: Path, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.map_dir, self.interval = map_dir, interval
        self.by_test: dict[str, float] = collections.defaultdict(float)
        self._labels: dict[tuple[int, float], str] = {}
        self._stopping = threading.Event()

    def _label(self, process: tuple[int, float]) -> str:
        worker = self.map_dir / str(process[0])
        if worker.exists():  # an xdist worker: the test it runs now
            return worker.read_text(encoding="utf-8").removeprefix(IDLE)
        if process not in self._labels:
            try:
                started_in = psutil.Process(process[0]).environ().get("PYTEST_CURRENT_TEST")
            except psutil.Error:  # ended meanwhile, or not ours to read
                started_in = None
            # "tests/x.py::test_y (call)": the phase the process was started in goes
            self._labels[process] = started_in.rsplit(" (", 1)[0] if started_in else OUTSIDE
        return self._labels[process]

    def run(self) -> None:
        me = os.getpid()
        before = _processes()  # what ran before the suite is not the suite's
        while not self._stopping.wait(self.interval):
            now = _processes()
            for process, seconds in now.items():
                spent = seconds - before.get(process, 0.0)
                if spent > 0 and process[0] != me:
                    self.by_test[self._label(process)] += spent
            before = now

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def report(by_test: dict[str, float], wall: float, busy: float, top: int) -> None:
    attributed = sum(by_test.values())
    by_module: dict[str, float] = collections.defaultdict(float)
    for test, seconds in by_test.items():
        by_module[test.split("::", 1)[0]] += seconds
    cores = os.cpu_count() or 1
    print(f"wall {wall:,.0f} s on {cores} cores; the machine busy {busy:,.0f} CPU-s ({busy / wall:.2f} cores)")
    print(f"attributed {attributed:,.0f} CPU-s ({attributed / busy:.0%} of the machine's busy CPU)\n")
    print(f"{'CPU-s':>8} {'share':>6}  module")
    for module, seconds in sorted(by_module.items(), key=lambda item: -item[1]):
        if seconds >= 0.5:
            print(f"{seconds:8,.0f} {seconds / attributed:6.1%}  {module}")
    print(f"\n{'CPU-s':>8}  the {top} dearest tests (a fixture's cost goes to the first test that asks for it)")
    tests = sorted(((seconds, test) for test, seconds in by_test.items() if test != OUTSIDE), reverse=True)
    for seconds, test in tests[:top]:
        print(f"{seconds:8,.0f}  {test[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1, help="xdist workers (as make)")
    parser.add_argument("--top", type=int, default=25, help="how many of the dearest tests to list")
    parser.add_argument("--json", type=Path, help="also write the CPU-s by test to this file")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="bench-suite-cpu-") as folder:
        environment = os.environ | {
            MAP_DIR: folder,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", "pytest", "-p", "bench_suite_cpu", "-q"]
        command += ["-n", str(args.workers), "--dist", "loadfile", "--no-loadscope-reorder", *pytest_args]
        sampler = Sampler(Path(folder))
        busy_before, started = machine_busy_seconds(), time.monotonic()
        sampler.start()
        done = subprocess.run(command, cwd=PROJECT, env=environment, check=False)
        sampler.stop()
        wall, busy = time.monotonic() - started, machine_busy_seconds() - busy_before
    print()
    report(sampler.by_test, wall, busy, args.top)
    if args.json:
        args.json.write_text(
            json.dumps(dict(sorted(sampler.by_test.items(), key=lambda item: -item[1])), indent=1), encoding="utf-8"
        )
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
