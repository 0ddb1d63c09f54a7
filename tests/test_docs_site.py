"""Pages a person opens without the internet: the dbt docs every publish writes (`bankdw docs`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from bankdw import config
from bankdw.config import PROJECT_ROOT, load_settings
from bankdw.docs import BUILT_FROM, KEPT, PAGE, docs_dir, docs_key, generate
from bankdw.publish import READER_SCHEMAS
from dashboards.catalog import DASHBOARDS, OVERVIEW, Dashboard
from tests.conftest import PublishedBank, free_port

EXPOSURES_YML = PROJECT_ROOT / "dbt_project/models/exposures/_exposures.yml"

REMOTE_ASSET = re.compile(
    r"""<script[^>]+src=["']?(https?:)?//"""
    r"""|<link[^>]+href=["']?(https?:)?//[^>]*stylesheet"""
    r"""|<link[^>]+stylesheet[^>]*href=["']?(https?:)?//"""
    r"""|<img[^>]+src=["']?(https?:)?//"""
    r"""|url\(\s*["']?(https?:)?//"""
    r"""|@import\s+(url\()?["']?(https?:)?//""",
    re.IGNORECASE,
)
"""What a browser would fetch from elsewhere: scripts, stylesheets, images, CSS urls and imports."""


def remote_assets(html: str) -> list[str]:
    return [match.group(0) for match in REMOTE_ASSET.finditer(html)]


def test_remote_assets_are_recognised() -> None:
    # the check itself can fail: each of these would fetch from the internet
    for html in (
        '<script src="https://cdn.example/x.js"></script>',
        "<link rel='stylesheet' href='https://fonts.example/c.css'>",
        '<link href="//cdn.example/c.css" rel="stylesheet">',
        "body { background: url('https://example/x.png') }",
        '@import "https://example/c.css";',
    ):
        assert remote_assets(html), html
    assert not remote_assets('<script>var a = "https://docs.getdbt.com";</script><a href="https://x">x</a>')


@pytest.fixture(scope="module")
def page(published_bank: PublishedBank) -> str:
    path = docs_dir(published_bank.settings) / PAGE
    assert path.is_file(), "publish wrote no docs"
    return path.read_text(encoding="utf-8")


def test_publish_writes_docs_with_the_published_column_types(published_bank: PublishedBank, page: str) -> None:
    # given the catalog kept beside the page
    catalog = json.loads((docs_dir(published_bank.settings) / "catalog.json").read_text(encoding="utf-8"))
    nodes = catalog["nodes"]
    # then it describes the published file: the marts with their types, nothing readers cannot see
    contribution = nodes["model.bankdw.fct_account_profitability_monthly"]["columns"]["contribution"]
    assert contribution["type"] == "DECIMAL(18,2)"
    assert {node["metadata"]["schema"] for node in nodes.values()} <= set(READER_SCHEMAS)
    assert not [key for key in nodes if ".stg_" in key or ".int_" in key]
    # and the page carries that catalog inline
    assert '"DECIMAL(18,2)"' in page.replace('\\"', '"')
    assert "fct_account_profitability_monthly" in page


def test_a_version_of_the_same_project_keeps_the_docs_readers_have(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given a copy of the shared bank, whose publish generated its docs
    settings = published_bank.copy(tmp_path / "data")
    before = docs_dir(settings).resolve()
    # when a later version built by the same project and settings is published
    generate(settings, "20991231T000000000000Z")
    # then readers see that version's docs folder, holding the same files (dbt did not run again)
    after = docs_dir(settings).resolve()
    assert after.name == "20991231T000000000000Z"
    for name in (PAGE, *KEPT):
        assert (after / name).stat().st_ino == (before / name).stat().st_ino, name
        assert (after / name).read_bytes() == (published_bank.settings.root / "docs" / name).read_bytes()
    # and a setting that shapes the build, or another checkout of the project, makes them afresh
    assert docs_key(load_settings(data_dir=settings.root, inactive_days=91)) != docs_key(settings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "PROJECT_ROOT", tmp_path / "release-2")
        assert docs_key(settings) != (after / BUILT_FROM).read_text(encoding="utf-8")
    assert docs_key(settings) == (after / BUILT_FROM).read_text(encoding="utf-8")


def _exposures() -> dict[str, dict[str, Any]]:
    spec = yaml.safe_load(EXPOSURES_YML.read_text(encoding="utf-8"))
    return {e["name"]: e for e in spec["exposures"]}


def _refs(exposure: dict[str, Any]) -> set[str]:
    refs = [re.fullmatch(r"ref\('([a-z0-9_]+)'\)", d) for d in exposure["depends_on"]]
    assert all(refs), exposure["depends_on"]
    return {ref.group(1) for ref in refs if ref}


def test_the_dashboard_exposures_are_the_catalogues_dashboards() -> None:
    # given the dbt exposures of type dashboard and the dashboards' catalogue (dashboards/catalog.py)
    exposures = {name: e for name, e in _exposures().items() if e["type"] == "dashboard"}
    # then they name exactly the same dashboards, each at its URL, depending on the marts it reads
    assert exposures.keys() == DASHBOARDS.keys()
    for name, dashboard in DASHBOARDS.items():
        assert exposures[name]["url"] == f"/{name}"
        assert _refs(exposures[name]) == dashboard.marts, name
        assert dashboard.script.is_file()


def test_each_dashboard_runs_exactly_the_queries_of_its_catalogue_entry() -> None:
    # given each page's script: the queries it asks (`query("name")`)
    for dashboard in [OVERVIEW, *DASHBOARDS.values()]:
        asked = re.findall(r"""\bquery\(["']([a-z0-9_]+)["']\)""", dashboard.script.read_text(encoding="utf-8"))
        # then they are the catalogue's, and each reads at least one mart
        assert sorted(set(asked)) == sorted(dashboard.queries), dashboard.name
        assert dashboard.marts, dashboard.name
    # and the marts are read from the SQL itself: a query of another mart changes them
    probe = Dashboard("probe", "Probe", "", ("loan_book", "leads"))
    assert probe.marts == {"fct_loan_book_monthly", "fct_leads"}


def test_docs_show_the_notebooks_and_dashboards(page: str) -> None:
    # given the exposures of the dbt project
    exposures = _exposures()
    notebooks = {p.stem for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb")}
    # then every notebook and every dashboard is one, dashboards with relative urls
    assert {f"{n}_notebook" for n in notebooks} | DASHBOARDS.keys() <= exposures.keys()
    for name in DASHBOARDS:
        assert exposures[name]["type"] == "dashboard"
        assert not re.match(r"^[a-z]+://", exposures[name]["url"])
    for name in notebooks:
        assert (PROJECT_ROOT / exposures[f"{name}_notebook"]["url"]).is_file()
    # and the page lists them
    for name in exposures:
        assert f"exposure.bankdw.{name}" in page


def test_docs_page_loads_nothing_from_the_internet(page: str) -> None:
    assert remote_assets(page) == []
    # dbt's page adds a usage tracker from a CDN unless the project turns it off
    assert '"send_anonymous_usage_stats": false' in page.replace('\\"', '"')


def test_bankdw_docs_serves_the_page(published_bank: PublishedBank, page: str) -> None:
    # given `bankdw docs --serve` on a free port
    port = free_port()
    bankdw = Path(sys.executable).with_name("bankdw")
    env = os.environ | {"BANKDW_DATA_DIR": str(published_bank.settings.root)}
    server = subprocess.Popen(
        [str(bankdw), "docs", "--serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # when the page is asked for
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    body = response.read()
                break
            except OSError:
                time.sleep(0.3)
        # then it is the published docs page
        assert body.decode("utf-8") == page
    finally:
        server.terminate()
        server.wait(timeout=10)
    # and without --serve the command names the file
    done = subprocess.run([str(bankdw), "docs"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("/docs/index.html")


# ---------------------------------------------------------------- the GX Data Docs of a run

WARNED_CHECK = "call_center.calls/expect_column_values_to_be_in_set(direction)"


@pytest.fixture(scope="module")
def data_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Data Docs of a run that staged and gated two small deliveries (no build): the call
    centre's bad call direction configured as a warning, the accounts' unknown customer
    blocking; a page for every feed file."""
    from bankdw.config import load_settings
    from bankdw.pipeline import GateFailed, gate_step, stage_step
    from tests.conftest import HOLD_THE_RUN, gates_toml, write_delivery
    from tests.test_reports import D, bad_calls, many_keys

    root = tmp_path_factory.mktemp("data_docs")
    warning = ("[overrides]\n", f'[overrides]\n"{WARNED_CHECK}" = "warning"\n')
    gates = gates_toml(root / "gates.toml", ('data_docs = "problems"', 'data_docs = "all"'), HOLD_THE_RUN, warning)
    settings = load_settings(data_dir=root / "data", gates_config=gates)
    write_delivery(settings.landing_dir, "call_center", D, bad_calls())
    write_delivery(settings.landing_dir, "core_banking", D, many_keys())
    report = stage_step(settings, run_id="R1")
    with pytest.raises(GateFailed):
        gate_step(settings, report.run_id)
    return settings.runs_dir / "R1" / "data_docs"


def _status(page: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r"Status:</span>(.*?)</(strong|td|div)>", page, re.S).group(1)).strip()  # type: ignore[union-attr]


def test_data_docs_say_warning_for_a_check_the_run_treated_as_a_warning(data_docs: Path) -> None:
    calls = (data_docs / "call_center.calls.html").read_text(encoding="utf-8")
    accounts = (data_docs / "core_banking.accounts.html").read_text(encoding="utf-8")
    # the calls' only unmet check was a warning: the page says so, and says no failure
    assert calls.count("<strong>warning</strong>") == 1
    assert "<strong>failed</strong>" not in calls
    assert _status(calls) == "Passed with warnings"
    # the accounts' unknown customer blocked the run: a failure
    assert accounts.count("<strong>failed</strong>") >= 1 and "<strong>warning</strong>" not in accounts
    assert _status(accounts) == "Failed"
    # a page with nothing unmet says passed
    agents = (data_docs / "call_center.agents.html").read_text(encoding="utf-8")
    assert _status(agents) == "Passed" and "<strong>failed</strong>" not in agents


def test_data_docs_work_offline_and_their_links_resolve(data_docs: Path) -> None:
    pages = sorted(data_docs.glob("*.html"))
    assert len(pages) > 3
    for path in pages:
        page = path.read_text(encoding="utf-8")
        # nothing fetched from elsewhere, and a stylesheet of their own
        assert remote_assets(page) == [], path.name
        assert "<style>" in page, path.name
        # every relative link (href or src) names a file that is there
        targets = re.findall(r"""(?:href|src)=["']([^"'#]+)["']""", page)
        local = [t for t in targets if not re.match(r"^[a-z]+:", t)]
        assert [t for t in local if not (path.parent / t).is_file()] == [], path.name
    index = (data_docs / "index.html").read_text(encoding="utf-8")
    assert "call_center.calls.html" in index
