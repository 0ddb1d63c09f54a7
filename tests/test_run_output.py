"""What a run shows a person: a few lines on the terminal (one per step, then the summary; dbt
and splink in the log file), and a run page that puts failures and warnings first."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from bankdw.reporting.run_page import page_path, write_run_page
from bankdw.reporting.run_report import RunReport
from tests.conftest import PublishedBank
from tests.nights import Nights

STEPS = ["stage", "gate", "commit", "resolve", "build", "warehouse_gate", "publish"]
MOST_LINES = 40
"""The terminal output of a whole night; `make run` printed about 1,900 lines before."""


def test_bankdw_run_prints_a_line_per_step_and_the_summary(published_nights: Nights) -> None:
    # given the shared bank's night 2, run as `bankdw run` in a terminal that is a pipe
    # (tests/nights.py: one night of the session serves this test and those of write-audit-publish)
    done = subprocess.CompletedProcess(["bankdw", "run"], **published_nights.night_2_terminal)
    # then it succeeds with a few plain lines: no colour codes, no dbt or splink line
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    lines = out.splitlines()
    assert len(lines) <= MOST_LINES, out
    assert "\x1b" not in out + done.stderr
    shown = "\n".join(lines[1:]) + done.stderr  # the first line names the log file (and what it holds)
    assert not re.search(r"Running with dbt|START (sql|test)|OK created|PASS=|splink", shown, re.I)
    assert done.stderr == ""
    # and one progress line per step, in order, with its time
    progress = [line.split()[1] for line in lines if re.match(r"^  (ok  |FAIL) \w+ +\d+\.\d s", line)]
    assert progress == STEPS, out
    assert re.search(r"^  ok   stage +\d+\.\d s  \d+ deliveries, [\d,]+ rows$", out, re.M), out
    assert re.search(r"^  ok   warehouse_gate .* [\d,]+ checks passed", out, re.M), out
    # and the summary follows them
    assert re.search(r"^Run \S+: SUCCESS in ", out, re.M)
    assert lines[-1].startswith("Run report: ")
    # and what the terminal was spared is in the log file the first line names
    log = Path(lines[0].rsplit(": ", 1)[1])
    text = log.read_text(encoding="utf-8")
    assert "Running with dbt" in text and "Completed successfully" in text


def test_run_page_puts_failures_and_warnings_first_and_counts_the_rest(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given the shared bank's run (hundreds of checks and dbt tests, one warning test), its
    # results copied, and the same run as if it had also failed
    source = published_bank.settings.runs_dir / published_bank.report.run_id
    settings = published_bank.copy(tmp_path / "data")
    folder = settings.runs_dir / published_bank.report.run_id
    shutil.copytree(source, folder, dirs_exist_ok=True)
    tests = json.loads((folder / "dbt_tests.json").read_text(encoding="utf-8"))
    warned = [t for t in tests if t["outcome"] == "warned"]
    passed = [t for t in tests if t["outcome"] == "passed"]
    assert warned and len(passed) > 100
    broken = tests.index(passed[0])
    tests[broken] = tests[broken] | {"outcome": "failed", "failing_rows": 3, "note": "3 rows broke it"}
    (folder / "dbt_tests.json").write_text(json.dumps(tests), encoding="utf-8")
    report = RunReport.load(settings, published_bank.report.run_id)
    report.failures = ["warehouse_gate: a failure for the test"]
    # when the page is written
    page = write_run_page(settings, report).read_text(encoding="utf-8")
    # then failures come first, warnings next, then the facts, deliveries and the counts
    headings = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page)]
    order = [
        next(i for i, h in enumerate(headings) if h.startswith(name))
        for name in ("Failures", "Warnings", "Publication", "Deliveries", "Feed gates", "Warehouse tests")
    ]
    assert order == sorted(order), headings
    failures = page[page.index("Failures</h2>") : page.index("Warnings</h2>")]
    assert tests[broken]["check_id"] in failures and "a failure for the test" in failures
    warnings = page[page.index("Warnings</h2>") : page.index("Publication</h2>")]
    assert all(t["check_id"] in warnings for t in warned)
    # and the dbt tests are counted by outcome, the passing ones not listed
    outcomes = [t["outcome"] for t in tests]
    counts = f"{outcomes.count('failed')} failed, {outcomes.count('warned')} warned, {outcomes.count('passed')} passed"
    assert f"Warehouse tests (dbt: {counts})" in page
    assert not [t for t in passed[1:] if t["check_id"] in page]
    # and the deliveries are one table, a row each
    deliveries = page[page.index("Deliveries (") :]
    assert deliveries.count("<td>loaded</td>") == len(report.deliveries_loaded) > 0
    # and the page of the real run says its warning before its publication
    real = page_path(published_bank.settings, published_bank.report.run_id).read_text(encoding="utf-8")
    assert real.index("Warnings</h2>") < real.index("Publication</h2>")
    assert "Failures</h2>" not in real
