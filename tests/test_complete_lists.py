"""A file that lists every item of its kind loses none to quarantine unnoticed (issue 19): a
quarantined balances or customers row would make the account or the customer vanish that day,
so the feed gate's `complete_lists` rule (expectations/gates.toml) fails on it, naming the
file, the row and staging's reason; configured to warn, the rest of the file loads.

Small deliveries written by the tests, one `stage` call and the bank rules on what it staged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bankdw.config import Settings, load_settings
from expectations.bank_rules import RuleInputs, run_bank_rules
from expectations.config import load_gates_config
from expectations.results import CheckResult
from extract.lake import Lake
from extract.load import landing_state, stage
from tests.conftest import gates_toml
from tests.test_bad_input import lines
from tests.test_impossible_dates import AGREEMENT, CUSTOMERS_HEADER, D, core_delivery, customer


def complete_lists(settings: Settings) -> dict[str, CheckResult]:
    """Stage what is pending and run the bank rules on it: the complete_lists results by feed."""
    lake = Lake(settings.lake_dir)
    lake.ensure_schemas(AGREEMENT)
    outcomes = stage(
        landing_state(settings.landing_dir, lake, AGREEMENT).pending, settings.landing_dir, lake, AGREEMENT, "L1"
    )
    assert all(not o.refused for o in outcomes)
    inputs = RuleInputs(lake, "L1", settings.landing_dir, AGREEMENT, D, settings.reporting_currency)
    results = run_bank_rules(inputs, load_gates_config(settings.gates_config))
    return {r.feed: r for r in results if r.expectation == "complete_lists"}


def test_a_quarantined_row_of_a_snapshot_fails_the_gate_naming_file_row_and_reason(
    settings: Settings, delivery_writer: Callable[..., Path]
) -> None:
    # given a customers snapshot whose second customer has a birth date that is no date
    customers = lines(
        CUSTOMERS_HEADER,
        customer("C1", "1980-05-01", "2020-01-01"),
        customer("C2", "1980-13-45", "2020-01-01"),
        customer("C3", "1975-02-11", "2021-03-04"),
    )
    delivery_writer("core_banking", D, core_delivery(customers))
    # when staged and gated
    results = complete_lists(settings)
    # then the customers snapshot fails, blocking, on the quarantined row, with staging's reason
    failed = results["core_banking.customers"]
    assert (failed.success, failed.severity, failed.unexpected_count) == (False, "blocking", 1)
    [example] = failed.examples
    assert (example["_source_file"], example["_source_row"]) == (f"core_banking/{D}/customers.csv", 2)
    assert "birth_date" in example["reason"]
    # and every other file that lists everything was judged whole (the balances and loans states too)
    assert {feed for feed, r in results.items() if r.success} >= {"core_banking.balances", "core_banking.accounts"}
    assert "core_banking.transactions" not in results  # the day's postings list no item whole


def test_configured_to_warn_the_rule_reports_and_lets_the_file_load(
    settings: Settings, delivery_writer: Callable[..., Path], tmp_path: Path
) -> None:
    # given the same snapshot, and a data team that accepts a hole in a snapshot as a warning
    customers = lines(CUSTOMERS_HEADER, customer("C1", "1980-05-01", "2020-01-01"), customer("C2", "x", "2020-01-01"))
    delivery_writer("core_banking", D, core_delivery(customers))
    section = "[rules.complete_lists]"
    gates = gates_toml(tmp_path / "gates.toml")
    text = gates.read_text(encoding="utf-8")
    start = text.index(section)
    end = text.index("\n[", start)
    gates.write_text(text[:start] + text[start:end].replace('"blocking"', '"warning"') + text[end:], encoding="utf-8")
    warned = load_settings(data_dir=settings.root, gates_config=gates)
    # when staged and gated, then the rule warns with the same row
    result = complete_lists(warned)["core_banking.customers"]
    assert (result.success, result.severity, result.outcome, result.unexpected_count) == (False, "warning", "warned", 1)
