"""The semantic layer (dbt_project/models/semantic/): each metric MetricFlow returns on the
published warehouse equals the same figure summed from the marts with plain SQL.

Most are checked on the shared published bank (one month to date). The rates that need months
of history, bad loans and worked leads (churn rate, NPL ratio, lead conversion) are checked on
it and on the shared `value_bank` too (two complete months, non-performing loans, churners and
leads), where they must be more than zero: both read-only, nothing is rebuilt."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import Settings
from bankdw.metrics import Metrics
from tests.conftest import PublishedBank


@pytest.fixture(scope="module")
def metrics(published_bank: PublishedBank) -> Iterator[Metrics]:
    with Metrics(published_bank.settings) as engine:
        yield engine


@dataclass(frozen=True)
class Bank:
    name: str
    settings: Settings
    engine: Metrics


@pytest.fixture(scope="module", params=["published_bank", "value_bank"])
def bank(request: pytest.FixtureRequest) -> Iterator[Bank]:
    """Each shared bank with MetricFlow on its published file (the larger one has the figures that
    the small one's single month leaves 0 or null)."""
    shared = request.getfixturevalue(request.param)
    settings = shared.settings if isinstance(shared, PublishedBank) else shared
    with Metrics(settings) as engine:
        yield Bank(request.param, settings, engine)


def marts(bank: PublishedBank | Bank, sql: str) -> dict[date, Any]:
    """`sql` (month_start, figure) on the published file, read-only, as {month: figure}."""
    con = duckdb.connect(str(bank.settings.warehouse_path), read_only=True)
    try:
        return {row[0]: row[1] for row in con.execute(sql).fetchall()}
    finally:
        con.close()


def by_month(engine: Metrics, metric: str) -> dict[date, Any]:
    result = engine.query([metric], ["metric_time__month"])
    assert result.columns == ["metric_time__month", metric]
    return {_day(row[0]): row[1] for row in result.rows}


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def test_contribution_is_the_accounts_summed(published_bank: PublishedBank, metrics: Metrics) -> None:
    # given the marts' contribution by month
    expected = marts(
        published_bank,
        "select month_start, sum(contribution) from marts.fct_account_profitability_monthly group by all",
    )
    bank = marts(published_bank, "select month_start, contribution from marts.fct_bank_profitability_monthly")
    # when MetricFlow is asked for it
    got = by_month(metrics, "contribution")
    # then it is the same to the cent, and the bank's own mart agrees
    assert expected and got == expected == bank
    assert all(isinstance(value, Decimal) for value in got.values())


def test_profitability_measures_match_the_bank_mart(published_bank: PublishedBank, metrics: Metrics) -> None:
    # given the bank's profitability mart
    names = {
        "economic_profit": "economic_profit",
        "net_interest_income": "net_interest_income",
        "fee_income": "fee_income",
        "cost_to_serve": "operating_cost",
        "aum": "avg_liability_balance",
    }
    for metric, column in names.items():
        expected = marts(published_bank, f"select month_start, {column} from marts.fct_bank_profitability_monthly")
        # when / then
        assert by_month(metrics, metric) == expected, metric


def test_raroc_is_the_marts_raroc(published_bank: PublishedBank, metrics: Metrics) -> None:
    # given the RAROC the bank mart computes from the cost of equity and the capital charge
    expected = marts(published_bank, "select month_start, raroc from marts.fct_bank_profitability_monthly")
    # when MetricFlow divides contribution by the capital-years
    got = by_month(metrics, "raroc")
    # then they agree (the mart divides by the charge rounded to the cent)
    assert expected.keys() == got.keys()
    for month, value in expected.items():
        assert value is not None
        assert float(got[month]) == pytest.approx(float(value), rel=1e-4)


def test_deposits_are_the_month_end_balances_of_deposit_products(
    published_bank: PublishedBank, metrics: Metrics
) -> None:
    # given the month-end balances of LIABILITY products
    expected = marts(
        published_bank,
        """
        select balances.month_start, sum(balances.ledger_balance)
        from marts.fct_account_balance_monthly as balances
        inner join marts.dim_product as products on balances.product_code = products.product_code
        where products.balance_side = 'LIABILITY'
        group by all
        """,
    )
    # when / then
    got = by_month(metrics, "deposits")
    assert expected and got == expected
    assert all(value > 0 for value in got.values())


def test_loans_and_npl_ratio_are_the_loan_books(bank: Bank) -> None:
    # given the loan book's outstanding and non-performing principal at month end
    book = marts(
        bank,
        """
        select month_start, {
            'loans': sum(outstanding_principal),
            'npl': sum(outstanding_principal) filter (where classification in ('SUBSTANDARD', 'DOUBTFUL', 'LOSS'))
        }
        from marts.fct_loan_book_monthly group by all
        """,
    )
    # when
    loans = by_month(bank.engine, "loans")
    npl = by_month(bank.engine, "non_performing_loans")
    ratio = by_month(bank.engine, "npl_ratio")
    # then
    assert book and loans == {month: figures["loans"] for month, figures in book.items()}
    assert npl == {month: figures["npl"] or 0 for month, figures in book.items()}
    for month, figures in book.items():
        assert float(ratio[month]) == pytest.approx(float((figures["npl"] or 0) / figures["loans"]))
    # and where loans went bad, the ratio shows them
    if bank.name == "value_bank":
        assert any(figures["npl"] for figures in book.values()), book
        assert all(ratio[month] > 0 for month, figures in book.items() if figures["npl"]), ratio


def test_active_customers_are_counted_from_the_value_mart(published_bank: PublishedBank, metrics: Metrics) -> None:
    # given the customers in a value tier A to D each month
    expected = marts(
        published_bank,
        """
        select month_start, count(distinct customer_key) filter (where value_tier not in ('INACTIVE', 'LAPSED'))
        from marts.fct_customer_value_monthly group by all
        """,
    )
    # when / then
    got = by_month(metrics, "active_customers")
    assert expected and got == expected
    assert all(value > 0 for value in got.values())


def test_lead_conversion_is_converted_over_offered(bank: Bank) -> None:
    expected = marts(
        bank,
        """
        select date_trunc('month', created_date)::date, {
            'offered': count(*) filter (where status <> 'SUPPRESSED'),
            'converted': count(*) filter (where status = 'CONVERTED')
        }
        from marts.fct_leads group by all
        """,
    )
    offered = by_month(bank.engine, "leads_offered")
    assert offered == {month: figures["offered"] for month, figures in expected.items()}
    conversion = by_month(bank.engine, "lead_conversion")
    for month, figures in expected.items():
        if figures["offered"]:
            assert float(conversion[month]) == pytest.approx(figures["converted"] / figures["offered"])
    if bank.name == "value_bank":  # months of worked leads: some converted
        assert any(figures["converted"] for figures in expected.values()), expected
        assert any(conversion.get(month) for month in expected), conversion


def test_grouped_by_product_family_adds_up_to_the_month(published_bank: PublishedBank, metrics: Metrics) -> None:
    # given contribution by product family (a join through dim_product)
    result = metrics.query(["contribution"], ["metric_time__month", "product__product_family"])
    families = {row[1] for row in result.rows}
    # then the families add up to the month's contribution
    assert len(families) > 1
    total: dict[date, Decimal] = {}
    for month, _family, value in result.rows:
        total[_day(month)] = total.get(_day(month), Decimal(0)) + value
    assert total == by_month(metrics, "contribution")


def test_bankdw_metrics_query_writes_the_figures(published_bank: PublishedBank, tmp_path: Path) -> None:
    # given the command line a person types, on the published data dir
    out = tmp_path / "deposits.csv"
    env = os.environ | {"BANKDW_DATA_DIR": str(published_bank.settings.root)}
    bankdw = Path(sys.executable).with_name("bankdw")
    # when
    done = subprocess.run(
        [
            str(bankdw),
            "metrics",
            "query",
            "--metrics",
            "deposits",
            "--group-by",
            "metric_time__month",
            "--csv",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # then the CSV holds the deposits of each month, and MetricFlow's planning stays off the terminal
    assert done.returncode == 0, done.stderr
    assert "metricflow" not in done.stderr
    with out.open(encoding="utf-8") as rows:
        got = {row["metric_time__month"][:10]: Decimal(row["deposits"]) for row in csv.DictReader(rows)}
    with Metrics(published_bank.settings) as engine:
        expected = {month.isoformat(): value for month, value in by_month(engine, "deposits").items()}
    assert got == expected
    # and an unknown metric is refused with a message, not a traceback
    bad = subprocess.run(
        [str(bankdw), "metrics", "query", "--metrics", "no_such_metric"], env=env, capture_output=True, text=True
    )
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr


def test_churn_rate_is_customers_lost_over_customers_at_the_start(bank: Bank) -> None:
    # given the tier migrations (in the published bank's one month everyone is NEW: no churn rate;
    # the value bank's later months start with customers, some of whom leave)
    expected = marts(
        bank,
        """
        select month_start, {
            'base': sum(customers) filter (where from_tier in ('A', 'B', 'C', 'D', 'INACTIVE')),
            'lost': sum(customers) filter (
                where from_tier in ('A', 'B', 'C', 'D', 'INACTIVE') and to_tier in ('LAPSED', 'EXITED')
            )
        }
        from marts.fct_customer_tier_migration_monthly group by all
        """,
    )
    got = by_month(bank.engine, "churn_rate")
    assert expected and got.keys() == expected.keys()
    for month, figures in expected.items():
        if figures["base"]:
            assert float(got[month]) == pytest.approx((figures["lost"] or 0) / figures["base"])
        else:
            assert got[month] is None
    if bank.name == "value_bank":
        assert any(figures["lost"] for figures in expected.values()), expected
        assert any(got[month] for month in expected), got
