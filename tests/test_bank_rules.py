"""The bank rules of the feed gates, on a tiny simulated bank's real files: each kind of bad
data is planted in the next night's delivery, which is staged (as a run would) and judged
against the lake the earlier nights built. No GX and no dbt here: the rules are DuckDB queries.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from bankdw.config import Settings
from bankdw.pipeline import DateSelection, stage_step
from expectations.bank_rules import RuleInputs, run_bank_rules
from expectations.config import GATES_TOML, GatesConfig, load_gates_config
from expectations.results import CheckResult
from extract.contract import load_agreement
from extract.lake import Lake
from tests.conftest import PUBLISHED_DAYS, PublishedBank, bank_date, write_manifest

NIGHT = bank_date(PUBLISHED_DAYS)
Rows = list[dict[str, str]]


@pytest.fixture
def bank(published_bank: PublishedBank, tmp_path: Path) -> Settings:
    """A copy of the shared published bank (tests/conftest.py): five nights of a tiny bank
    in the lake; the sixth night's deliveries (NIGHT) wait in the landing area."""
    assert published_bank.next_date == NIGHT
    return published_bank.copy(tmp_path / "data")


def night_delivery(settings: Settings, system: str) -> Path:
    """The waiting night's delivery folder of `system` in the landing area."""
    return settings.landing_dir / system / NIGHT.isoformat()


def read_csv(path: Path) -> Rows:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def edit_csv(
    settings: Settings, system: str, name: str, edit: Callable[[Rows], Rows], folder: Path | None = None
) -> None:
    """Edit a file of the waiting night (or of the delivery `folder`) as its system would have
    sent it (manifest re-signed)."""
    folder = folder or night_delivery(settings, system)
    path = folder / name
    rows = read_csv(path)
    header = list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(edit(rows))
    path.write_text(out.getvalue(), encoding="utf-8")
    write_manifest(folder)


def judge(
    settings: Settings,
    as_of: date = NIGHT,
    config: GatesConfig | None = None,
    after_stage: Callable[[Lake], None] | None = None,
) -> dict[tuple[str, str], CheckResult]:
    """Stage the waiting night and run the bank rules on it: (subject, rule) -> result."""
    report = stage_step(settings, DateSelection(last=NIGHT))
    assert not report.deliveries_refused, report.deliveries_refused
    lake = Lake(settings.lake_dir)
    if after_stage is not None:
        after_stage(lake.staging(report.run_id))
    inputs = RuleInputs(lake, report.run_id, settings.landing_dir, load_agreement(), as_of, settings.reporting_currency)
    results = run_bank_rules(inputs, config or load_gates_config())
    return {(r.feed, r.expectation): r for r in results}


def failed(results: dict[tuple[str, str], CheckResult]) -> dict[tuple[str, str], CheckResult]:
    return {key: r for key, r in results.items() if not r.success}


def row_of(rows: Rows, predicate: Callable[[dict[str, str]], bool]) -> tuple[int, dict[str, str]]:
    """The 1-based data row number and the row of the first row matching."""
    return next((i + 1, row) for i, row in enumerate(rows) if predicate(row))


def test_a_clean_night_passes_every_rule_and_every_rule_is_judged(bank: Settings) -> None:
    # when the waiting night is judged as delivered
    results = judge(bank)
    # then nothing fails, and the chain, balance, future, totals and volume rules really ran
    assert failed(results) == {}
    for key in [
        ("core_banking.transactions", "balance_chain"),
        ("core_banking.transactions", "control_totals"),
        ("core_banking.transactions", "future_postings"),
        ("core_banking.balances", "end_of_day_balance"),
        ("core_banking", "freshness"),
        ("call_center", "freshness"),
    ]:
        assert results[key].success and results[key].note is None, key
    assert results[("core_banking.balances", "volume")].note is None  # five dates of history: judged


def test_a_redelivery_without_postings_is_judged_against_a_lake_without_the_dates_postings(bank: Settings) -> None:
    # given the latest published date re-delivered by the core system with every posting
    # withdrawn: its transactions file with its header only (staged as an empty partition), its
    # balances back by what the postings had moved; the waiting night's core delivery not here
    day = bank_date(PUBLISHED_DAYS - 1)
    shutil.rmtree(night_delivery(bank, "core_banking"))
    folder = bank.landing_dir / "core_banking" / day.isoformat()
    withdrawn: dict[str, Decimal] = {}
    for posting in read_csv(folder / "transactions.csv"):
        withdrawn[posting["account_id"]] = withdrawn.get(posting["account_id"], Decimal(0)) + Decimal(posting["amount"])
    assert any(withdrawn.values()), "the date moved no balance"
    edit_csv(bank, "core_banking", "transactions.csv", lambda rows: [], folder=folder)

    def roll_back(rows: Rows) -> Rows:
        for row in rows:
            for column in ("ledger_balance", "available_balance"):
                row[column] = str(Decimal(row[column]) - withdrawn.get(row["account_id"], Decimal(0)))
        return rows

    edit_csv(bank, "core_banking", "balances.csv", roll_back, folder=folder)
    # when the re-delivery is judged
    results = judge(bank)
    # then the lake the rules read has none of the date's old postings: the balances, back at the
    # day before's plus nothing, roll forward (with the old postings kept, each account that had
    # postings that day would break by their sum)
    balance = results[("core_banking.balances", "end_of_day_balance")]
    assert (balance.success, balance.unexpected_count, balance.note) == (True, 0, None)
    assert ("core_banking.transactions", "balance_chain") not in failed(results)


def test_a_broken_balance_chain_is_blocking_and_names_the_row(bank: Settings) -> None:
    # given: the first posting of an account with several postings that night is booked 1.00 too high
    planted: dict[str, object] = {}

    def break_chain(rows: Rows) -> Rows:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["account_id"]] = counts.get(row["account_id"], 0) + 1
        number, row = row_of(rows, lambda r: counts[r["account_id"]] >= 2)
        row["balance_after"] = f"{float(row['balance_after']) + 1:.2f}"
        planted.update(row=number, txn_id=row["txn_id"])
        return rows

    edit_csv(bank, "core_banking", "transactions.csv", break_chain)
    # when
    results = judge(bank)
    # then the chain breaks on that account-day: the posting follows no balance, and the one
    # that followed it has lost what it followed
    chain = results[("core_banking.transactions", "balance_chain")]
    assert (chain.success, chain.severity) == (False, "blocking")
    assert chain.unexpected_count == 1 and len(chain.examples) == 2
    first = next(e for e in chain.examples if e["txn_id"] == planted["txn_id"])
    assert (first["_source_file"], first["_source_row"]) == (
        f"core_banking/{NIGHT}/transactions.csv",
        planted["row"],
    )
    assert chain.summary_line().startswith(
        "BLOCKING core_banking.transactions: balance_chain(balance_after) failed on 1 of "
    )
    assert "largest 1.0000" in chain.summary_line() and "[rules.balance_chain]" in chain.summary_line()


def test_an_end_of_day_balance_that_disagrees_with_the_postings_is_blocking(bank: Settings) -> None:
    # given: one account's end-of-day ledger balance is off by 0.01
    planted: dict[str, object] = {}

    def shift(rows: Rows) -> Rows:
        number, row = row_of(rows, lambda r: True)
        row["ledger_balance"] = f"{float(row['ledger_balance']) + 0.01:.2f}"
        planted.update(row=number, account=row["account_id"])
        return rows

    edit_csv(bank, "core_banking", "balances.csv", shift)
    # when
    results = judge(bank)
    # then
    balance = results[("core_banking.balances", "end_of_day_balance")]
    assert (balance.success, balance.severity, balance.unexpected_count) == (False, "blocking", 1)
    (example,) = balance.examples
    assert (example["account_id"], example["_source_row"]) == (planted["account"], planted["row"])
    assert failed(results).keys() == {("core_banking.balances", "end_of_day_balance")}


def test_an_account_back_in_the_balances_rolls_forward_from_its_last_balance_however_old(bank: Settings) -> None:
    # given an account with postings on the lake's last date and on the night, whose balance row
    # of the last date left the lake (as a dormant account's leaves the feed), and whose balance
    # of the date before is 1.00 too high: the rules read the lake from the last balance date
    # before the night on, and this account's older rows too
    last, before = bank_date(PUBLISHED_DAYS - 1), bank_date(PUBLISHED_DAYS - 2)
    balances = bank.lake_dir / "core_banking" / "balances"
    night_postings = {row["account_id"] for row in read_csv(night_delivery(bank, "core_banking") / "transactions.csv")}
    with duckdb.connect() as con:
        (account,) = con.sql(
            f"""
            select min(account_id) from read_parquet('{bank.lake_dir}/core_banking/transactions/*/*.parquet')
            where posting_date = ? and account_id in (select unnest(?))
            """,
            params=[last, sorted(night_postings)],
        ).fetchone() or (None,)
        assert account is not None, "no account with postings on the last date and on the night"
        rewrite(con, balances / f"business_date={last}", f"select * from rows where account_id <> '{account}'")
        rewrite(
            con,
            balances / f"business_date={before}",
            "select * replace (case when account_id = "
            f"'{account}' then ledger_balance + 1 else ledger_balance end as ledger_balance) from rows",
        )
    # when the night is judged
    results = judge(bank)
    # then its balance rolls forward from the balance of the date before, 1.00 off; the chain
    # follows the last date's postings and holds
    balance = results[("core_banking.balances", "end_of_day_balance")]
    assert (balance.success, balance.unexpected_count) == (False, 1)
    (example,) = balance.examples
    assert (example["account_id"], Decimal(example["difference"])) == (account, Decimal("-1"))
    assert ("core_banking.transactions", "balance_chain") not in failed(results)


def rewrite(con: duckdb.DuckDBPyConnection, partition: Path, select: str) -> None:
    """Rewrite the Parquet file of a lake partition with `select` over its `rows`."""
    (path,) = partition.glob("*.parquet")
    con.execute(f"create or replace temp table rows as select * from read_parquet('{path}')")
    con.execute(f"copy ({select}) to '{path}' (format parquet)")


def test_a_posting_dated_after_its_business_date_is_blocking(bank: Settings) -> None:
    # given: a posting of the night dated the day after
    def postdate(rows: Rows) -> Rows:
        rows[-1]["posting_date"] = (NIGHT + timedelta(days=1)).isoformat()
        return rows

    edit_csv(bank, "core_banking", "transactions.csv", postdate)
    # when
    results = judge(bank)
    # then
    future = results[("core_banking.transactions", "future_postings")]
    assert (future.success, future.severity, future.unexpected_count) == (False, "blocking", 1)
    assert future.examples[0]["posting_date"] == NIGHT + timedelta(days=1)


def test_staged_rows_that_do_not_add_up_to_the_control_total_are_blocking(bank: Settings) -> None:
    # given: a posting lost between the extract's check and the commit (the staged file loses a row)
    def lose_a_posting(staging: Lake) -> None:
        (path,) = staging.root.glob(f"core_banking/transactions/business_date={NIGHT}/*.parquet")
        with duckdb.connect() as con:
            con.execute(f"copy (select * from '{path}' where _source_row <> 1) to '{path}.new' (format parquet)")
        Path(f"{path}.new").replace(path)

    # when
    results = judge(bank, after_stage=lose_a_posting)
    # then the totals check names the file and both totals
    totals = results[("core_banking.transactions", "control_totals")]
    assert (totals.success, totals.severity, totals.unexpected_count) == (False, "blocking", 1)
    (example,) = totals.examples
    assert example["_source_file"] == f"core_banking/{NIGHT}/transactions.csv"
    assert example["staged_amount_total"] != example["manifest_amount_total"]


def test_a_file_far_smaller_than_its_trailing_average_warns(bank: Settings) -> None:
    # given: the online-banking users snapshot arrives with 5 rows instead of about 100
    edit_csv(bank, "online_banking", "users.csv", lambda rows: rows[:5])
    # when
    results = judge(bank)
    # then a warning (volume anomalies are reported, not blocking, by default) says how far off it is
    volume = results[("online_banking.users", "volume")]
    assert (volume.success, volume.severity) == (False, "warning")
    (example,) = volume.examples
    assert example["rows"] == 5 and example["trailing_average"] > 25
    assert all(r.severity == "warning" for r in failed(results).values())


def test_freshness_warns_beyond_the_first_limit_and_blocks_beyond_the_second(bank: Settings) -> None:
    # given the limits of gates.toml
    limits = load_gates_config().freshness
    # when the night is judged as if the run were for a later business date
    late = judge(bank, as_of=NIGHT + timedelta(days=limits.warn_after_days + 1))
    # then every system warns, naming how far behind it is
    fresh = late[("call_center", "freshness")]
    assert (fresh.success, fresh.severity) == (False, "warning")
    assert fresh.examples[0]["days_behind"] == limits.warn_after_days + 1
    # and beyond the second limit it blocks
    for folder in Lake(bank.lake_dir).root.glob("_staging/*"):
        shutil.rmtree(folder)
    stale = judge(bank, as_of=NIGHT + timedelta(days=limits.block_after_days + 1))
    assert {(r.feed, r.severity) for key, r in failed(stale).items() if key[1] == "freshness"} == {
        ("core_banking", "blocking"),
        ("online_banking", "blocking"),
        ("call_center", "blocking"),
    }


def test_severity_and_thresholds_come_from_the_configuration(bank: Settings, tmp_path: Path) -> None:
    # given a configuration that makes volume anomalies blocking with a tight band
    text = GATES_TOML.read_text(encoding="utf-8")
    strict = text.replace('severity = "warning"\ntrailing_days', 'severity = "blocking"\ntrailing_days')
    strict = strict.replace("tolerance = 0.5", "tolerance = 0.0001")
    assert strict.count("blocking") > text.count("blocking")
    path = tmp_path / "gates.toml"
    path.write_text(strict, encoding="utf-8")
    # when the clean night is judged with it
    results = judge(bank, config=load_gates_config(path))
    # then the snapshots that grew or shrank by a row block the load
    volume = failed(results)
    assert volume and all(key[1] == "volume" and r.severity == "blocking" for key, r in volume.items())


def test_an_invalid_configuration_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(
        GATES_TOML.read_text(encoding="utf-8").replace('severity = "blocking"', 'severity = "fatal"', 1),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"rules.control_totals.severity"):
        load_gates_config(path)


def test_the_default_simulated_bank_publishes_with_no_warning_it_did_not_have(published_bank: PublishedBank) -> None:
    # given the shared bank as one run published it (default settings and gates.toml)
    report = published_bank.report
    # then it published, and warned of what the simulator plants on purpose only: web events
    # delivered twice and a new web event type (the feed gate), the same type in staging (dbt)
    assert report.outcome == "SUCCESS" and report.checks_failed == 0
    feed = [w.split(":")[1].split(" failed")[0] for w in report.warnings if w.startswith("WARNING ")]
    assert feed == [" expect_column_values_to_be_unique(event_id)", " expect_column_values_to_be_in_set(event_type)"]
    (warehouse,) = [w for w in report.warnings if not w.startswith("WARNING ")]
    assert warehouse.startswith("warehouse test test.bankdw.accepted_values_stg_online_banking__events_event_type")
    assert report.checks_warned == 3


def gates_with(tmp_path: Path, section: str, **values: str) -> GatesConfig:
    """gates.toml with some keys of one [rules.<section>] table changed."""
    text = GATES_TOML.read_text(encoding="utf-8")
    start = text.index(f"\n[rules.{section}]\n")
    end = text.index("\n[", start + 1)
    table = text[start:end]
    for key, value in values.items():
        lines = [line for line in table.split("\n") if line.startswith(f"{key} =")]
        assert len(lines) == 1, key
        table = table.replace(lines[0], f"{key} = {value}")
    path = tmp_path / "gates.toml"
    path.write_text(text[:start] + table + text[end:], encoding="utf-8")
    return load_gates_config(path)


def test_postings_chain_in_any_order_whatever_their_time_and_ids(bank: Settings) -> None:
    # given the night's postings all stamped with one batch time, listed backwards, and each
    # account's ids given out in the reverse of the order they chain in
    def batch(rows: Rows) -> Rows:
        by_account: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            row["txn_ts"] = f"{NIGHT}T23:30:00+08:00"
            by_account.setdefault(row["account_id"], []).append(row)
        reordered = [acc for acc in by_account.values() if len(acc) >= 2]
        assert reordered, "the night has no account with two postings"
        for postings in reordered:
            ids = [r["txn_id"] for r in postings]
            for row, txn_id in zip(postings, reversed(ids), strict=True):
                row["txn_id"] = txn_id
        return rows[::-1]

    edit_csv(bank, "core_banking", "transactions.csv", batch)
    # when the night is judged, then both balance rules pass: they assume no order
    results = judge(bank)
    assert failed(results) == {}
    chain = results[("core_banking.transactions", "balance_chain")]
    assert (chain.success, chain.unexpected_count, chain.note) == (True, 0, None)


def test_rounding_within_the_tolerances_passes_and_is_still_counted(bank: Settings, tmp_path: Path) -> None:
    # given one account's end-of-day balance 0.10 above its roll-forward (rounding in the ledger)
    def round_up(rows: Rows) -> Rows:
        rows[0]["ledger_balance"] = f"{Decimal(rows[0]['ledger_balance']) + Decimal('0.10'):.2f}"
        return rows

    edit_csv(bank, "core_banking", "balances.csv", round_up)
    # when judged with an amount tolerance of 0.10, then nothing breaks
    within = judge(bank, config=gates_with(tmp_path, "end_of_day_balance", amount_tolerance="0.10"))
    assert failed(within) == {}
    assert within[("core_banking.balances", "end_of_day_balance")].unexpected_count == 0
    # when judged with 0.05 but half of the account-days allowed to break, then it passes, counted
    for folder in Lake(bank.lake_dir).root.glob("_staging/*"):
        shutil.rmtree(folder)
    config = gates_with(tmp_path, "end_of_day_balance", amount_tolerance="0.05", share_tolerance="0.5")
    shared = judge(bank, config=config)[("core_banking.balances", "end_of_day_balance")]
    assert (shared.success, shared.unexpected_count) == (True, 1)
    assert shared.note is not None and shared.note.startswith("passed with 1 of ")
    assert "sum of differences 0.1000, largest 0.1000; within share_tolerance 0.5" in shared.note


def test_a_loan_classified_below_its_floor_is_flagged_never_a_more_conservative_one(
    bank: Settings, tmp_path: Path
) -> None:
    # given four loans of the night: NORMAL at 20 days and SPECIAL_MENTION at 95 (below their
    # floors), SPECIAL_MENTION at 1 day (at its floor) and SUBSTANDARD at 5 days (above it)
    planted = [("20", "NORMAL"), ("95", "SPECIAL_MENTION"), ("1", "SPECIAL_MENTION"), ("5", "SUBSTANDARD")]

    def classify(rows: Rows) -> Rows:
        assert len(rows) >= len(planted)
        for row, (days, classification) in zip(rows, planted, strict=False):
            row.update(days_past_due=days, classification=classification)
        return rows

    edit_csv(bank, "core_banking", "loans.csv", classify)
    # when judged with the default floors
    results = judge(bank)
    # then the two below their floor block, named with the floor they break
    loans = results[("core_banking.loans", "loan_classification")]
    assert (loans.success, loans.severity, loans.unexpected_count) == (False, "blocking", 2)
    assert [(e["_source_row"], e["classification"], e["floor_classification"]) for e in loans.examples] == [
        (1, "NORMAL", "SPECIAL_MENTION"),
        (2, "SPECIAL_MENTION", "SUBSTANDARD"),
    ]
    assert "[rules.loan_classification] floors" in loans.summary_line()
    # and a bank whose policy floors arrears at 30 days (a table of its own) sees only the second
    for folder in Lake(bank.lake_dir).root.glob("_staging/*"):
        shutil.rmtree(folder)
    floors = '[{ above_days_past_due = 30, at_least = "SPECIAL_MENTION" }, { above_days_past_due = 90, at_least = "SUBSTANDARD" }]'
    text = GATES_TOML.read_text(encoding="utf-8")
    start = text.index("floors = [")
    path = tmp_path / "gates.toml"
    path.write_text(text[:start] + f"floors = {floors}\n" + text[text.index("]\n", start) + 2 :], encoding="utf-8")
    policy = judge(bank, config=load_gates_config(path))[("core_banking.loans", "loan_classification")]
    assert [e["_source_row"] for e in policy.examples] == [2]


def test_another_currency_than_the_reporting_currency_blocks_naming_file_and_setting(bank: Settings) -> None:
    # given one account of the night's snapshot in US dollars
    def dollars(rows: Rows) -> Rows:
        rows[3]["currency"] = "USD"
        return rows

    edit_csv(bank, "core_banking", "accounts.csv", dollars)
    # when judged
    results = judge(bank)
    # then the accounts block, naming the file, the row, the currency and the setting
    currency = results[("core_banking.accounts", "reporting_currency")]
    assert (currency.success, currency.severity, currency.unexpected_count) == (False, "blocking", 1)
    assert currency.examples == [
        {
            "_source_file": f"core_banking/{NIGHT}/accounts.csv",
            "_source_row": 4,
            "currency": "USD",
            "rows": 1,
            "reporting_currency": bank.reporting_currency,
        }
    ]
    assert "set reporting_currency (BANKDW_REPORTING_CURRENCY)" in currency.summary_line()
    assert failed(results).keys() == {("core_banking.accounts", "reporting_currency")}
