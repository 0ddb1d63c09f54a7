"""The feed gates: suites generated from the agreement, and the runner that applies them.

Batches are built the way they reach the gates: small inline rows, typed by DuckDB to the
agreement's types, handed over in the three shapes a caller may hold (`duckdb .df()`,
pyarrow `to_pandas()` with Decimal and date objects, and ArrowDtype columns).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from expectations.gates import run_gates
from expectations.results import CheckResult, GateReport
from expectations.suites import SUITES_DIR, render_suites
from extract.contract import LINEAGE_COLUMNS, load_agreement

PROJECT_ROOT = Path(__file__).resolve().parents[1]

Rows = dict[str, list[dict[str, Any]]]

DAY = "2026-11-20"
TS = "2026-11-20T18:00:00+08:00"
FLAVOURS = ("duckdb", "pyarrow", "arrow_dtype")

# One complete, valid row per feed file; the clean delivery below lists what differs per row.
BASE: dict[str, dict[str, Any]] = {
    "core_banking.customers": dict(
        customer_id="C1",
        customer_type="INDIVIDUAL",
        full_name="Li Wei",
        birth_date="1980-05-01",
        gender="F",
        annual_income="250000.00",
        home_branch_id="B1",
        kyc_risk_rating="LOW",
        onboarding_date="2015-03-02",
        status="ACTIVE",
        updated_at=TS,
    ),
    "core_banking.accounts": dict(
        account_id="A1",
        customer_id="C1",
        product_code="SAV",
        branch_id="B1",
        currency="CNY",
        open_date="2015-03-02",
        status="ACTIVE",
        interest_rate="0.2500",
        updated_at=TS,
    ),
    "core_banking.account_parties": dict(account_id="A1", customer_id="C1", role="PRIMARY"),
    "core_banking.transactions": dict(
        txn_id="T1",
        account_id="A1",
        posting_date=DAY,
        txn_ts="2026-11-20T09:15:02+08:00",
        amount="1200.00",
        currency="CNY",
        txn_type="DEPOSIT",
        channel="BRANCH",
        balance_after="5200.00",
    ),
    "core_banking.balances": dict(
        business_date=DAY,
        account_id="A1",
        currency="CNY",
        ledger_balance="5200.00",
        available_balance="5200.00",
        accrued_interest="1.20",
    ),
    "core_banking.loans": dict(
        business_date=DAY,
        account_id="L1",
        principal_amount="800000",
        outstanding_principal="612000.50",
        interest_rate="3.85",
        disbursement_date="2020-01-10",
        maturity_date="2050-01-10",
        repayment_frequency="MONTHLY",
        days_past_due="0",
        classification="NORMAL",
        collateral_type="REAL_ESTATE",
    ),
    "online_banking.events": dict(
        event_id="E1",
        event_ts="2026-11-20T09:01:00+08:00",
        session_id="S1",
        device="IOS",
        event_type="LOGIN",
    ),
    "call_center.calls": dict(
        call_id="K1",
        direction="INBOUND",
        started_at="2026-11-20T10:00:00+08:00",
        answered_at="2026-11-20T10:00:40+08:00",
        ended_at="2026-11-20T10:05:00+08:00",
        queue="CARDS",
        wait_seconds="40",
        talk_seconds="260",
        hold_seconds="0",
        transfer_count="0",
        outcome="RESOLVED",
        complaint_flag="false",
        csat_score="5",
    ),
}
CLEAN: Rows = {
    "core_banking.customers": [{}, {"customer_id": "C2", "customer_type": "CORPORATE", "gender": None}],
    "core_banking.accounts": [
        {},
        {"account_id": "A2", "customer_id": "C2"},
        {"account_id": "L1", "maturity_date": "2050-01-10"},
        {"account_id": "L2", "customer_id": "C2"},
    ],
    "core_banking.account_parties": [
        {},
        {"account_id": "A2", "customer_id": "C2"},
        {"account_id": "A2", "customer_id": "C1", "role": "JOINT"},
    ],
    # Two business dates in one batch, as in an initial load.
    "core_banking.transactions": [
        {"_business_date": "2026-11-19", "posting_date": "2026-11-19"},
        {"txn_id": "T2", "account_id": "A2", "amount": "-35.00", "txn_type": "FEE", "channel": "SYSTEM"},
        {"txn_id": "T3", "amount": "-200.00", "txn_type": "WITHDRAWAL", "channel": "ATM"},
    ],
    "core_banking.balances": [{}, {"account_id": "A2", "ledger_balance": "-1500.00"}],
    "core_banking.loans": [
        {},
        {"account_id": "L2", "days_past_due": "120", "classification": "SUBSTANDARD", "collateral_type": "NONE"},
    ],
    "online_banking.events": [{}, {"event_id": "E2", "event_type": "PAGE_VIEW", "user_id": "U1"}],
    "call_center.calls": [{}, {"call_id": "K2", "csat_score": None, "outcome": "CALLBACK"}],
}


def clean() -> Rows:
    return {name: [{**BASE[name], **row} for row in rows] for name, rows in copy.deepcopy(CLEAN).items()}


def deliver(rows: Rows, flavour: str = "duckdb", only: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Typed batches with lineage, as the extract hands them over; `only` limits the feed files."""
    return {name: _typed(name, feed_rows, flavour) for name, feed_rows in rows.items() if not only or name in only}


def _typed(name: str, rows: list[dict[str, Any]], flavour: str) -> pd.DataFrame:
    system, file = name.split(".")
    feed = load_agreement().file(system, file)
    landed = "events-09.jsonl.gz" if feed.is_hourly else f"{file}.csv"
    lineage = []
    for row in rows:
        day = row.pop("_business_date", DAY)
        source_row = sum(1 for seen in lineage if seen["_business_date"] == day) + 1
        lineage.append(
            {
                "_load_id": "L1",
                "_source_file": f"{system}/{day}/{landed}",
                "_source_row": str(source_row),
                "_business_date": day,
                "_loaded_at": "2026-11-21T01:30:00+08:00",
            }
        )
    columns = [*feed.column_names, *lineage[0]]
    raw = pd.DataFrame([{**row, **extra} for row, extra in zip(rows, lineage, strict=True)], columns=columns)
    types = {c.name: c.duckdb_type for c in feed.columns} | LINEAGE_COLUMNS
    select = ", ".join(f'cast(raw."{col}" as {types[col]}) as "{col}"' for col in raw.columns)
    relation = duckdb.connect().from_df(raw.astype("string")).set_alias("raw").project(select)
    if flavour == "duckdb":
        return relation.df()
    table = relation.to_arrow_table()
    return table.to_pandas(types_mapper=pd.ArrowDtype) if flavour == "arrow_dtype" else table.to_pandas()


def failure(report: GateReport, feed: str, expectation: str, column: str) -> CheckResult:
    found = [r for r in report.results if (r.feed, r.expectation, r.column) == (feed, expectation, column)]
    failed = [r for r in found if not r.success]
    assert failed, f"no failed {expectation}({column}) on {feed}; summary: {report.summary_lines()}"
    return failed[0]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_clean_delivery_passes_every_check(flavour: str) -> None:
    # given
    batches = deliver(clean(), flavour)

    # when
    report = run_gates(batches)

    # then
    assert report.failed == [], report.summary_lines()
    assert len(report.passed) == len(report.results) > 100
    assert set(report.rows) == set(CLEAN) and report.rows["core_banking.transactions"] == 3


def test_a_duplicate_key_is_blocking_and_names_file_and_row() -> None:
    # given: customer C1 delivered twice, balances of A1 twice on the same business date
    rows = clean()
    rows["core_banking.customers"].append({**BASE["core_banking.customers"], "full_name": "Li Wei (branch 7)"})
    rows["core_banking.balances"].append(dict(BASE["core_banking.balances"]))

    # when
    report = run_gates(deliver(rows, only=("core_banking.customers", "core_banking.balances")))

    # then
    single = failure(
        report, "core_banking.customers", "expect_compound_columns_to_be_unique", "customer_id, _business_date"
    )
    assert (single.severity, single.unexpected_count) == ("blocking", 2)
    assert [(e["_source_file"], e["_source_row"]) for e in single.examples] == [
        ("core_banking/2026-11-20/customers.csv", 1),
        ("core_banking/2026-11-20/customers.csv", 3),
    ]
    compound = failure(
        report, "core_banking.balances", "expect_compound_columns_to_be_unique", "business_date, account_id"
    )
    assert compound.severity == "blocking" and compound.examples[1]["_source_row"] == 3
    assert report.blocking_failures == [compound, single]


def test_snapshots_of_several_days_repeat_their_keys_once_per_day() -> None:
    # given: the customers and accounts snapshots of two business dates in one batch (an initial load)
    rows = clean()
    for name in ("core_banking.customers", "core_banking.accounts", "core_banking.account_parties"):
        rows[name] += [{**row, "_business_date": "2026-11-21"} for row in copy.deepcopy(rows[name])]

    # when
    report = run_gates(
        deliver(rows, only=("core_banking.customers", "core_banking.accounts", "core_banking.account_parties"))
    )

    # then every key is unique within its date, and the batch passes
    assert report.failed == [], report.summary_lines()


def test_an_event_delivered_twice_only_warns() -> None:
    # given: web events are delivered at least once (the agreement says so); E1 comes twice
    rows = clean()
    rows["online_banking.events"].append(dict(rows["online_banking.events"][0]))

    # when
    report = run_gates(deliver(rows, only=("online_banking.events", "online_banking.users")))

    # then the duplicate is reported as a warning and nothing blocks
    duplicate = failure(report, "online_banking.events", "expect_column_values_to_be_unique", "event_id")
    assert (duplicate.severity, duplicate.unexpected_count) == ("warning", 2)
    assert report.blocking_failures == []


def test_a_null_in_a_non_nullable_column_is_blocking() -> None:
    # given
    rows = clean()
    rows["core_banking.transactions"][2]["amount"] = None

    # when
    report = run_gates(deliver(rows, only=("core_banking.transactions",)))

    # then
    result = failure(report, "core_banking.transactions", "expect_column_values_to_not_be_null", "amount")
    assert result.severity == "blocking" and result.unexpected_count == 1
    assert result.examples == [
        {"_source_file": "core_banking/2026-11-20/transactions.csv", "_source_row": 2, "amount": None}
    ]


def test_an_enum_outside_its_values_blocks_but_a_new_web_event_type_only_warns() -> None:
    # given
    rows = clean()
    rows["core_banking.transactions"][1]["channel"] = "TELEX"
    rows["online_banking.events"][1]["event_type"] = "CHATBOT_OPEN"

    # when
    feeds = ("core_banking.customers", "core_banking.accounts", "core_banking.transactions", "online_banking.events")
    report = run_gates(deliver(rows, only=feeds))

    # then
    channel = failure(report, "core_banking.transactions", "expect_column_values_to_be_in_set", "channel")
    assert channel.severity == "blocking" and channel.examples[0]["channel"] == "TELEX"
    event_type = failure(report, "online_banking.events", "expect_column_values_to_be_in_set", "event_type")
    assert event_type.severity == "warning"
    assert event_type.examples == [
        {"_source_file": "online_banking/2026-11-20/events-09.jsonl.gz", "_source_row": 2, "event_type": "CHATBOT_OPEN"}
    ]
    assert report.warnings == [event_type] and report.blocking_failures == [channel]


def test_a_new_web_event_type_alone_lets_the_batch_pass() -> None:
    # given
    rows = clean()
    rows["online_banking.events"][0]["event_type"] = "CHATBOT_OPEN"

    # when
    report = run_gates(deliver(rows, only=("online_banking.events",)))

    # then
    assert report.blocking_failures == [] and len(report.warnings) == 1
    assert report.summary_lines()[1] == (
        "WARNING online_banking.events: expect_column_values_to_be_in_set(event_type) failed on 1 row, "
        "e.g. online_banking/2026-11-20/events-09.jsonl.gz row 1: event_type='CHATBOT_OPEN'"
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_out_of_range_values_are_blocking_and_reported_as_delivered(flavour: str) -> None:
    # given: a 9999-12-31 sentinel, a rate typed in basis points, a CSAT score of 7
    rows = clean()
    rows["core_banking.accounts"][3]["maturity_date"] = "9999-12-31"
    rows["core_banking.accounts"][1]["interest_rate"] = "250.0000"
    rows["call_center.calls"][0]["csat_score"] = "7"

    # when
    report = run_gates(deliver(rows, flavour, only=("core_banking.accounts", "call_center.calls")))

    # then
    maturity = failure(report, "core_banking.accounts", "expect_column_values_to_be_between", "maturity_date")
    assert maturity.severity == "blocking"
    assert maturity.examples[0]["_source_row"] == 4
    assert str(maturity.examples[0]["maturity_date"]).startswith("9999-12-31")
    rate = failure(report, "core_banking.accounts", "expect_column_values_to_be_between", "interest_rate")
    assert rate.examples[0]["_source_row"] == 2 and float(rate.examples[0]["interest_rate"]) == 250
    csat = failure(report, "call_center.calls", "expect_column_values_to_be_between", "csat_score")
    assert csat.severity == "blocking" and csat.examples[0]["csat_score"] == 7
    assert len(report.blocking_failures) == 3


def test_a_transaction_on_an_unknown_account_is_blocking() -> None:
    # given
    rows = clean()
    rows["core_banking.transactions"][2]["account_id"] = "A999"

    # when
    report = run_gates(deliver(rows, only=("core_banking.accounts", "core_banking.transactions")))

    # then
    result = failure(report, "core_banking.transactions", "expect_column_values_to_be_in_set", "account_id")
    assert result.severity == "blocking"
    assert report.summary_lines()[1] == (
        "BLOCKING core_banking.transactions: expect_column_values_to_be_in_set(account_id) failed on 1 row, "
        "e.g. core_banking/2026-11-20/transactions.csv row 2: account_id='A999'"
    )


def test_a_missing_column_is_blocking_and_named() -> None:
    # given: a calls file without its csat_score column
    batches = deliver(clean(), only=("call_center.calls",))
    batches["call_center.calls"] = batches["call_center.calls"].drop(columns=["csat_score"])

    # when
    report = run_gates(batches)

    # then
    lines = report.summary_lines()
    assert (
        "BLOCKING call_center.calls: expect_table_columns_to_match_set() failed: missing column(s) csat_score" in lines
    )
    assert all(r.severity == "blocking" for r in report.failed)


def test_a_reference_whose_target_was_not_delivered_is_skipped_with_a_warning() -> None:
    # given: transactions arrive without the accounts snapshot
    batches = deliver(clean(), only=("core_banking.transactions",))

    # when
    report = run_gates(batches)

    # then
    assert report.blocking_failures == []
    (skipped,) = report.warnings
    assert (skipped.column, skipped.note) == ("account_id", "not checked: core_banking.accounts is not in this call")


def test_loan_classification_is_not_a_band_of_the_suites() -> None:
    # given the committed loans suite
    suite = json.loads((SUITES_DIR / "core_banking.loans.json").read_text(encoding="utf-8"))
    # then no expectation ties a classification to a band of days past due: the regulator sets
    # floors, the bank its policy ([rules.loan_classification] in gates.toml, a bank rule)
    assert [e for e in suite["expectations"] if "row_condition" in e["kwargs"]] == []
    days_past_due = [e for e in suite["expectations"] if e["kwargs"].get("column") == "days_past_due"]
    assert [(e["type"], e["kwargs"].get("min_value")) for e in days_past_due] == [
        ("expect_column_values_to_not_be_null", None),
        ("expect_column_values_to_be_between", 0),
    ]


def test_the_report_is_written_as_json_where_asked(tmp_path: Path) -> None:
    # given
    rows = clean()
    rows["core_banking.transactions"][2]["account_id"] = "A999"

    # when
    run_gates(deliver(rows), report_dir=tmp_path)

    # then
    written = json.loads((tmp_path / "gates.json").read_text(encoding="utf-8"))
    assert written["outcome"] == "FAILED"
    (failed,) = [r for r in written["results"] if not r["success"]]
    assert failed["examples"][0]["account_id"] == "A999"


def test_the_committed_suites_are_the_ones_the_agreement_generates() -> None:
    # given
    committed = {p.name: p.read_text(encoding="utf-8") for p in SUITES_DIR.glob("*.json")}

    # when
    generated = render_suites(load_agreement())

    # then: if this fails, run `python -m expectations.generate` and commit the result
    assert committed == generated


def test_every_expectation_says_how_severe_its_failure_is() -> None:
    # given
    suites = [json.loads(p.read_text(encoding="utf-8")) for p in SUITES_DIR.glob("*.json")]

    # when
    severities = {e["meta"]["severity"] for s in suites for e in s["expectations"]}
    warnings = [
        (s["name"], e["kwargs"].get("column"))
        for s in suites
        for e in s["expectations"]
        if e["meta"]["severity"] == "warning"
    ]

    # then
    assert severities == {"blocking", "warning"}
    assert warnings == [("online_banking.events", "event_id"), ("online_banking.events", "event_type")]


def test_gx_is_imported_only_when_gating_and_says_nothing_at_info() -> None:
    # given: a process whose root logger is at INFO, as under Airflow
    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "import expectations.gates\n"
        "assert 'great_expectations' not in sys.modules, 'GX imported with the module'\n"
        "from tests.test_gates import clean, deliver\n"
        "report = expectations.gates.run_gates(deliver(clean(), only=('call_center.calls',)))\n"
        "assert not report.failed, report.summary_lines()\n"
    )

    # when
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)

    # then: the gate logs its own lines; GX logs nothing and draws no progress bar
    assert done.returncode == 0, done.stderr
    assert "INFO:expectations.gates:gated call_center.calls" in done.stderr
    assert "great_expectations" not in done.stderr and "Calculating Metrics" not in done.stderr, done.stderr


def test_gates_toml_overrides_a_suite_severity(tmp_path: Path) -> None:
    # given a configuration that demotes unknown transaction channels to a warning
    from expectations.config import GATES_TOML, load_gates_config

    path = tmp_path / "gates.toml"
    override = '"core_banking.transactions/expect_column_values_to_be_in_set(channel)" = "warning"\n'
    path.write_text(GATES_TOML.read_text(encoding="utf-8") + override, encoding="utf-8")
    rows = clean()
    rows["core_banking.transactions"][1]["channel"] = "TELEX"

    # when
    report = run_gates(deliver(rows, only=("core_banking.transactions",)), config=load_gates_config(path))

    # then the failure is reported as a warning and no longer blocks
    channel = failure(report, "core_banking.transactions", "expect_column_values_to_be_in_set", "channel")
    assert channel.severity == "warning" and channel.outcome == "warned"
    assert channel.check_id == "core_banking.transactions/expect_column_values_to_be_in_set(channel)"
    assert report.blocking_failures == []


def test_a_posting_without_its_accounts_file_is_checked_against_the_lake(tmp_path: Path) -> None:
    # given: transactions arrive without the accounts snapshot; the lake knows accounts A1 and A2
    rows = clean()
    rows["core_banking.transactions"][2]["account_id"] = "A999"
    lake = pd.Series(["A1", "A2"])

    # when
    report = run_gates(
        deliver(rows, only=("core_banking.transactions",)),
        reference_keys=lambda target, column: (
            lake if (target, column) == ("core_banking.accounts", "account_id") else None
        ),
        docs_dir=tmp_path / "docs",
    )

    # then the unknown account blocks, as when the accounts file is in the load
    (unknown,) = report.blocking_failures
    assert (unknown.column, unknown.examples[0]["account_id"]) == ("account_id", "A999")
    # and the validation is rendered as a GX Data Docs page that shows the failing value
    page = (tmp_path / "docs" / "core_banking.transactions.html").read_text(encoding="utf-8")
    assert "A999" in page and "account_id" in page


def test_data_docs_pages_are_rendered_for_the_files_with_a_failure_unless_all_are_asked_for(tmp_path: Path) -> None:
    # given a load of two files, one with a posting on an unknown channel
    from expectations.config import GATES_TOML, load_gates_config

    rows = clean()
    rows["core_banking.transactions"][1]["channel"] = "TELEX"
    batches = deliver(rows, only=("core_banking.transactions", "core_banking.accounts"))

    # when gated with the default configuration, then only the failing file has a page
    run_gates(batches, docs_dir=tmp_path / "problems")
    assert sorted(p.name for p in (tmp_path / "problems").glob("*.html")) == ["core_banking.transactions.html"]

    # and when every page is asked for, every file has one
    path = tmp_path / "gates.toml"
    path.write_text(
        GATES_TOML.read_text(encoding="utf-8").replace('data_docs = "problems"', 'data_docs = "all"'), "utf-8"
    )
    run_gates(batches, config=load_gates_config(path), docs_dir=tmp_path / "all")
    assert sorted(p.name for p in (tmp_path / "all").glob("*.html")) == [
        "core_banking.accounts.html",
        "core_banking.transactions.html",
    ]
