"""The dashboards a person opens (`make dashboards`, docs/dashboards.md), rendered in a real browser.

The test starts the dashboards with `make dashboards` (dashboards/run.py, which starts the
served warehouse over a copy of the shared published bank), opens each dashboard of the
catalogue (dashboards/catalog.py) in headless Chromium (Debian's package, driven by Playwright),
saves a screenshot into the test's output folder, and reads the figures off the page: each must
equal the same figure computed with SQL on the published warehouse. A second dashboards process
reads the same server as a relationship manager (`--login rm_<rm_id>`): row-level security
leaves it that RM's customers and leads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import Settings, load_settings
from dashboards.catalog import DASHBOARDS
from tests.conftest import PublishedBank, free_port, stop_group

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NPL = "('SUBSTANDARD', 'DOUBTFUL', 'LOSS')"


def _chromium() -> Path:
    """Debian's chromium; installed by `make chromium` (apt, as root) when absent."""
    if not CHROMIUM.exists():
        done = subprocess.run(["make", "--no-print-directory", "chromium"], cwd=ROOT, capture_output=True, text=True)
        if not CHROMIUM.exists():
            pytest.fail(
                f"{CHROMIUM} is missing and `make chromium` could not install it (run it as root: "
                f"apt-get install -y chromium):\n{done.stdout}\n{done.stderr}"
            )
    return CHROMIUM


@contextmanager
def _dashboards(settings: Settings, serve_port: int, *args: str, make: bool = False) -> Iterator[str]:
    """dashboards/run.py on a free port (its arguments `args`) until the block ends; yields its URL.

    With `make`: `make dashboards` instead, given the port by its setting (BANKDW_DASHBOARDS_PORT).
    """
    port = free_port()
    env = {**os.environ, "BANKDW_DATA_DIR": str(settings.root), "BANKDW_SERVE_PORT": str(serve_port)}
    if make:
        command = ["make", "--no-print-directory", "dashboards"]
        env["BANKDW_DASHBOARDS_PORT"] = str(port)
    else:
        command = [sys.executable, str(ROOT / "dashboards" / "run.py"), "--port", str(port), *args]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, (process.stdout.read() if process.stdout else b"").decode()
            assert time.monotonic() < deadline, "the dashboards did not answer within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        stop_group(process)  # run.py stops streamlit and the server it started


@pytest.fixture(scope="module")
def dashboards(
    published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str]]:
    """`make dashboards` over a copy of the published bank, as `analyst` (the default login), on the
    port of its setting: dashboards/run.py starts `bankdw serve` itself."""
    settings = published_bank.copy(tmp_path_factory.mktemp("dashboards") / "data", serve_port=free_port())
    with _dashboards(settings, settings.serve_port, make=True) as url:
        yield settings, url


def _render(
    url: str, names: Iterable[str], tmp_path_factory: pytest.TempPathFactory, tag: str
) -> dict[str, dict[str, str]]:
    """Each dashboard named rendered in Chromium: its screenshot saved, its figures (label -> text) read."""
    from playwright.sync_api import sync_playwright

    out = tmp_path_factory.mktemp(f"screenshots-{tag}")
    figures: dict[str, dict[str, str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(_chromium()),
            args=CHROMIUM_FLAGS, headless=True, viewport={"width": 1280, "height": 1400},
        )  # fmt: skip
        try:
            page = browser.new_page()
            for name in names:
                page.goto(f"{url}/{name}")
                page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
                # the script has finished when Streamlit's status widget stops saying it runs
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                )
                page.wait_for_timeout(1_000)  # charts draw after the script ends
                errors = [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]
                assert not errors, f"{name}: {errors}"
                assert page.inner_text("h1").strip() == DASHBOARDS[name].title
                shot = out / f"{name}.png"
                page.screenshot(path=str(shot))
                print(f"screenshot of {name} ({tag}): {shot}")  # noqa: T201 (where a person finds it: pytest -s)
                figures[name] = _figures(page)
        finally:
            browser.close()
    return figures


@pytest.fixture(scope="module")
def rendered(dashboards: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Each dashboard of the catalogue rendered as the analyst."""
    return _render(dashboards[1], DASHBOARDS, tmp_path_factory, "analyst")


def _figures(page: Any) -> dict[str, str]:
    """The metrics at the top of a page: label -> value as shown."""
    figures = {}
    for metric in page.query_selector_all('[data-testid="stMetric"]'):
        label = metric.query_selector('[data-testid="stMetricLabel"]').inner_text().strip()
        figures[label] = metric.query_selector('[data-testid="stMetricValue"]').inner_text().strip()
    return figures


def _sql(settings: Settings, query: str) -> Decimal:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        row = con.sql(query).fetchone()
    return Decimal(str(row[0] if row and row[0] is not None else 0))


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", "").rstrip("%"))


def test_every_dashboard_renders_its_figures(rendered: dict[str, dict[str, str]]) -> None:
    assert set(rendered) == set(DASHBOARDS)
    for name, figures in rendered.items():
        assert len(figures) >= 3, f"{name} shows {figures}"


def test_the_value_pyramid_shows_the_marts_figures(
    dashboards: tuple[Settings, str], rendered: dict[str, dict[str, str]]
) -> None:
    # given
    settings, _ = dashboards
    latest = "month_start = (select max(month_start) from marts.fct_customer_value_monthly)"
    # when
    shown = rendered["value_pyramid"]
    # then
    customers = _sql(settings, f"select count(*) from marts.fct_customer_value_monthly where {latest}")
    tier_a = _sql(
        settings, f"select count(*) from marts.fct_customer_value_monthly where {latest} and value_tier = 'A'"
    )
    contribution = _sql(settings, f"select sum(contribution_12m) from marts.fct_customer_value_monthly where {latest}")
    assert customers > 0
    assert _number(shown["Customers"]) == customers
    assert _number(shown["Customers in tier A"]) == tier_a
    assert _number(shown["Contribution 12m"]) == contribution


def test_profitability_shows_the_marts_figures(
    dashboards: tuple[Settings, str], rendered: dict[str, dict[str, str]]
) -> None:
    settings, _ = dashboards
    shown = rendered["profitability"]
    latest = "month_start = (select max(month_start) from marts.fct_product_profitability_monthly)"
    # the products add up to the bank: the page's total is the bank's month
    bank = "month_start = (select max(month_start) from marts.fct_bank_profitability_monthly)"
    assert _number(shown["Contribution"]) == _sql(
        settings, f"select sum(contribution) from marts.fct_product_profitability_monthly where {latest}"
    )
    assert _number(shown["Contribution"]) == _sql(
        settings, f"select contribution from marts.fct_bank_profitability_monthly where {bank}"
    )
    assert _number(shown["Economic profit"]) == _sql(
        settings, f"select economic_profit from marts.fct_bank_profitability_monthly where {bank}"
    )
    assert _number(shown["Net interest income"]) == _sql(
        settings, f"select net_interest_income from marts.fct_bank_profitability_monthly where {bank}"
    )


def test_the_loan_book_shows_the_marts_figures(
    dashboards: tuple[Settings, str], rendered: dict[str, dict[str, str]]
) -> None:
    settings, _ = dashboards
    shown = rendered["loan_book"]
    latest = "month_start = (select max(month_start) from marts.fct_loan_book_monthly)"
    loans = _sql(settings, f"select count(*) from marts.fct_loan_book_monthly where {latest}")
    principal = _sql(settings, f"select sum(outstanding_principal) from marts.fct_loan_book_monthly where {latest}")
    npl = _sql(
        settings,
        f"select sum(outstanding_principal) from marts.fct_loan_book_monthly where {latest} and classification in {NPL}",
    )
    assert loans > 0
    assert _number(shown["Loans"]) == loans
    assert _number(shown["Outstanding principal"]) == principal
    assert _number(shown["Non-performing principal"]) == npl
    assert _number(shown["NPL ratio"]) == (100 * npl / principal).quantize(Decimal("0.01"))


def test_churn_risk_shows_the_marts_figures(
    dashboards: tuple[Settings, str], rendered: dict[str, dict[str, str]]
) -> None:
    settings, _ = dashboards
    shown = rendered["churn_risk"]
    scored = "from marts.customer_360 where churn_probability is not null"
    assert _number(shown["Customers scored"]) == _sql(settings, f"select count(*) {scored}")
    assert _number(shown["Customers at high risk"]) == _sql(
        settings, f"select count(*) {scored} and churn_risk_band = 'HIGH'"
    )
    assert _number(shown["Contribution 12m at high risk"]) == _sql(
        settings, f"select coalesce(sum(contribution_12m), 0) {scored} and churn_risk_band = 'HIGH'"
    )


def test_the_rm_lead_list_shows_the_marts_figures(
    dashboards: tuple[Settings, str], rendered: dict[str, dict[str, str]]
) -> None:
    settings, _ = dashboards
    shown = rendered["rm_leads"]
    leads = _sql(settings, "select count(*) from marts.fct_leads")
    assert leads > 0
    assert _number(shown["Leads"]) == leads
    assert _number(shown["Open leads"]) == _sql(settings, "select count(*) from marts.fct_leads where status = 'OPEN'")
    assert _number(shown["Open leads in branch queues"]) == _sql(
        settings, "select count(*) from marts.fct_leads where status = 'OPEN' and rm_id is null"
    )


# ------------------------------------------------------------- as a relationship manager
# The shared published bank's few RMs have one customer or no lead: the RM pages are checked on
# the shared value bank, whose exports (not its files: it is read-only) a data dir of the test's
# own serves.

RM_CUSTOMERS = "select customer_key from marts.bridge_customer_relationship_manager where rm_id = '{rm}'"
RM_LEADS = f"from marts.fct_leads where (customer_key in ({RM_CUSTOMERS}) or rm_id = '{{rm}}')"
"""The leads an RM may see: those of their customers and those assigned to them (docs/serving.md)."""
LATEST_VALUE = "from marts.fct_customer_value_monthly where month_start = (select max(month_start) from marts.fct_customer_value_monthly)"


def _rm_with_customers_and_leads(settings: Settings) -> str:
    """The RM who sees the most leads among those with several customers (named by query, not by hand)."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        row = con.sql(
            """
            with customers as (
                select rm_id, count(distinct customer_key) as customers
                from marts.bridge_customer_relationship_manager group by rm_id
            ),
            seen as (
                select bridge.rm_id, leads.lead_id
                from marts.bridge_customer_relationship_manager as bridge
                inner join marts.fct_leads as leads on bridge.customer_key = leads.customer_key
                union
                select leads.rm_id, leads.lead_id from marts.fct_leads as leads where leads.rm_id is not null
            )
            select customers.rm_id
            from customers inner join seen on customers.rm_id = seen.rm_id
            where customers.customers >= 2
            group by customers.rm_id, customers.customers
            order by count(distinct seen.lead_id) desc, customers.customers desc, customers.rm_id
            limit 1
            """
        ).fetchone()
    assert row is not None, "no RM of the value bank has several customers and a lead"
    return str(row[0])


@pytest.fixture(scope="module")
def rm_rendered(
    value_bank: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, dict[str, dict[str, str]]]]:
    """The RM lead list and the value pyramid of the value bank, rendered by `dashboards/run.py
    --login rm_<rm_id>` (which starts the served warehouse) and, on the same server, by a second
    one as the analyst: {"rm": {page: figures}, "analyst": {page: figures}}."""
    rm = _rm_with_customers_and_leads(value_bank)
    settings = load_settings(data_dir=tmp_path_factory.mktemp("rm_dashboards") / "data", serve_port=free_port())
    store = value_bank.root / ".exports"
    shutil.copytree(store, settings.root / ".exports", symlinks=True)
    (settings.root / "exports").symlink_to((value_bank.root / "exports").readlink())
    pages = ["rm_leads", "value_pyramid"]
    with (
        _dashboards(settings, settings.serve_port, "--login", f"rm_{rm}") as as_rm,  # starts the server
        _dashboards(settings, settings.serve_port) as as_analyst,  # finds it answering
    ):
        return rm, {
            "rm": _render(as_rm, pages, tmp_path_factory, f"rm_{rm}"),
            "analyst": _render(as_analyst, pages, tmp_path_factory, "value-bank-analyst"),
        }


def test_an_rm_sees_only_their_leads_on_the_lead_list(
    value_bank: Settings, rm_rendered: tuple[str, dict[str, dict[str, dict[str, str]]]]
) -> None:
    # given an RM with several customers and at least one lead, and the lead list as they see it
    rm, shown = rm_rendered
    leads = RM_LEADS.format(rm=rm)
    # then its figures are the marts' leads of that RM's customers and of the RM
    expected = {
        "Leads": _sql(value_bank, f"select count(*) {leads}"),
        "Open leads": _sql(value_bank, f"select count(*) {leads} and status = 'OPEN'"),
        "Open leads in branch queues": _sql(
            value_bank, f"select count(*) {leads} and status = 'OPEN' and rm_id is null"
        ),
    }
    assert expected["Leads"] >= 1
    assert {label: _number(shown["rm"]["rm_leads"][label]) for label in expected} == expected
    # and the analyst, on the same server, sees every lead of the bank: more
    assert _number(shown["analyst"]["rm_leads"]["Leads"]) == _sql(value_bank, "select count(*) from marts.fct_leads")
    assert _number(shown["rm"]["rm_leads"]["Leads"]) < _number(shown["analyst"]["rm_leads"]["Leads"])


def test_an_rm_sees_only_their_customers_on_the_value_pyramid(
    value_bank: Settings, rm_rendered: tuple[str, dict[str, dict[str, dict[str, str]]]]
) -> None:
    rm, shown = rm_rendered
    mine = f"{LATEST_VALUE} and customer_key in ({RM_CUSTOMERS.format(rm=rm)})"
    customers = _sql(value_bank, f"select count(*) {mine}")
    assert customers >= 2
    assert _number(shown["rm"]["value_pyramid"]["Customers"]) == customers
    assert _number(shown["rm"]["value_pyramid"]["Contribution 12m"]) == _sql(
        value_bank, f"select sum(contribution_12m) {mine}"
    )
    analyst = shown["analyst"]["value_pyramid"]
    assert _number(analyst["Customers"]) == _sql(value_bank, f"select count(*) {LATEST_VALUE}")
    assert _number(shown["rm"]["value_pyramid"]["Customers"]) < _number(analyst["Customers"])
