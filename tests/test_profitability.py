"""The worked example of docs/profitability.md, built from a tiny lake by the real dbt project.

The fixture lake holds one customer with a consumer loan (LOAN-EX) and a current account over
30 September to 31 October 2026: the account, balance, loan, posting, call and web rows that
the docs' example starts from, written as the extract writes the lake (typed Parquet per feed
and business date). Beside it, four customers hold only a current account each, with a
balance that never moves, so that their economic profit is known by hand and the Pareto
figures have a curve to rank: two earn, two destroy value. dbt builds the profitability marts
from the lake, its unit tests included (each worked_example_* unit test checks one step with
inline rows), and the tests below check every figure of the example in the marts, the docs'
table included, the service cost's balance-share split and the unallocated pool (an unknown
caller's call), the Pareto figures, and run the Pareto notebook. The last test reads the
shared published bank's warehouse gate: the reconciliations to independent sources ran there.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nbclient import NotebookClient

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from extract.contract import load_agreement
from extract.lake import Lake, partition_name
from models.identity.resolve import resolve_lake
from models.profitability import customer_profit, summarise
from tests.conftest import PublishedBank, dbt_on

SEP30, OCT15, OCT31 = date(2026, 9, 30), date(2026, 10, 15), date(2026, 10, 31)
LOADED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def ts(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def account(
    account_id: str, product: str, opened: date, maturity: date | None, rate: str, customer_id: str = "C-EX"
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "customer_id": customer_id,
        "product_code": product,
        "branch_id": "BR01",
        "currency": "CNY",
        "open_date": opened,
        "maturity_date": maturity,
        "status": "ACTIVE",
        "interest_rate": Decimal(rate),
        "updated_at": ts(opened, 9),
    }


def balance(account_id: str, amount: str) -> dict[str, Any]:
    value = Decimal(amount)
    return {
        "account_id": account_id,
        "currency": "CNY",
        "ledger_balance": value,
        "available_balance": value,
        "accrued_interest": Decimal(0),
    }


def loan(outstanding: str) -> dict[str, Any]:
    return {
        "account_id": "LOAN-EX",
        "principal_amount": Decimal(150000),
        "outstanding_principal": Decimal(outstanding),
        "interest_rate": Decimal("5.20"),
        "disbursement_date": date(2024, 6, 15),
        "maturity_date": date(2028, 6, 15),
        "repayment_frequency": "MONTHLY",
        "days_past_due": 0,
        "classification": "NORMAL",
        "collateral_type": "NONE",
    }


def posting(txn_id: str, day: date, txn_type: str, amount: str, channel: str, **more: Any) -> dict[str, Any]:
    return {
        "txn_id": txn_id,
        "account_id": "LOAN-EX",
        "posting_date": day,
        "txn_ts": ts(day, 10),
        "amount": Decimal(amount),
        "currency": "CNY",
        "txn_type": txn_type,
        "channel": channel,
        "balance_after": Decimal(0),
        **more,
    }


def call(call_id: str, day: date, talk_seconds: int, customer_id: str | None = "C-EX") -> dict[str, Any]:
    return {
        "call_id": call_id,
        "direction": "INBOUND",
        "started_at": ts(day, 3),
        "answered_at": ts(day, 3),
        "ended_at": ts(day, 3) + timedelta(seconds=talk_seconds),
        "customer_id": customer_id,
        "caller_number": None if customer_id else "13911112222",
        "queue": "LOANS",
        "wait_seconds": 0,
        "talk_seconds": talk_seconds,
        "hold_seconds": 0,
        "transfer_count": 0,
        "outcome": "RESOLVED",
        "complaint_flag": False,
    }


def login(session_id: str, day: date) -> dict[str, Any]:
    return {
        "event_id": f"E-{session_id}",
        "event_ts": ts(day, 4),
        "user_id": "U-EX",
        "session_id": session_id,
        "device": "WEB",
        "event_type": "LOGIN",
    }


PRODUCTS = [
    {
        "product_code": "CL-48M",
        "product_name": "Consumer Loan 48 Months",
        "product_family": "LOAN",
        "product_type": "CONSUMER_LOAN",
        "balance_side": "ASSET",
        "term_months": 48,
        "launched_date": date(2012, 6, 1),
    },
    {
        "product_code": "CUR-IND",
        "product_name": "Personal Current Account",
        "product_family": "DEPOSIT",
        "product_type": "CURRENT",
        "balance_side": "LIABILITY",
        "term_months": None,
        "launched_date": date(2003, 5, 8),
    },
]
CUSTOMER = {
    "customer_id": "C-EX",
    "customer_type": "INDIVIDUAL",
    "full_name": "Li Example",
    "national_id": "110101198001010011",
    "birth_date": date(1980, 1, 1),
    "gender": "F",
    "phone": "13800000000",
    "city": "Beijing",
    "region": "Beijing",
    "home_branch_id": "BR01",
    "kyc_risk_rating": "LOW",
    "onboarding_date": date(2020, 1, 2),
    "status": "ACTIVE",
    "updated_at": ts(date(2020, 1, 2), 9),
}
# Customers with only a current account (0.15%), its balance the same every day: in October
# its FTP rate is 0.6 x 2.00 (36 months) + 0.4 x 1.45 (1 month) = 1.78% on the 2026-10-01
# curve, so net interest = balance x 31 x (1.78 - 0.15) / 100 / 365, less the DEPOSIT
# family's 3.00 a month; no postings, calls or sessions, no capital on a deposit.
DEPOSITORS = {  # customer -> (balance, economic profit in October)
    "C-D1": ("36500.00", Decimal("47.53")),  # 50.53 - 3.00
    "C-D2": ("3650.00", Decimal("2.05")),  # 5.053 -> 5.05, - 3.00
    "C-D3": ("730.00", Decimal("-1.99")),  # 1.0106 -> 1.01, - 3.00
    "C-D4": ("365.00", Decimal("-2.49")),  # 0.5053 -> 0.51, - 3.00
}
# C-EX: LOAN-EX's 244.71 and CUR-EX's 30,000.00 at the same rates: 41.53 of net interest, less
# 3.00 and its balance share of the customer's 15.20 service cost (calls and sessions),
# 15.20 x 30,000.00 / 150,451.61 = 3.03: 35.50.
ECONOMIC_PROFIT = {"C-EX": Decimal("280.21")} | {c: profit for c, (_, profit) in DEPOSITORS.items()}
ACCOUNTS = [
    account("LOAN-EX", "CL-48M", date(2024, 6, 15), date(2028, 6, 15), "5.20"),
    account("CUR-EX", "CUR-IND", date(2020, 1, 2), None, "0.15"),
]
DEPOSITOR_ACCOUNTS = [account(f"CUR-{c}", "CUR-IND", date(2020, 1, 2), None, "0.15", c) for c in DEPOSITORS]
SNAPSHOTS = {
    "customers": [
        CUSTOMER,
        *(
            CUSTOMER
            | {
                "customer_id": c,
                "full_name": f"Depositor {n}",
                "national_id": f"11010119800101{n:04d}",
                "birth_date": date(1970 + n, 1, 1),
                "phone": f"1390000000{n}",
            }
            for n, c in enumerate(DEPOSITORS, start=1)
        ),
    ],
    "accounts": ACCOUNTS + DEPOSITOR_ACCOUNTS,
    "account_parties": [
        {"account_id": a["account_id"], "customer_id": a["customer_id"], "role": "PRIMARY"}
        for a in ACCOUNTS + DEPOSITOR_ACCOUNTS
    ],
    "products": PRODUCTS,
    "branches": [
        {
            "branch_id": "BR01",
            "branch_name": "Example Branch",
            "city": "Beijing",
            "region": "Beijing",
            "branch_type": "STANDARD",
            "opened_date": date(2003, 5, 8),
        }
    ],
}
# (system, feed) -> business date -> rows
DELIVERIES: dict[tuple[str, str], dict[date, list[dict[str, Any]]]] = {
    **{("core_banking", feed): {day: rows for day in (SEP30, OCT15, OCT31)} for feed, rows in SNAPSHOTS.items()},
    ("core_banking", "balances"): {
        day: [balance("LOAN-EX", loan_balance), balance("CUR-EX", "30000.00")]
        + [balance(f"CUR-{c}", amount) for c, (amount, _) in DEPOSITORS.items()]
        for day, loan_balance in ((SEP30, "-121000.00"), (OCT15, "-120000.00"), (OCT31, "-120000.00"))
    },
    ("core_banking", "loans"): {SEP30: [loan("121000.00")], OCT15: [loan("120000.00")], OCT31: [loan("120000.00")]},
    ("core_banking", "transactions"): {
        OCT15: [
            posting("T1", OCT15, "LOAN_REPAYMENT", "1000.00", "MOBILE"),
            posting("T2", OCT15, "FEE", "-50.00", "SYSTEM"),
        ],
        OCT31: [
            posting("T3", date(2026, 10, 20), "FEE", "-20.00", "SYSTEM"),
            posting("T4", date(2026, 10, 22), "REVERSAL", "20.00", "SYSTEM", reversed_txn_id="T3"),
        ],
    },
    ("online_banking", "users"): {
        OCT31: [
            {"user_id": "U-EX", "customer_id": "C-EX", "registered_at": ts(date(2020, 1, 2), 9), "status": "ACTIVE"}
        ]
    },
    ("online_banking", "events"): {OCT31: [login(f"S{i}", date(2026, 10, 2 + 7 * i)) for i in range(4)]},
    # C9: a caller no customer record knows, 2 minutes: the unallocated pool's
    ("call_center", "calls"): {
        OCT31: [
            call("C1", date(2026, 10, 3), 240),
            call("C2", date(2026, 10, 21), 360),
            call("C9", date(2026, 10, 22), 120, customer_id=None),
        ]
    },
}

# Every figure of the worked example (docs/profitability.md), LOAN-EX in October 2026.
WORKED_EXAMPLE = {
    "n_days_on_book": 31,
    "avg_balance": Decimal("120451.61"),
    "customer_rate_pct": Decimal("5.200000"),
    "ftp_rate_pct": Decimal("2.200000"),
    "net_interest_income": Decimal("306.90"),
    "fee_income": Decimal("50.00"),
    "other_income": Decimal("0.00"),
    "n_postings": 4,
    "posting_cost": Decimal("0.16"),
    "service_cost": Decimal("12.17"),
    "maintenance_cost": Decimal("15.00"),
    "operating_cost": Decimal("27.33"),
    "required_provision": Decimal("1200.00"),
    "write_off": Decimal("0.00"),
    "credit_cost": Decimal("-10.00"),
    "contribution": Decimal("339.57"),
    "risk_weighted_assets": Decimal("90338.71"),
    "allocated_capital": Decimal("9485.56"),
    "capital_charge": Decimal("94.86"),
    "economic_profit": Decimal("244.71"),
}


def write_fixture_lake(lake: Lake) -> None:
    """The deliveries above as the extract lays them out: one Parquet file per feed and
    business date with the feed's full schema (absent columns null) and lineage columns."""
    agreement = load_agreement()
    lake.ensure_schemas(agreement)
    for feed in agreement.files:
        schema = pq.read_schema(lake.feed_dir(feed) / "_schema" / "empty.parquet")
        for day, rows in DELIVERIES.get((feed.system, feed.name), {}).items():
            lineage = {
                "_load_id": f"fixture-{day}",
                "_source_file": f"{feed.name}.fixture",
                "_business_date": day,
                "_loaded_at": LOADED_AT,
            }
            # end-of-day feeds (balances, loans) carry their business date as a column too
            records = [{"business_date": day, **row, **lineage, "_source_row": i + 1} for i, row in enumerate(rows)]
            table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in records], schema=schema)
            path = lake.feed_dir(feed) / partition_name(day) / "part-0.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture lake built by dbt up to the profitability marts (seeds, models and the
    unit tests of the worked example; data tests need a whole bank and run in test_pipeline).
    dbt runs in a process of its own: in this one, dbt-duckdb would keep the file open for
    writing, and neither this test's reader nor the notebook's kernel could open it."""
    settings: Settings = load_settings(data_dir=tmp_path_factory.mktemp("profitability") / "data")
    write_fixture_lake(Lake(settings.lake_dir))
    identity = settings.identity_dir  # the identity the resolve step would publish
    resolve_lake(settings.lake_dir, identity, identity, settings.phone_region)
    target = settings.root / "example" / "bank.duckdb"
    selection = [
        "--select",
        "+fct_account_profitability_monthly+",
        "+fct_customer_profitability_monthly+",
        "+fct_unallocated_cost_monthly",
        "--exclude",
        "customer_360",
    ]
    types = ["--resource-type", "seed", "--resource-type", "model", "--resource-type", "unit_test"]
    dbt = dbt_on(settings, target, "build", *selection, *types)
    assert dbt.returncode == 0, dbt.stdout[-5000:]
    return target


def loan_month(warehouse: Path) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relation = con.sql(
            "select * from marts.fct_account_profitability_monthly "
            "where account_id = 'LOAN-EX' and month_start = date '2026-10-01'"
        )
        row = relation.fetchone()
        assert row is not None
        return dict(zip(relation.columns, row, strict=True))


def test_the_worked_example_comes_out_of_the_marts_figure_by_figure(warehouse: Path) -> None:
    # given the fixture lake (LOAN-EX: 121,000 to 14 October, 120,000 from the 15th, ...)
    # when dbt has built the marts from it
    row = loan_month(warehouse)
    # then every figure of the example is what the docs say
    assert {k: row[k] for k in WORKED_EXAMPLE} == WORKED_EXAMPLE
    assert row["is_complete_month"] is True


def test_the_docs_show_the_figures_the_marts_compute() -> None:
    # given the worked example's table in docs/profitability.md: | `column` | ... | figure |
    text = (PROJECT_ROOT / "docs" / "profitability.md").read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1].split("\n## ", 1)[0]
    documented = {
        m.group(1): m.group(2).replace(",", "")
        for m in re.finditer(r"^\| `(\w+)` \|.*\| \*?\*?(-?[\d,]+(?:\.\d+)?)\*?\*? \|$", section, re.M)
    }
    # then each figure the test checks in the marts is in the docs, equal
    assert {k: Decimal(documented[k]) for k in WORKED_EXAMPLE if k in documented} == {
        k: Decimal(v) for k, v in WORKED_EXAMPLE.items()
    }


def test_the_customer_adds_up_and_earns_its_raroc(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        accounts = con.sql(
            "select sum(economic_profit), sum(capital_charge), sum(contribution) "
            "from marts.fct_account_profitability_monthly where month_start = date '2026-10-01' "
            "and account_id in ('LOAN-EX', 'CUR-EX')"
        ).fetchone()
        customer = con.sql(
            "select economic_profit, capital_charge, contribution, raroc, segment, n_accounts "
            "from marts.fct_customer_profitability_monthly where month_start = date '2026-10-01' "
            "and customer_key = (select customer_key from marts.fct_account_profitability_monthly "
            "where account_id = 'LOAN-EX' and month_start = date '2026-10-01')"
        ).fetchall()
    assert accounts is not None
    assert len(customer) == 1
    economic_profit, capital_charge, contribution, raroc, segment, n_accounts = customer[0]
    assert (economic_profit, capital_charge, contribution) == accounts
    assert n_accounts == 2
    assert segment == "MASS_RETAIL"
    assert raroc == (Decimal("0.12") * contribution / capital_charge).quantize(Decimal("0.000001"))


def test_service_costs_follow_balances_and_the_rest_goes_to_the_pool(warehouse: Path) -> None:
    # given October: C-EX talked 10 minutes and opened 4 sessions (15.20), a caller nobody
    # knows talked 2 minutes (3.00); C-EX holds LOAN-EX (120,451.61 on average) and CUR-EX (30,000.00)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        service = dict(
            con.sql(
                "select account_id, service_cost from marts.fct_account_profitability_monthly "
                "where month_start = date '2026-10-01' and account_id in ('LOAN-EX', 'CUR-EX')"
            ).fetchall()
        )
        pools = {
            row[0]: row[1:]
            for row in con.sql(
                "select channel, total_cost, allocated_cost, unattributed_cost, no_account_cost, unallocated_cost "
                "from marts.fct_unallocated_cost_monthly where month_start = date '2026-10-01'"
            ).fetchall()
        }
    # then the accounts carry the customer's cost by balance share, to the cent
    assert service == {"LOAN-EX": Decimal("12.17"), "CUR-EX": Decimal("3.03")}
    # and the unknown caller's 3.00 is in the pool: allocated + unallocated = volume x unit cost
    assert pools == {
        "CALL": (Decimal("18.00"), Decimal("15.00"), Decimal("3.00"), Decimal("0.00"), Decimal("3.00")),
        "WEB_SESSION": (Decimal("0.20"), Decimal("0.20"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
    }


def test_the_pareto_figures_and_the_notebook_run_on_the_warehouse(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the built warehouse (five customers, October complete, September not)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        customers = customer_profit(con)
        keys = dict(
            con.sql(
                "select account_parties.customer_id, accounts.customer_key "
                "from marts.fct_account_profitability_monthly as accounts "
                "join (select unnest(?) as customer_id, unnest(?) as account_id) as account_parties "
                "using (account_id) where accounts.month_start = date '2026-10-01'",
                params=[[*ECONOMIC_PROFIT], ["LOAN-EX", *(f"CUR-{c}" for c in DEPOSITORS)]],
            ).fetchall()
        )
    # then every customer is ranked by the economic profit worked out by hand, best first
    assert list(customers["customer_key"]) == [keys[c] for c in ("C-EX", "C-D1", "C-D2", "C-D3", "C-D4")]
    assert list(customers["economic_profit"]) == list(ECONOMIC_PROFIT.values())
    assert list(customers["n_months"]) == [1] * 5  # September is not a complete month of the data
    # and the curve accumulates them: 280.21, 327.74, 329.79, 327.80, 325.31 of 325.31
    total = Decimal("325.31")
    assert list(customers["cumulative_economic_profit"]) == [
        Decimal(v) for v in ("280.21", "327.74", "329.79", "327.80", "325.31")
    ]
    assert list(customers["customer_share"]) == [Decimal(r) / 5 for r in range(1, 6)]
    assert customers["cumulative_profit_share"].iloc[1] == Decimal("327.74") / total > 1  # the whale's hump
    summary = summarise(customers)
    assert summary.n_customers == 5
    assert summary.total_economic_profit == total
    assert summary.top_20pct_share == Decimal("0.8614")  # the best one of five: 280.21 / 325.31
    assert (summary.n_value_destroying, summary.value_destroyed) == (2, Decimal("-4.48"))
    # when the notebook runs top to bottom against it
    monkeypatch.setenv("BANKDW_WAREHOUSE", str(warehouse))
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "profitability_pareto.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    # then it shows the same headline figures
    outputs = "".join(
        str(o.get("data", {}).get("text/plain", "")) for c in notebook.cells for o in c.get("outputs", [])
    )
    assert f"n_customers={summary.n_customers}" in outputs


RECONCILIATIONS = (
    "assert_month_end_balances_reconcile_to_feed",
    "assert_interest_reconciles_to_ledger",
    "assert_service_costs_reconcile_to_volumes",
    "assert_customer_profitability_shares_reconcile_to_accounts",
    "assert_fee_income_reconciles_to_ledger",
    "assert_provisions_reconcile_to_loan_book",
)


def test_the_reconciliations_run_in_the_nightly_warehouse_gate(published_bank: PublishedBank) -> None:
    # given the shared simulated bank, loaded and published by one nightly run
    checks = (
        published_bank.settings.lake_dir / "_audit" / "checks" / f"{published_bank.report.run_id}.warehouse.parquet"
    )
    # when its warehouse gate's checks are read back from the lake
    outcomes = dict(
        duckdb.sql(
            "select subject, outcome from read_parquet(?) where stage = 'warehouse'", params=[str(checks)]
        ).fetchall()
    )
    # then every reconciliation to an independent source ran in the gate and passed
    assert {name: outcomes.get(name) for name in RECONCILIATIONS} == dict.fromkeys(RECONCILIATIONS, "passed")
