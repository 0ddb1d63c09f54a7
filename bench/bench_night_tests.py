"""What a published night's warehouse tests cost, run again on the same build.

    .venv/bin/python bench/bench_night_tests.py --data data/bench-scale/bank-100000x30 [--repeat 2]

Copies the whole build behind the published version of `--data` (its staging and intermediate
schemas too) and its kept folders into the build area, as the night's build left them, and runs
the warehouse gate's tests on it (`bankdw.warehouse.run_tests`: every test, scoped as the night
scoped them when the build started from a published one) with this checkout's dbt project. Run
it from two checkouts (before and after a change to the tests) on the same data dir for an A/B:
the build is the same, only what the tests read differs. A change to the dbt project's models
makes no difference here: the tests read the tables the night built.

Beside it, the reference measured in the same run: DuckDB alone reading every staged row of the
lake once (a hash of every column of every feed's files), what tests over whole staging views
pay at least. The machine is shared: compare the ratio, not the seconds. The 15 slowest tests come from
dbt's run_results.json; dbt's lines go to `<data>/bench-night-tests.log`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import duckdb

from bankdw.config import load_settings
from bankdw.dbt_session import dbt_session
from bankdw.publish import copy_published_state
from bankdw.reporting.progress import output_to_log
from bankdw.warehouse import KEPT_DIRS, build_path, night_tested_since, published_run_id, run_tests
from extract.sql import literal

SLOWEST = 15


def reference(lake: Path) -> float:
    """Seconds for DuckDB to read every staged row of the lake's feeds (a hash of every column:
    a `count(*)` alone reads only the files' metadata)."""
    t0 = time.monotonic()
    with duckdb.connect(config={"enable_progress_bar": False}) as con:
        for feed in sorted(p for p in lake.glob("*/*") if p.is_dir() and not p.parent.name.startswith("_")):
            files = literal(str(feed / "*" / "*.parquet"))
            con.sql(f"select sum(hash(columns(*))) from read_parquet({files})").fetchall()
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a data dir with a published night")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings(data_dir=args.data)
    run_id = published_run_id(settings)
    if run_id is None:
        raise SystemExit(f"{args.data} has no published version")
    log = args.data / "bench-night-tests.log"
    for n in range(args.repeat):
        target = build_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_published_state(settings, target)  # as a night's build starts: checked against its checksum
        for kept in KEPT_DIRS:
            shutil.rmtree(kept.build(settings), ignore_errors=True)
            shutil.copytree(kept.version_path(settings, run_id), kept.build(settings))
        since = night_tested_since(settings, target)
        ref = reference(settings.lake_dir)
        with output_to_log(log, quiet=True), dbt_session(settings):
            t0 = time.monotonic()
            result = run_tests(settings)
            seconds = time.monotonic() - t0
        results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
        timed = sorted(((r["execution_time"], r["unique_id"]) for r in results["results"]), reverse=True)
        print(
            f"run {n + 1}: {len(result.test_results)} tests ({'night since ' + since if since else 'whole tables'}) "
            f"in {seconds:.1f}s, {seconds / ref:.1f}x the reference ({ref:.1f}s); "
            f"test time summed {sum(t for t, _ in timed):.1f}s; {result.tests_passed} passed, "
            f"{result.tests_warned} warned, {result.tests_failed} failed"
        )
        for t, node in timed[:SLOWEST]:
            print(f"    {t:7.2f}s  {node}")
        sys.stdout.flush()
        for kept in KEPT_DIRS:
            shutil.rmtree(kept.build(settings), ignore_errors=True)
        target.unlink()


if __name__ == "__main__":
    main()
