"""The dashboards a person opens (`make dashboards`, docs/dashboards.md), rendered in a real browser.

The test starts the dashboards as `make dashboards` does (dashboards/run.py, which starts the
served warehouse over a copy of the shared published bank), opens each dashboard in headless
Chromium (Debian's package, driven by Playwright), saves a screenshot into the test's output
folder, and reads the figures off the page: each must equal the same figure computed with SQL
on the published warehouse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import Settings
from tests.conftest import PublishedBank, free_port, stop_group

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DASHBOARDS = {
    "value_pyramid": "Value pyramid and Pareto curve",
    "profitability": "Profitability by product, branch and RM",
    "loan_book": "Loan book by classification",
    "churn_risk": "Churn risk",
    "rm_leads": "RM lead list",
}
"""Named as the dbt exposures that document them; each is served at /<name>, under its title."""
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


@pytest.fixture(scope="module")
def dashboards(
    published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str]]:
    """dashboards/run.py over a copy of the published bank: it starts `bankdw serve` itself."""
    settings = published_bank.copy(tmp_path_factory.mktemp("dashboards") / "data")
    serve_port, port = free_port(), free_port()
    env = {**os.environ, "BANKDW_DATA_DIR": str(settings.root), "BANKDW_SERVE_PORT": str(serve_port)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "dashboards" / "run.py"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
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
        yield settings, url
    finally:
        stop_group(process)  # run.py stops streamlit and the server it started


@pytest.fixture(scope="module")
def rendered(dashboards: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Each dashboard rendered in Chromium: its screenshot saved, its figures (label -> text) read."""
    from playwright.sync_api import sync_playwright

    _, url = dashboards
    out = tmp_path_factory.mktemp("screenshots")
    figures: dict[str, dict[str, str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(_chromium()),
            args=CHROMIUM_FLAGS, headless=True, viewport={"width": 1280, "height": 1400},
        )  # fmt: skip
        try:
            page = browser.new_page()
            for name, title in DASHBOARDS.items():
                page.goto(f"{url}/{name}")
                page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
                # the script has finished when Streamlit's status widget stops saying it runs
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                )
                page.wait_for_timeout(1_000)  # charts draw after the script ends
                errors = [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]
                assert not errors, f"{name}: {errors}"
                assert page.inner_text("h1").strip() == title
                shot = out / f"{name}.png"
                page.screenshot(path=str(shot))
                print(f"screenshot of {name}: {shot}")  # noqa: T201 (where a person finds it: pytest -s)
                figures[name] = _figures(page)
        finally:
            browser.close()
    return figures


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
