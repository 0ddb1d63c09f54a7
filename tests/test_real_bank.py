"""A real-looking bank (tests/real_bank.py, not the simulator) through `bankdw run`.

The same deliveries are run three ways, once each for the module (the runs are what costs):

- with the configuration its data team would write, kept as the worked example of
  docs/onboarding.md (`docs/examples/real_bank.toml` + `real_bank_gates.toml`): it publishes;
- as shipped (default settings and gates.toml): the feed gate refuses it, and every message
  names the rule, how many rows or account-days broke it, and the setting to change;
- with the example's balance tolerance tightened and its severity set to warning: the feed gate
  and the warehouse test of the same fact both warn, and the night still publishes.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import GateFailed, gate_step, run, stage_step
from bankdw.reporting.run_page import page_path
from bankdw.reporting.run_report import RunReport
from expectations.config import load_gates_config
from expectations.history import checks_dir
from tests.real_bank import (
    CURRENCY,
    DAYS,
    NEVER_POSTS,
    SILENT_DAYS,
    business_date,
    write_bank,
)

EXAMPLE_SETTINGS = PROJECT_ROOT / "docs" / "examples" / "real_bank.toml"
EXAMPLE_GATES = PROJECT_ROOT / "docs" / "examples" / "real_bank_gates.toml"
LAST = business_date(DAYS - 1)


@dataclass(frozen=True)
class Night:
    settings: Settings
    report: RunReport

    def feed_checks(self) -> dict[str, dict[str, object]]:
        """The feed gate's checks of the run, by check id."""
        rows = pq.read_table(checks_dir(self.settings.lake_dir) / f"{self.report.run_id}.feed.parquet").to_pylist()
        return {row["check_id"]: row for row in rows}


def example_settings(data_dir: Path, **overrides: object) -> Settings:
    """The worked example's settings, its data dir replaced by the test's."""
    example = tomllib.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))
    example.pop("data_dir")
    example["gates_config"] = PROJECT_ROOT / example["gates_config"]
    return load_settings(data_dir=data_dir, **(example | overrides))


def run_night(settings: Settings) -> Night:
    write_bank(settings.landing_dir)
    try:
        report = run(settings)
    except GateFailed:
        latest = RunReport.latest(settings)
        assert latest is not None
        report = latest
    return Night(settings, report)


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> Night:
    return run_night(example_settings(tmp_path_factory.mktemp("onboarded") / "data"))


@pytest.fixture(scope="module")
def as_shipped(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The bank staged and gated with the shipped configuration: what the gate says is the point
    (the systems it does not hold back would load and publish as in test_pipeline)."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("as_shipped") / "data")
    write_bank(settings.landing_dir)
    return Night(settings, gate_step(settings, stage_step(settings).run_id))


@pytest.fixture(scope="module")
def warned(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The example, but rounding beyond 0.05 of an end-of-day balance only warns."""
    root = tmp_path_factory.mktemp("warned")
    text = EXAMPLE_GATES.read_text(encoding="utf-8")
    eod = text.index("\n[rules.end_of_day_balance]\n")
    section = text[eod : text.index("\n[", eod + 1)]
    tightened = section.replace('severity = "blocking"', 'severity = "warning"').replace(
        "amount_tolerance = 0.10", "amount_tolerance = 0.05"
    )
    assert tightened != section
    gates = root / "gates.toml"
    gates.write_text(text.replace(section, tightened), encoding="utf-8")
    return run_night(example_settings(root / "data", gates_config=gates))


def test_the_bank_is_delivered_as_real_banks_deliver(tmp_path: Path) -> None:
    # given the bank's deliveries
    landing = tmp_path / "landing"
    write_bank(landing)
    # then a day's postings all carry one time, and are listed in an order that is not their ids'
    for n in range(DAYS):
        rows = list(
            csv.DictReader(
                io.StringIO(
                    (landing / "core_banking" / f"{business_date(n)}" / "transactions.csv").read_text(encoding="utf-8")
                )
            )
        )
        assert len({r["txn_ts"] for r in rows}) == 1
        ids = [r["txn_id"] for r in rows]
        assert ids != sorted(ids)
    # and relationship managers come as a header without rows; the call centre stops delivering
    rms = (landing / "core_banking" / f"{LAST}" / "relationship_managers.csv").read_text(encoding="utf-8")
    assert rms.count("\n") == 1
    assert sorted(p.name for p in (landing / "call_center").iterdir()) == [
        f"{business_date(n)}" for n in range(DAYS - SILENT_DAYS)
    ]


def test_with_the_documented_configuration_the_bank_publishes(onboarded: Night) -> None:
    # then the night published, and what it warned about is the call centre's silence alone
    report = onboarded.report
    assert (report.outcome, report.checks_failed) == ("SUCCESS", 0), report.failures
    assert report.published is not None
    assert [w.split(":")[0] for w in report.warnings] == ["WARNING call_center"]
    assert "days_behind=3" in report.warnings[0] and "limits='warn > 1, block > 4'" in report.warnings[0]
    # and the empty relationship-manager file loaded as no rows, said once as a note
    [empty] = [note for note in report.notes if note.startswith("core_banking.relationship_managers: ")]
    assert "file(s) delivered empty (header only), e.g. core_banking/" in empty and "loaded as no rows" in empty
    # and the accounts that never post loaded, said once as a note (not a warning)
    # (counted here from the delivered files: accounts no transactions file names)
    core = onboarded.settings.landing_dir / "core_banking"
    silent = sorted(
        row[0]
        for row in duckdb.sql(
            f"select account_id from read_csv('{core}/*/accounts.csv', all_varchar = true) except "
            f"select account_id from read_csv('{core}/*/transactions.csv', all_varchar = true)"
        ).fetchall()
    )
    assert set(NEVER_POSTS) <= set(silent)
    [never] = [note for note in report.notes if note.startswith("core_banking.accounts: ")]
    assert never.startswith(f"core_banking.accounts: {len(silent)} account(s) have no posting"), never
    assert f"e.g. {', '.join(silent[:3])};" in never
    # and the balance rules judged every account-day, in no particular order of postings, within 0.10
    checks = onboarded.feed_checks()
    for check_id in (
        "core_banking.transactions/balance_chain(balance_after)",
        "core_banking.balances/end_of_day_balance(ledger_balance)",
        "core_banking.loans/loan_classification(classification)",
        "core_banking.accounts/reporting_currency(currency)",
        "core_banking.transactions/reporting_currency(currency)",
    ):
        assert (checks[check_id]["outcome"], checks[check_id]["failing_rows"]) == ("passed", 0), check_id


def test_the_published_warehouse_holds_the_bank_as_delivered(onboarded: Night) -> None:
    with duckdb.connect(str(onboarded.settings.warehouse_path), read_only=True) as con:
        # loans at 1 to 30 days past due, special mention as the bank classifies them, are in the book
        special = con.sql(
            "select account_id, min(days_past_due), max(days_past_due) from marts.fct_loan_daily "
            "where classification = 'SPECIAL_MENTION' group by all order by 1"
        ).fetchall()
        assert special == [("L002", 3, 8), ("L003", 24, 29)]
        # every balance is in euros, accounts that never post have a balance every day and no posting
        assert con.sql("select distinct currency from marts.fct_account_balance_daily").fetchall() == [(CURRENCY,)]
        for account_id in NEVER_POSTS:
            days = con.sql(
                f"select count(*) from marts.fct_account_balance_daily where account_id = '{account_id}'"
            ).fetchall()
            postings = con.sql(f"select count(*) from marts.fct_transactions where account_id = '{account_id}'")
            assert (days[0][0], postings.fetchall()[0][0]) == (DAYS, 0), account_id
        # the warehouse test of the balances followed the example's configuration, and passed
        [(severity, outcome)] = con.sql(
            "select severity, outcome from audit.check_results "
            "where check_id like 'test.bankdw.assert_balances_roll_forward%'"
        ).fetchall()
        assert (severity, outcome) == ("blocking", "passed")


def test_as_shipped_the_gates_say_which_rule_how_many_and_what_to_change(as_shipped: Night) -> None:
    # then the feed gate held the core system back, every date of it, and nothing of it is left to load
    report = as_shipped.report
    assert list(report.systems_blocked) == ["core_banking"], report.failures
    assert sorted(report.deliveries_held) == [f"core_banking/{business_date(n)}" for n in range(DAYS)]
    assert not list(as_shipped.settings.lake_dir.glob("_staging/*/core_banking/*/business_date=*"))
    failures = {
        line.split(":")[0] + ":" + line.split(":")[1].split("(")[0]: line
        for line in report.systems_blocked["core_banking"]
    }
    assert sorted(failures) == [
        "BLOCKING core_banking.accounts: reporting_currency",
        "BLOCKING core_banking.balances: end_of_day_balance",
        "BLOCKING core_banking.balances: reporting_currency",
        "BLOCKING core_banking.transactions: balance_chain",
        "BLOCKING core_banking.transactions: reporting_currency",
    ]
    # each names the rule, the count, and the setting
    currency = failures["BLOCKING core_banking.transactions: reporting_currency"]
    assert "failed on 22 row(s) in EUR in 6 file(s); the reporting currency is CNY" in currency
    assert "set reporting_currency (BANKDW_REPORTING_CURRENCY)" in currency
    assert f"core_banking/{business_date(0)}/transactions.csv" in currency
    # the published balances are 0.10 off on two account-days and so the day after each; one
    # posting's amount was rounded to the tenth (-9.94 booked, -9.90 delivered)
    balances = failures["BLOCKING core_banking.balances: end_of_day_balance"]
    assert "failed on 5 of 55 account-days (9.09%) that differ by more than amount_tolerance 0" in balances
    assert "sum of differences 0.4400, largest 0.1000" in balances
    assert "[rules.end_of_day_balance] of the gates configuration, setting gates_config" in balances
    chain = failures["BLOCKING core_banking.transactions: balance_chain"]
    assert "failed on 1 of 15 account-days" in chain and "largest 0.0400" in chain
    assert "account_id='A002'" in chain
    # and special mention from the first day past due, and the call centre's silence, do not block:
    # the warnings are the systems' freshness alone (the core system, held back, has loaded nothing yet)
    assert sorted(w.split(": freshness() ")[0] for w in report.warnings) == [
        "WARNING call_center",
        "WARNING core_banking",
    ]


def test_a_warning_in_the_warehouse_is_reported_and_publishes(warned: Night) -> None:
    # then the night published
    report = warned.report
    assert (report.outcome, report.checks_failed) == ("SUCCESS", 0), report.failures
    # and the feed gate's end-of-day balance rule warned with how many account-days broke, by how much
    gate = warned.feed_checks()["core_banking.balances/end_of_day_balance(ledger_balance)"]
    assert (gate["severity"], gate["outcome"], gate["failing_rows"]) == ("warning", "warned", 4)
    assert "sum of differences 0.4000, largest 0.1000" in str(gate["note"])
    # and the warehouse test of the same fact followed the same configuration: it warned on the same 4
    with duckdb.connect(str(warned.settings.warehouse_path), read_only=True) as con:
        [(severity, outcome, failing, note)] = con.sql(
            "select severity, outcome, failing_rows, note from audit.check_results "
            "where check_id like 'test.bankdw.assert_balances_roll_forward%'"
        ).fetchall()
    assert (severity, outcome, failing) == ("warning", "warned", 4)
    assert "4 row(s) beyond the amount tolerance: sum of differences 0.4000, largest 0.1000" in note
    # and the run page shows both, with the sums
    page = page_path(warned.settings, report.run_id).read_text(encoding="utf-8")
    assert page.count("sum of differences 0.4000, largest 0.1000") >= 2
    assert any(w.startswith("warehouse test test.bankdw.assert_balances_roll_forward") for w in report.warnings)


def test_the_example_configuration_differs_from_the_shipped_one_only_in_the_balance_tolerances() -> None:
    shipped, example = load_gates_config(), load_gates_config(EXAMPLE_GATES)
    assert example.rules.balance_chain.amount_tolerance == example.rules.end_of_day_balance.amount_tolerance
    tolerances = {"amount_tolerance", "share_tolerance"}
    for name in ("balance_chain", "end_of_day_balance"):
        assert getattr(example.rules, name).model_dump(exclude=tolerances) == getattr(shipped.rules, name).model_dump(
            exclude=tolerances
        )
    assert example.model_dump(exclude={"rules"}) == shipped.model_dump(exclude={"rules"})
    assert json.dumps(example.rules.model_dump(exclude={"balance_chain", "end_of_day_balance"}), default=str) == (
        json.dumps(shipped.rules.model_dump(exclude={"balance_chain", "end_of_day_balance"}), default=str)
    )
