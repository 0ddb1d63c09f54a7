"""Dates the business date makes impossible (issue 19): a birth date in 2090, onboarding in 2030,
a call ending in 2031 inside a 2026 delivery fail the feed gate's `impossible_dates` rule
(expectations/gates.toml); a delivery folder dated far after its system's last date is refused
(setting `delivery_gap_days`) and does not become the run's business date.

Small deliveries written by the tests, one `stage` call and the bank rules on what it staged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from bankdw.config import Settings
from bankdw.pipeline import stage_step
from expectations.bank_rules import RuleInputs, run_bank_rules
from expectations.config import load_gates_config
from expectations.results import CheckResult
from extract.contract import load_agreement
from extract.lake import Lake
from extract.load import audit_table, landing_state, stage
from tests.test_bad_input import AGENT, AGENTS_HEADER, CALL, CALLS_HEADER, good_calls, lines

AGREEMENT = load_agreement()
D = date(2026, 11, 20)
CUSTOMERS_HEADER = (
    "customer_id,customer_type,full_name,national_id,birth_date,gender,phone,email,address,city,region,"
    "postal_code,occupation,industry_code,annual_income,home_branch_id,rm_id,kyc_risk_rating,onboarding_date,"
    "status,closed_date,updated_at"
)


def customer(customer_id: str, birth: str, onboarding: str) -> str:
    return (
        f"{customer_id},INDIVIDUAL,Wang Fang,,{birth},F,,,,,,,,,,B1,,LOW,{onboarding},ACTIVE,,2026-11-20T08:00:00+08:00"
    )


def core_delivery(customers: bytes) -> dict[str, bytes]:
    """A core-banking delivery: the customers given, every other file of the agreement its header only."""
    files = {f"{f.name}.csv": lines(",".join(f.column_names)) for f in AGREEMENT.files_of("core_banking")}
    return files | {"customers.csv": customers}


def impossible_dates(settings: Settings, load_id: str = "L1") -> dict[str, CheckResult]:
    """Stage what is pending and run the bank rules on it: the impossible_dates results by feed."""
    lake = Lake(settings.lake_dir)
    lake.ensure_schemas(AGREEMENT)
    outcomes = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, load_id
    )
    assert all(not o.refused for o in outcomes)
    inputs = RuleInputs(lake, load_id, settings.landing_dir, AGREEMENT, D, settings.reporting_currency)
    results = run_bank_rules(inputs, load_gates_config(settings.gates_config))
    return {r.feed: r for r in results if r.expectation == "impossible_dates"}


def test_a_birth_date_or_onboarding_after_the_business_date_fails_the_gate(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a customers snapshot of 2026-11-20 with a birth date in 2090, onboarding in 2030,
    # and a customer onboarded on the business date itself (possible) and one the day after (the slack)
    customers = lines(
        CUSTOMERS_HEADER,
        customer("C1", "1980-05-01", "2020-01-01"),
        customer("C2", "2090-01-01", "2020-01-01"),
        customer("C3", "1980-05-01", "2030-06-30"),
        customer("C4", "1980-05-01", "2026-11-20"),
        customer("C5", "1980-05-01", "2026-11-21"),
    )
    delivery_writer("core_banking", D, core_delivery(customers))
    # when staged and gated
    result = impossible_dates(settings)["core_banking.customers"]
    # then the rule fails, blocking, with the two impossible rows named by file, row and column
    assert (result.success, result.severity, result.unexpected_count) == (False, "blocking", 2)
    assert [(e["_source_row"], e["column_name"], e["value"]) for e in result.examples] == [
        (2, "birth_date", "2090-01-01"),
        (3, "onboarding_date", "2030-06-30"),
    ]
    assert "slack_days" in (result.note or "")


def test_a_call_ending_years_later_fails_the_gate_and_a_maturity_date_does_not(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a call ending in 2031 (in the bank's time zone) and a call ending at 23:30 UTC on the
    # business date, which is the next morning in Shanghai (within the slack)
    late = CALL.replace("K1,", "K2,", 1).replace("2026-11-20T10:05:00+08:00", "2031-01-01T10:05:00+08:00")
    night = CALL.replace("K1,", "K3,", 1).replace("2026-11-20T10:05:00+08:00", "2026-11-20T23:30:00Z")
    delivery_writer(
        "call_center",
        D,
        {"agents.csv": lines(AGENTS_HEADER, AGENT), "calls.csv": lines(CALLS_HEADER, CALL, late, night)},
    )
    results = impossible_dates(settings)
    # then only the 2031 call fails
    assert [(e["_source_row"], e["column_name"]) for e in results["call_center.calls"].examples] == [(2, "ended_at")]
    assert results["call_center.agents"].success


def test_the_slack_and_the_exempt_columns_are_configuration(
    settings: Settings, delivery_writer: Callable[..., Path], tmp_path: Path
) -> None:
    # given a gates configuration with a slack of ten years
    config = (Path(__file__).resolve().parents[1] / "expectations" / "gates.toml").read_text(encoding="utf-8")
    gates = tmp_path / "gates.toml"
    gates.write_text(config.replace("slack_days = 1", "slack_days = 3653"), encoding="utf-8")
    settings = settings.model_copy(update={"gates_config": gates})
    customers = lines(CUSTOMERS_HEADER, customer("C3", "1980-05-01", "2030-06-30"))
    delivery_writer("core_banking", D, core_delivery(customers))
    # then onboarding in 2030 is within it
    assert impossible_dates(settings)["core_banking.customers"].success


def test_an_exempt_column_the_agreement_does_not_have_stops_the_gate(
    settings: Settings, delivery_writer: Callable[..., Path], tmp_path: Path
) -> None:
    config = (Path(__file__).resolve().parents[1] / "expectations" / "gates.toml").read_text(encoding="utf-8")
    gates = tmp_path / "gates.toml"
    gates.write_text(
        config.replace('"core_banking.loans.maturity_date"', '"core_banking.loans.maturity"'), encoding="utf-8"
    )
    delivery_writer("call_center", D, good_calls())
    with pytest.raises(ValueError, match=r"core_banking\.loans\.maturity"):
        impossible_dates(settings.model_copy(update={"gates_config": gates}))


def load_the_call_centre_of_d(settings: Settings, delivery_writer: Callable[..., Path]) -> None:
    """Stage and commit the call centre's delivery of D: the last date loaded."""
    lake = Lake(settings.lake_dir)
    delivery_writer("call_center", D, good_calls())
    outcomes = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    lake.commit("L1", audit_table("L1", outcomes))


def test_a_delivery_dated_far_after_the_last_loaded_date_is_refused_and_is_not_the_run_s_date(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given the call centre's 2026-11-20 loaded
    load_the_call_centre_of_d(settings, delivery_writer)
    # and then the next date, and a folder dated 2062
    delivery_writer("call_center", D + timedelta(days=1), good_calls())
    delivery_writer("call_center", date(2062, 1, 13), good_calls())
    # when the stage step runs
    report = stage_step(settings, run_id="L2")
    # then the next date loads, the 2062 delivery is refused naming the setting, and the run's
    # business date is the next date, not 2062
    assert report.deliveries_loaded == ["call_center/2026-11-21"]
    [problem] = report.deliveries_refused["call_center/2062-01-13"]
    assert problem.startswith("implausible business date: 2062-01-13 is 12837 days after the last date call_center")
    assert "delivery_gap_days (31" in problem
    assert report.business_date == "2026-11-21"


def test_a_system_s_first_delivery_dated_far_after_the_others_is_refused(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given the call centre's 2026-11-20 loaded, and core banking that has loaded nothing yet
    load_the_call_centre_of_d(settings, delivery_writer)
    # when core banking's first delivery is a folder dated 2062 (its content is not even read)
    delivery_writer("core_banking", date(2062, 1, 13), {"customers.csv": (CUSTOMERS_HEADER + "\n").encode()})
    report = stage_step(settings, run_id="L2")
    # then it is refused against the latest date any system loaded, naming the setting
    [problem] = report.deliveries_refused["core_banking/2062-01-13"]
    assert problem.startswith(
        "implausible business date: 2062-01-13 is 12838 days after the latest date any system loaded or "
        "delivered (2026-11-20; core_banking has none yet)"
    )
    assert "delivery_gap_days (31" in problem
    assert report.deliveries_loaded == []
    assert report.business_date != "2062-01-13"


def test_a_delivery_within_the_gap_loads_after_a_holiday(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a first load of two dates twelve days apart (a long holiday), in one pass
    delivery_writer("call_center", D, good_calls())
    delivery_writer("call_center", D + timedelta(days=12), good_calls())
    report = stage_step(settings, run_id="L1")
    assert sorted(report.deliveries_loaded) == ["call_center/2026-11-20", "call_center/2026-12-02"]
    assert report.deliveries_refused == {}
    assert report.rows["call_center.calls"] == {"delivered": 2, "loaded": 2, "quarantined": 0}
