"""The synthetic bank: reproducible, true to the feed agreement, coherent, and defective on purpose.

The coherence rules are the ones the warehouse's gates and dbt tests rely on; each is
checked with DuckDB over the CSVs the simulator wrote, the way the warehouse will read them.
Banks are small (a few hundred customers, ten to twenty days) so the suite stays fast.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pytest

from extract.contract import load_agreement
from simulator import Defects, SimulationConfig, SimulationSummary, simulate
from simulator.calls import CallCentre, build_agents
from simulator.days import NEVER, epoch_day
from simulator.population import Customers, build_customers, relationship_managers, warning_strength
from simulator.truth import DefectLog

DEFECT_KINDS = {
    "duplicate_person",
    "phone_format",
    "email_format",
    "duplicate_event",
    "late_event",
    "invalid_json",
    "unknown_event_type",
    "unknown_caller",
    "ambiguous_caller",
    "redelivered_date",
}
"""The defects on by default; `missing_manifest` and `truncated_file` come only on request."""


def _simulate(root: Path, **settings: object) -> SimulationSummary:
    return simulate(SimulationConfig(out=root / "landing", **settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bank with the default (realistic) defects; returns the landing root."""
    root = tmp_path_factory.mktemp("bank")
    _simulate(root, customers=200, days=10, seed=7)
    return root / "landing"


@pytest.fixture(scope="module")
def clean_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    _simulate(root, customers=200, days=10, seed=11, defects=Defects.none())
    return root / "landing"


@pytest.fixture(scope="module")
def defective_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("defective")
    _simulate(root, customers=500, days=20, seed=3)
    return root / "landing"


def _connect(landing: Path) -> duckdb.DuckDBPyConnection:
    """Every CSV feed as a view `<system>__<file>` with `_date`, the delivery's business date.

    Timestamps stay text (to check their local date and format); dates, decimals and
    integers are typed as the agreement says.
    """
    con = duckdb.connect()
    for feed in load_agreement().files:
        if feed.format != "csv":
            continue
        types = {c.name: "VARCHAR" if c.type in ("timestamp", "boolean") else c.duckdb_type for c in feed.columns}
        pattern = (landing / feed.system / "*" / f"{feed.name}.csv").as_posix()
        con.execute(
            f"""create view {feed.system}__{feed.name} as
            select regexp_extract(filename, '/(\\d{{4}}-\\d{{2}}-\\d{{2}})/', 1)::date as _date, * exclude (filename)
            from read_csv('{pattern}', header = true, columns = {types}, filename = true,
                          auto_detect = false, delim = ',', quote = '"', escape = '"')"""
        )
    return con


@pytest.fixture(scope="module")
def db(bank: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _connect(bank)
    yield con
    con.close()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(f"select count(*) from ({sql})").fetchone()
    assert row is not None
    return int(row[0])


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _events(landing: Path) -> Iterator[tuple[date, int, int, str]]:
    """(business date, hour, line number, line) of every delivered event line."""
    for path in sorted(landing.glob("online_banking/*/events-*.jsonl.gz")):
        day = date.fromisoformat(path.parent.name)
        hour = int(path.name[7:9])
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        assert text.endswith("\n")
        for number, line in enumerate(text.split("\n")[:-1], start=1):
            yield day, hour, number, line


def _national(number: str) -> str:
    """National digits of a Chinese phone number however it was typed (`+86 21 6552 1234` -> `02165521234`)."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    return digits if digits.startswith(("0", "1")) else "0" + digits


def _truth(landing: Path, name: str) -> list[dict[str, str]]:
    with (landing.parent / "_truth" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# -- reproducibility and the delivery format --------------------------------------------------


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    # given two runs with the same seed and one with another seed
    _simulate(tmp_path / "a", customers=200, days=10, seed=5)
    _simulate(tmp_path / "b", customers=200, days=10, seed=5)
    _simulate(tmp_path / "c", customers=200, days=10, seed=6)

    # when every file is hashed
    first, second, other = (_digests(tmp_path / x) for x in "abc")

    # then the same seed gives identical files, landing and answer key alike
    assert first == second
    assert any(path.startswith("_truth") for path in first)
    assert first != other


def test_one_delivery_per_system_per_day_and_the_answer_key_beside_the_landing_area(tmp_path: Path) -> None:
    # given / when
    summary = _simulate(tmp_path, customers=50, days=3, start=date(2026, 11, 20), seed=1)

    # then
    systems = {"core_banking", "online_banking", "call_center"}
    expected = {(s, date(2026, 11, d)) for s in systems for d in (20, 21, 22)}
    assert set(summary.deliveries) == expected and len(summary.deliveries) == 9
    assert {p.name for p in (tmp_path / "landing").iterdir()} == systems
    assert {p.name for p in summary.truth_dir.iterdir()} >= {"persons.csv", "churners.csv", "defects.csv"}
    assert summary.truth_dir == tmp_path / "_truth"
    assert summary.rows[("core_banking", "products")] == sum(_manifest_rows(tmp_path / "landing", "products.csv"))


def _manifest_rows(landing: Path, name: str) -> list[int]:
    return [
        json.loads(m.read_text())["files"][name]["rows"] for m in sorted(landing.glob("core_banking/*/_manifest.json"))
    ]


def test_manifests_describe_their_files(bank: Path) -> None:
    # given every delivery's manifest
    manifests = sorted(bank.glob("*/*/_manifest.json"))
    assert len(manifests) == 30

    for path in manifests:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        # then it names its delivery and exactly the files beside it
        assert manifest["system"] == folder.parent.name
        assert manifest["business_date"] == folder.name
        assert set(manifest["files"]) == {p.name for p in folder.iterdir()} - {"_manifest.json"}
        # and it was written last
        assert all(path.stat().st_mtime_ns >= p.stat().st_mtime_ns for p in folder.iterdir())
        for name, entry in manifest["files"].items():
            content = (folder / name).read_bytes()
            # then checksum, row count and control totals are those of the file
            assert entry["sha256"] == hashlib.sha256(content).hexdigest()
            if name.endswith(".jsonl.gz"):
                assert entry["rows"] == gzip.decompress(content).count(b"\n")
                continue
            rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))
            assert entry["rows"] == len(rows)
            for column, total in entry.get("control_totals", {}).items():
                assert Decimal(total) == sum((Decimal(r[column]) for r in rows), Decimal(0))
            if name == "transactions.csv":
                assert "control_totals" in entry


def test_csv_files_follow_the_agreement(bank: Path) -> None:
    # given the agreement
    agreement = load_agreement()
    for path in sorted(bank.glob("*/*/*.csv")):
        feed = agreement.feed_for(path.parent.parent.name, path.name)
        assert feed is not None
        content = path.read_bytes()
        # then UTF-8 with \n line ends, the agreement's header, one field per column
        assert b"\r" not in content and content.endswith(b"\n")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
        assert rows[0] == feed.column_names
        assert all(len(row) == len(feed.column_names) for row in rows)
        for row in rows[1:]:
            for column, value in zip(feed.columns, row, strict=True):
                if value == "":
                    assert column.nullable, f"{path}: {column.name} is empty"
                elif column.type == "timestamp":
                    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", value), value
                elif column.type == "date":
                    assert re.fullmatch(r"\d{4}-\d\d-\d\d", value), value
                elif column.type == "decimal":
                    assert re.fullmatch(r"-?\d+\.\d{2}", value), value
                elif column.type == "boolean":
                    assert value in ("Y", "N")
                elif column.type == "enum" and not column.open:
                    assert value in column.values, f"{column.name}={value}"


# -- the ledger -------------------------------------------------------------------------------


def test_balance_after_chains_per_account_in_posting_order(db: duckdb.DuckDBPyConnection) -> None:
    # given every posting of the period
    chained = """
        select amount, balance_after,
               lag(balance_after) over (partition by account_id order by txn_ts, txn_id) as previous
        from core_banking__transactions"""
    # then each balance_after is the previous one plus the amount, postings never share a second
    assert (
        _count(db, f"select * from ({chained}) where previous is not null and previous + amount <> balance_after") == 0
    )
    assert _count(db, "select account_id, txn_ts from core_banking__transactions group by all having count(*) > 1") == 0
    # and a posting is booked on its business date, never after it
    assert _count(db, "select * from core_banking__transactions where posting_date <> _date") == 0
    assert _count(db, "select * from core_banking__transactions where left(txn_ts, 10) > posting_date::varchar") == 0
    assert _count(db, "select * from core_banking__transactions") > 1000


def test_end_of_day_balance_is_the_last_posting_or_the_day_before(db: duckdb.DuckDBPyConnection) -> None:
    # given each account's last and first posting of each day
    days = """
        select account_id, posting_date,
               arg_max(balance_after, txn_ts) as closing,
               arg_min(balance_after - amount, txn_ts) as opening
        from core_banking__transactions group by all"""
    joined = f"""
        select b.ledger_balance, d.closing, d.opening, p.ledger_balance as yesterday
        from core_banking__balances b
        left join ({days}) d on d.account_id = b.account_id and d.posting_date = b.business_date
        left join core_banking__balances p on p.account_id = b.account_id and p.business_date = b.business_date - 1"""
    # then the balance is the day's last balance_after, or yesterday's balance without postings
    assert _count(db, f"select * from ({joined}) where closing is not null and closing <> ledger_balance") == 0
    assert _count(db, f"select * from ({joined}) where closing is null and yesterday <> ledger_balance") == 0
    # and a day's first posting starts from yesterday's balance
    assert _count(db, f"select * from ({joined}) where opening <> yesterday") == 0
    assert _count(db, "select * from core_banking__balances where business_date <> _date") == 0


def test_balances_have_the_customers_sign_and_one_row_per_open_account(db: duckdb.DuckDBPyConnection) -> None:
    # given balances with their account's product
    signed = """
        select p.balance_side, b.ledger_balance
        from core_banking__balances b
        join core_banking__accounts a on a._date = b._date and a.account_id = b.account_id
        join core_banking__products p on p._date = b._date and p.product_code = a.product_code"""
    # then deposits are positive, loans and cards negative, off-balance products zero
    assert _count(db, f"select * from ({signed}) where balance_side = 'LIABILITY' and ledger_balance < 0") == 0
    assert _count(db, f"select * from ({signed}) where balance_side = 'ASSET' and ledger_balance > 0") == 0
    assert _count(db, f"select * from ({signed}) where balance_side = 'OFF_BALANCE' and ledger_balance <> 0") == 0
    # and exactly the accounts open that day have a balance
    open_accounts = "select _date, account_id from core_banking__accounts where status <> 'CLOSED'"
    balanced = "select _date, account_id from core_banking__balances"
    assert _count(db, f"({open_accounts} except {balanced}) union all ({balanced} except {open_accounts})") == 0
    assert _count(db, "select _date, account_id from core_banking__balances group by all having count(*) > 1") == 0


def test_reversals_cancel_an_earlier_posting_of_the_same_account(db: duckdb.DuckDBPyConnection) -> None:
    # given every reversal and the posting it names
    reversals = """
        select r.amount, o.amount as original, r.account_id, o.account_id as original_account,
               o.txn_ts as original_ts, r.txn_ts
        from core_banking__transactions r
        left join core_banking__transactions o on o.txn_id = r.reversed_txn_id
        where r.txn_type = 'REVERSAL'"""
    # then it cancels that posting, on the same account, after it
    assert _count(db, reversals) > 0
    assert _count(db, f"select * from ({reversals}) where original is null or amount <> -original") == 0
    assert _count(db, f"select * from ({reversals}) where account_id <> original_account or txn_ts <= original_ts") == 0
    assert _count(db, "select * from core_banking__transactions where txn_type = 'FEE' and amount >= 0") == 0


def test_loans_match_the_ledger_and_their_classification(db: duckdb.DuckDBPyConnection) -> None:
    # given loans beside the balances of the same day
    loans = """
        select l.*, b.ledger_balance
        from core_banking__loans l
        left join core_banking__balances b on b._date = l._date and b.account_id = l.account_id"""
    # then the outstanding principal is minus the ledger balance, and positive
    assert (
        _count(db, f"select * from ({loans}) where ledger_balance is null or outstanding_principal <> -ledger_balance")
        == 0
    )
    assert _count(db, "select * from core_banking__loans where outstanding_principal <= 0") == 0
    # and the classification follows days past due
    expected = """case when days_past_due = 0 then 'NORMAL' when days_past_due <= 90 then 'SPECIAL_MENTION'
                       when days_past_due <= 180 then 'SUBSTANDARD' when days_past_due <= 360 then 'DOUBTFUL'
                       else 'LOSS' end"""
    assert _count(db, f"select * from core_banking__loans where classification <> {expected}") == 0
    # and every open loan account has its row
    open_loans = """
        select a._date, a.account_id from core_banking__accounts a
        join core_banking__products p on p._date = a._date and p.product_code = a.product_code
        where p.product_family = 'LOAN' and a.status <> 'CLOSED'"""
    assert _count(db, f"{open_loans} except select _date, account_id from core_banking__loans") == 0
    assert _count(db, "select * from core_banking__loans where days_past_due > 30") > 0


# -- master data ------------------------------------------------------------------------------


def test_every_reference_exists_in_the_same_days_snapshot(db: duckdb.DuckDBPyConnection) -> None:
    # given the foreign keys of the agreement's files
    references = [
        ("core_banking__accounts", "customer_id", "core_banking__customers", "customer_id"),
        ("core_banking__accounts", "product_code", "core_banking__products", "product_code"),
        ("core_banking__accounts", "branch_id", "core_banking__branches", "branch_id"),
        ("core_banking__accounts", "rm_id", "core_banking__relationship_managers", "rm_id"),
        ("core_banking__customers", "home_branch_id", "core_banking__branches", "branch_id"),
        ("core_banking__customers", "rm_id", "core_banking__relationship_managers", "rm_id"),
        ("core_banking__relationship_managers", "branch_id", "core_banking__branches", "branch_id"),
        ("core_banking__account_parties", "account_id", "core_banking__accounts", "account_id"),
        ("core_banking__account_parties", "customer_id", "core_banking__customers", "customer_id"),
        ("core_banking__balances", "account_id", "core_banking__accounts", "account_id"),
        ("core_banking__transactions", "account_id", "core_banking__accounts", "account_id"),
        ("core_banking__transactions", "branch_id", "core_banking__branches", "branch_id"),
        ("core_banking__loans", "account_id", "core_banking__accounts", "account_id"),
        ("online_banking__users", "customer_id", "core_banking__customers", "customer_id"),
        ("call_center__calls", "customer_id", "core_banking__customers", "customer_id"),
        ("call_center__calls", "agent_id", "call_center__agents", "agent_id"),
    ]
    for child, column, parent, key in references:
        # then every value refers to a record delivered the same day
        orphans = f"""select c._date, c.{column} from {child} c where c.{column} is not null
                      except select _date, {key} from {parent}"""
        assert _count(db, orphans) == 0, f"{child}.{column} -> {parent}.{key}"


def test_each_account_has_exactly_one_primary_holder_its_customer(db: duckdb.DuckDBPyConnection) -> None:
    # given account parties beside the accounts
    primaries = """
        select a._date, a.account_id, a.customer_id,
               count(p.customer_id) filter (where p.role = 'PRIMARY') as n_primary,
               max(p.customer_id) filter (where p.role = 'PRIMARY') as primary_holder
        from core_banking__accounts a
        left join core_banking__account_parties p on p._date = a._date and p.account_id = a.account_id
        group by all"""
    # then there is one PRIMARY per account, the account's customer, and other roles besides
    assert _count(db, f"select * from ({primaries}) where n_primary <> 1 or primary_holder <> customer_id") == 0
    roles = {r[0] for r in db.execute("select distinct role from core_banking__account_parties").fetchall()}
    assert roles == {"PRIMARY", "JOINT", "AUTHORIZED", "GUARANTOR"}
    assert (
        _count(
            db,
            "select _date, account_id, customer_id from core_banking__account_parties group by all having count(*) > 1",
        )
        == 0
    )


def test_snapshots_keep_everyone_and_show_onboarding_and_leaving(bank: Path, db: duckdb.DuckDBPyConnection) -> None:
    # given the churners of the answer key
    churners = _truth(bank, "churners.csv")
    assert churners
    for churner in churners:
        # then a churner is CLOSED from the day they left, with their accounts, and still delivered
        rows = db.execute(
            "select _date, status, closed_date from core_banking__customers where customer_id = ? order by _date",
            [churner["customer_id"]],
        ).fetchall()
        assert rows[-1][0] == date(2026, 9, 2)
        left_on = date.fromisoformat(churner["left_on"])
        assert all((status == "CLOSED") == (day >= left_on) for day, status, _ in rows)
        assert all(closed == (left_on if day >= left_on else None) for day, _, closed in rows)
        still_open = db.execute(
            "select count(*) from core_banking__accounts where customer_id = ? and _date = ? and status <> 'CLOSED'",
            [churner["customer_id"], left_on],
        ).fetchone()
        assert still_open == (0,)
    # and snapshots only grow: nobody disappears, a few arrive
    counts = [
        r[0]
        for r in db.execute("select count(*) from core_banking__customers group by _date order by _date").fetchall()
    ]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert _count(db, "select * from core_banking__customers where onboarding_date > _date") == 0


def test_churners_income_stops_when_the_answer_key_says_and_silent_ones_never_call(defective_bank: Path) -> None:
    db = _connect(defective_bank)
    bank = defective_bank
    # given the churners and who really made each retention or complaint call
    persons = {(r["source_table"], r["source_key"]): r["person_id"] for r in _truth(bank, "persons.csv")}
    callers = {
        persons[("calls", call_id)]
        for (call_id,) in db.execute(
            "select call_id from call_center__calls where reason_code in ('CLOSE_ACCOUNT', 'COMPLAINT_SERVICE')"
        ).fetchall()
    }
    churners = _truth(bank, "churners.csv")
    # (this bank holds both kinds: one whose income stops, one who gives no warning)
    assert any(c["salary_stopped_on"] for c in churners) and any(c["drain_from"] == c["left_on"] for c in churners)
    for churner in churners:
        # then no income arrived from the day the answer key says it stopped
        if churner["salary_stopped_on"]:
            incomes = db.execute(
                """select count(*) from core_banking__transactions t
                   join core_banking__accounts a on a._date = t._date and a.account_id = t.account_id
                   where a.customer_id = ? and t.channel = 'SYSTEM' and t.amount > 0
                       and t.description in ('Salary', 'Pension', 'Family transfer') and t.posting_date >= ?::date""",
                [churner["customer_id"], churner["salary_stopped_on"]],
            ).fetchone()
            assert incomes == (0,), churner
        # and a churner who gives no warning (first sign on the leaving day) never called
        if churner["drain_from"] == churner["left_on"]:
            assert persons[("customers", churner["customer_id"])] not in callers, churner


def _population(**settings: object) -> tuple[SimulationConfig, Customers]:
    config = SimulationConfig(out=Path("/nonexistent/landing"), **settings)  # type: ignore[arg-type]
    start = epoch_day(config.start)
    return config, build_customers(config, relationship_managers(config.seed, start))


def test_churners_warn_months_ahead_some_not_at_all_and_lookalikes_stay() -> None:
    # given the population of a 3,000-customer bank over 270 days (built in memory, no files)
    config, c = _population(customers=3000, days=270, seed=21)
    behaviour = config.churn
    start, end = epoch_day(config.start), epoch_day(config.end)
    churners = np.flatnonzero(c.churner)
    lead = c.closed_day[churners] - c.drain_day[churners]
    silent = lead == 0
    # then about 6% leave during the period, each on a day within it
    assert 100 <= len(churners) <= 220, len(churners)
    assert ((c.closed_day[churners] > start) & (c.closed_day[churners] <= end)).all()
    # and the warned ones show signs 15 to 150 days ahead, spread over that range, not one lead
    warned = lead[~silent]
    assert warned.min() >= behaviour.lead_min_days and warned.max() <= behaviour.lead_max_days
    assert np.percentile(warned, 25) < 60 and np.percentile(warned, 75) > 100, np.percentile(warned, [25, 75])
    # and about one in six gives no warning at all (no income stop either)
    assert 0.08 <= silent.mean() <= 0.30, silent.mean()
    assert (c.salary_stop[churners[silent]] == NEVER).all()
    # and a warned churner's income stops within the warning or not before they leave
    stops = churners[~silent & (c.salary_stop[churners] != NEVER)]
    assert 0.5 <= len(stops) / (~silent).sum() < 1.0
    assert ((c.salary_stop[stops] >= c.drain_day[stops]) & (c.salary_stop[stops] <= c.closed_day[stops])).all()
    # and as many customers who stay go through a spell that looks like leaving, most with an
    # income gap that ends
    alike = np.flatnonzero(c.lookalike & (c.duplicate_of < 0))
    assert 0.5 * len(churners) <= len(alike) <= 1.5 * len(churners)
    assert not (c.churner & c.lookalike).any() and (c.closed_day[alike] == NEVER).all()
    gap = alike[c.salary_stop[alike] != NEVER]
    assert 0.4 <= len(gap) / len(alike) <= 0.8
    assert (c.salary_resume[gap] - c.salary_stop[gap] >= 30).all()


def test_warning_strength_grows_to_leaving_and_a_lookalikes_fades_away() -> None:
    # given a churner and a look-alike with a spell of at least 60 days inside the period
    _, c = _population(customers=3000, days=270, seed=21)
    churner = next(int(i) for i in np.flatnonzero(c.churner) if c.closed_day[i] - c.drain_day[i] >= 60)
    alike = next(int(i) for i in np.flatnonzero(c.lookalike) if c.drain_end[i] - c.drain_day[i] >= 60)
    who = np.array([churner, alike])

    def strength(d: int) -> np.ndarray:
        return warning_strength(c, who, d)

    # then nobody shows a sign before their spell
    assert (strength(int(c.drain_day[churner]) - 1)[0], strength(int(c.drain_day[alike]) - 1)[1]) == (0.0, 0.0)
    # and the churner's signs grow day by day, gradually, to full strength on the leaving day
    days = range(int(c.drain_day[churner]), int(c.closed_day[churner]) + 1)
    rising = [float(strength(d)[0]) for d in days]
    assert rising == sorted(rising) and rising[-1] == 1.0 and 0.4 < rising[len(rising) // 2] < 0.6
    # and the look-alike's rise to its peak halfway and are gone when the spell ends
    first, last = int(c.drain_day[alike]), int(c.drain_end[alike])
    middle = float(strength((first + last) // 2)[1])
    assert middle == pytest.approx(c.warn_peak[alike], abs=0.05) and middle >= 0.5
    assert float(strength(last + 1)[1]) == 0.0
    # and everyone else shows nothing
    others = np.flatnonzero(~c.churner & ~c.lookalike)
    assert not warning_strength(c, others, int(c.closed_day[churner])).any()


def test_retention_and_complaint_calls_come_from_warned_churners_and_lookalikes() -> None:
    # given the calls the contact centre plans for a 3,000-customer bank over 270 days
    config, c = _population(customers=3000, days=270, seed=21)
    start = epoch_day(config.start)
    centre = CallCentre(
        config, c, build_agents(config.seed, start), np.zeros(len(c), bool), np.zeros(0, np.int64), DefectLog()
    )
    retention, complaint = centre.planned
    warned = c.churner & (c.drain_day < c.closed_day)
    silent = c.churner & ~warned
    # then only warned churners and look-alikes call, never a silent churner or anyone else
    for planned in (retention, complaint):
        assert (warned | c.lookalike)[planned["customer"]].all()
        assert not silent[planned["customer"]].any()
    # and most warned churners call retention in their last 30 days, before they leave
    leaving = retention["customer"][c.churner[retention["customer"]]]
    days = retention["day"][c.churner[retention["customer"]]]
    share = len(np.unique(leaving)) / int((warned & (c.duplicate_of < 0)).sum())
    assert 0.6 <= share <= 0.9, share
    assert ((days <= c.closed_day[leaving]) & (days >= np.maximum(start, c.closed_day[leaving] - 30))).all()
    # and some look-alikes call retention too, and stay
    assert c.lookalike[retention["customer"]].sum() >= 5


# -- online banking and the contact centre ----------------------------------------------------


def test_events_arrive_in_the_hour_file_of_their_reception(clean_bank: Path) -> None:
    # given every event line of a clean bank
    agreement = load_agreement().file("online_banking", "events")
    users = {}
    for path in clean_bank.glob("online_banking/*/users.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            users[date.fromisoformat(path.parent.name)] = {r["user_id"] for r in csv.DictReader(fh)}
    sessions: dict[str, list[str]] = {}
    for day, hour, _, line in _events(clean_bank):
        event = json.loads(line)
        # then each is a JSON object of the agreement's columns, never after its file's hour
        assert list(event) == agreement.column_names
        assert event["event_ts"][:13] <= f"{day.isoformat()}T{hour:02d}"
        assert event["user_id"] is None or event["user_id"] in users[day]
        sessions.setdefault(event["session_id"], []).append(event["event_type"])
    # and logged-in sessions run LOGIN ... LOGOUT
    logged_in = [types for types in sessions.values() if "LOGIN" in types]
    assert logged_in
    complete = [t for t in logged_in if t.index("LOGIN") < len(t) - 1 and t[-1] == "LOGOUT"]
    assert len(complete) >= 0.95 * len(logged_in)


def test_calls_end_on_their_business_date_in_order(db: duckdb.DuckDBPyConnection) -> None:
    # given every call
    calls = "select * from call_center__calls"
    # then it ended on the delivery's date, and started <= answered <= ended
    assert _count(db, f"select * from ({calls}) where left(ended_at, 10) <> _date::varchar") == 0
    times = "started_at::timestamptz as s, answered_at::timestamptz as a, ended_at::timestamptz as e, wait_seconds"
    ordered = f"select {times} from call_center__calls"
    assert _count(db, f"select * from ({ordered}) where s > e or a < s or a > e") == 0
    assert _count(db, f"select * from ({ordered}) where a is not null and a - s <> to_seconds(wait_seconds)") == 0


def test_calls_follow_what_happened_elsewhere(defective_bank: Path) -> None:
    # given the contact centre of a 500-customer bank over 20 days
    con = _connect(defective_bank)
    calls = con.execute("select reason_code, queue, outcome, direction, campaign_id from call_center__calls").fetchall()

    # then customers dispute fees, churners call retention, campaigns sell, arrears are chased
    reasons = {(reason, queue) for reason, queue, *_ in calls}
    assert {("FEE_DISPUTE", "GENERAL"), ("CLOSE_ACCOUNT", "RETENTION"), ("PAYMENT_REMINDER", "COLLECTIONS")} <= reasons
    sales = [(outcome, campaign) for _, queue, outcome, direction, campaign in calls if queue == "SALES"]
    assert {outcome for outcome, _ in sales} >= {"SALE", "NO_SALE"} and all(campaign for _, campaign in sales)
    disputes = con.execute(
        """select count(*) from call_center__calls c join core_banking__transactions t
           on t.posting_date = c._date and t.description = 'Fee refund'
           where c.reason_code = 'FEE_DISPUTE'"""
    ).fetchone()
    assert disputes is not None and disputes[0] > 0


# -- defects ----------------------------------------------------------------------------------


def test_a_clean_bank_has_no_defects(clean_bank: Path) -> None:
    # given a bank simulated with Defects.none()
    con = _connect(clean_bank)
    # then the answer key lists no defect
    assert _truth(clean_bank, "defects.csv") == []
    # and contacts are keyed canonically, once per person
    assert _count(con, "select * from core_banking__customers where not regexp_full_match(phone, '\\d+')") == 0
    assert _count(con, "select * from core_banking__customers where email <> lower(trim(email))") == 0
    persons = _truth(clean_bank, "persons.csv")
    customers = [p["person_id"] for p in persons if p["source_table"] == "customers"]
    assert len(customers) == len(set(customers))
    # and callers are who their number says, from a number only they have
    numbers = "select distinct customer_id, phone from core_banking__customers where phone is not null"
    ambiguous = f"""select c.call_id from call_center__calls c join ({numbers}) n on n.phone = c.caller_number
                    group by c.call_id having count(distinct n.customer_id) <> 1"""
    unknown = f"select call_id from call_center__calls where caller_number not in (select phone from ({numbers}))"
    assert _count(con, ambiguous) == 0 and _count(con, unknown) == 0
    # and every event is valid, known and delivered once
    known = set(load_agreement().file("online_banking", "events").column("event_type").values)
    ids = [json.loads(line)["event_id"] for *_, line in _events(clean_bank)]
    assert len(ids) == len(set(ids))
    assert all(json.loads(line)["event_type"] in known for *_, line in _events(clean_bank))


def test_default_rates_produce_every_defect_where_the_answer_key_says(defective_bank: Path) -> None:
    # given the answer key of a 500-customer bank over 20 days with the default defects
    defects = _truth(defective_bank, "defects.csv")
    kinds = {d["kind"] for d in defects}

    # then every kind of defect occurs
    assert kinds == DEFECT_KINDS

    # and each sits where it is recorded
    lines = {
        (day.isoformat(), f"events-{hour:02d}.jsonl.gz", number): line
        for day, hour, number, line in _events(defective_bank)
    }
    seen: dict[str, int] = {}
    for line in lines.values():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        seen[event["event_id"]] = seen.get(event["event_id"], 0) + 1
    known = set(load_agreement().file("online_banking", "events").column("event_type").values)
    for d in (d for d in defects if d["system"] == "online_banking" and d["kind"] != "redelivered_date"):
        line = lines[(d["business_date"], d["file"], int(d["line"]))]
        if d["kind"] == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        event = json.loads(line)
        assert event["event_id"] == d["key"]
        if d["kind"] == "duplicate_event":
            assert seen[d["key"]] >= 2
        elif d["kind"] == "late_event":
            assert event["event_ts"][:10] < d["business_date"]
        elif d["kind"] == "unknown_event_type":
            assert event["event_type"] not in known

    con = _connect(defective_bank)
    holders: dict[tuple[date, str], set[str]] = {}
    for day, customer_id, phone in con.execute(
        "select _date, customer_id, phone from core_banking__customers where phone is not null"
    ).fetchall():
        holders.setdefault((day, _national(phone)), set()).add(customer_id)
    calls = {
        call_id: (day, number)
        for call_id, day, number in con.execute(
            "select call_id, _date, caller_number from call_center__calls"
        ).fetchall()
    }
    for d in (d for d in defects if d["kind"] in ("unknown_caller", "ambiguous_caller")):
        day, number = calls[d["key"]]
        matched = holders.get((day, _national(number)), set())
        assert len(matched) == 0 if d["kind"] == "unknown_caller" else len(matched) >= 2
    persons = _truth(defective_bank, "persons.csv")
    person_of = {p["source_key"]: p["person_id"] for p in persons if p["source_table"] == "customers"}
    for d in (d for d in defects if d["kind"] == "duplicate_person"):
        twins = [key for key, person in person_of.items() if person == person_of[d["key"]]]
        assert len(twins) >= 2


def test_daylight_saving_time_zones_keep_the_ledger_in_order(tmp_path: Path) -> None:
    # given a bank in a zone that springs forward during the period
    _simulate(tmp_path, customers=60, days=5, start=date(2027, 3, 26), seed=2, timezone="Europe/Berlin")
    con = _connect(tmp_path / "landing")

    # then offsets follow the zone, and balances chain in the order of the instants written
    offsets = {r[0] for r in con.execute("select distinct right(txn_ts, 6) from core_banking__transactions").fetchall()}
    assert offsets == {"+01:00", "+02:00"}
    chained = """select amount, balance_after, lag(balance_after) over
                 (partition by account_id order by txn_ts::timestamptz) as previous from core_banking__transactions"""
    assert _count(con, f"select * from ({chained}) where previous + amount <> balance_after") == 0


# -- delivery defects, the answer key and the command line ------------------------------------


def test_default_defect_rates_are_the_configured_shares(defective_bank: Path) -> None:
    # given the answer key and the deliveries of a 500-customer bank over 20 days
    defects = _truth(defective_bank, "defects.csv")
    count = {kind: sum(d["kind"] == kind for d in defects) for kind in DEFECT_KINDS}
    events = sum(1 for _ in _events(defective_bank))
    customers = {r["source_key"] for r in _truth(defective_bank, "persons.csv") if r["source_table"] == "customers"}
    rates = Defects()

    # then each defect occurs at about its configured share of what it applies to
    assert count["duplicate_event"] == pytest.approx(rates.duplicate_events * events, rel=0.25)
    assert count["late_event"] == pytest.approx(rates.late_events * events, rel=0.3)
    # (new event types replace browsing inside a session, about a third of all events)
    assert 0.2 * rates.unknown_event_types * events <= count["unknown_event_type"] <= rates.unknown_event_types * events
    assert count["duplicate_person"] == pytest.approx(rates.duplicate_persons * len(customers), rel=0.25)
    assert count["phone_format"] >= rates.phone_formats * len(customers) * 0.5
    # and the rare ones at least once, not more than a few times their share
    assert 1 <= count["invalid_json"] <= max(3, 3 * rates.invalid_json * events)
    assert 1 <= count["redelivered_date"] <= max(3, 3 * rates.redelivered_dates * 60)


def test_a_redelivered_date_is_a_complete_new_delivery_replacing_the_first(defective_bank: Path) -> None:
    # given the re-delivered dates of the answer key
    resent = [d for d in _truth(defective_bank, "defects.csv") if d["kind"] == "redelivered_date"]
    assert resent
    truth = defective_bank.parent / "_truth"
    for d in resent:
        landed = defective_bank / d["key"]
        first = truth / "superseded" / d["key"]
        new, old = (json.loads((f / "_manifest.json").read_text()) for f in (landed, first))
        # then the first version is kept beside the answer key, consistent with its own manifest
        for name, entry in old["files"].items():
            assert hashlib.sha256((first / name).read_bytes()).hexdigest() == entry["sha256"]
        # and the correction landed later for the same date, with the file the first one lacked complete
        assert new["business_date"] == old["business_date"] == d["business_date"]
        assert new["extracted_at"] > old["extracted_at"]
        if d["file"] in old["files"]:
            assert new["files"][d["file"]]["rows"] > old["files"][d["file"]]["rows"]
        else:
            assert d["file"] in new["files"]
        # and the landing area holds only the correction
        for name, entry in new["files"].items():
            assert hashlib.sha256((landed / name).read_bytes()).hexdigest() == entry["sha256"]


def test_on_request_a_delivery_without_manifest_and_a_truncated_file(tmp_path: Path) -> None:
    from extract.landing import Delivery, Manifest, check_files_against_manifest

    # given a clean bank asked for the two unloadable defects
    defects = replace(Defects.none(), missing_manifests=0.1, truncated_files=0.1)
    _simulate(tmp_path, customers=60, days=6, seed=4, defects=defects)
    landing = tmp_path / "landing"
    recorded = {d["kind"]: d for d in _truth(landing, "defects.csv")}
    assert set(recorded) == {"missing_manifest", "truncated_file"}

    # then the delivery without manifest has its files but no manifest
    missing = landing / recorded["missing_manifest"]["key"]
    assert any(missing.iterdir()) and not (missing / "_manifest.json").exists()
    # and the truncated file no longer matches its manifest: the extract refuses the delivery
    truncated = recorded["truncated_file"]
    folder = landing / truncated["key"]
    system, day = truncated["key"].split("/")
    manifest = Manifest.model_validate_json((folder / "_manifest.json").read_text())
    problems = check_files_against_manifest(
        Delivery(system, date.fromisoformat(day), folder), manifest, load_agreement()
    )
    assert any(truncated["file"] in p and "sha256" in p for p in problems)
    # and every other delivery is complete
    complete = {str(m.parent.relative_to(landing)) for m in landing.glob("*/*/_manifest.json")}
    assert len(complete) == 3 * 6 - 1


def test_the_answer_key_knows_the_person_behind_every_record(bank: Path, db: duckdb.DuckDBPyConnection) -> None:
    # given the persons of the answer key
    persons = {(r["source_table"], r["source_key"]): r["person_id"] for r in _truth(bank, "persons.csv")}
    # then every customer id, web user and call ever delivered has its person
    for table, key, sql in (
        ("customers", "customer_id", "select distinct customer_id from core_banking__customers"),
        ("users", "user_id", "select distinct user_id from online_banking__users"),
        ("calls", "call_id", "select call_id from call_center__calls"),
    ):
        delivered = {r[0] for r in db.execute(sql).fetchall()}
        assert delivered and {k for t, k in persons if t == table} == delivered, key
    # including calls from numbers no customer has, and calls the IVR could not authenticate
    unknown = [d["key"] for d in _truth(bank, "defects.csv") if d["kind"] == "unknown_caller"]
    assert unknown and all(("calls", call_id) in persons for call_id in unknown)
    # and every customer who left during the period is a planted churner, with person and drain date
    closed = {
        r[0]
        for r in db.execute(
            "select customer_id from core_banking__customers where status = 'CLOSED' and closed_date >= '2026-08-24'"
        ).fetchall()
    }
    churners = {c["customer_id"]: c for c in _truth(bank, "churners.csv")}
    assert closed <= set(churners)
    for customer_id, churner in churners.items():
        assert churner["person_id"] == persons[("customers", customer_id)]
        assert churner["drain_from"] <= churner["left_on"]


def test_applications_are_submitted_right_after_they_start_or_abandoned(clean_bank: Path) -> None:
    # given every session's events in order
    sessions: dict[str, list[tuple[str, str | None]]] = {}
    for *_, line in _events(clean_bank):
        event = json.loads(line)
        sessions.setdefault(event["session_id"], []).append((event["event_type"], event["product_code"]))
    pairs = [(a, b) for events in sessions.values() for a, b in pairwise(events)]
    # then a submission follows the start of the same product's application
    submits = [(a, b) for a, b in pairs if b[0] == "APPLICATION_SUBMIT"]
    assert submits and all(a[0] == "APPLICATION_START" and a[1] == b[1] for a, b in submits)
    # and most started applications are abandoned: about one in five is submitted (a start
    # followed by more browsing is submitted 35% of the time, and many starts are the last
    # page before logout); 0.21 on a 600-customer, 60-day bank, so a small bank's share
    # varies around it (its few dozen starts once gave 0.14)
    starts = sum(e == "APPLICATION_START" for events in sessions.values() for e, _ in events)
    assert 0.1 * starts <= len(submits) <= 0.4 * starts


def test_open_time_deposits_always_show_a_future_maturity(defective_bank: Path) -> None:
    # given time deposits in the accounts snapshots of 20 days: they roll over at maturity
    db = _connect(defective_bank)
    deposits = "select * from core_banking__accounts where product_code like 'TD-%' and status <> 'CLOSED'"
    assert _count(db, deposits) > 0
    # then an open deposit's maturity date is never in the past, and some rolled over in the period
    assert _count(db, f"select * from ({deposits}) where maturity_date < _date") == 0
    rolled = f"select account_id from ({deposits}) group by account_id having count(distinct maturity_date) > 1"
    assert _count(db, rolled) > 0


def test_some_time_deposits_pay_out_at_maturity_into_the_current_account(tmp_path: Path) -> None:
    # given a bank over six weeks, long enough for some time deposits to mature
    _simulate(tmp_path, customers=800, days=45, seed=4, defects=Defects.none())
    db = _connect(tmp_path / "landing")
    # when a deposit is paid out: closed on its maturity date, by a customer who did not leave
    paid = """select a.account_id, a.customer_id, a.close_date from core_banking__accounts a
        join core_banking__customers c on c.customer_id = a.customer_id and c._date = a._date
        where a.product_code like 'TD-%' and a.status = 'CLOSED' and a._date = a.close_date
        and c.status <> 'CLOSED'"""
    assert _count(db, paid) > 0
    assert _count(db, f"select * from ({paid}) p join core_banking__accounts a using (account_id) "
                      "where a._date = p.close_date and a.maturity_date <> p.close_date") == 0  # fmt: skip
    # then its whole balance moved that day to a current account of the same customer
    moved = f"""select p.account_id from ({paid}) p
        join core_banking__transactions o on o.account_id = p.account_id and o.posting_date = p.close_date
            and o.txn_type = 'TRANSFER_OUT' and o.description = 'Time deposit maturity' and o.balance_after = 0
        join core_banking__transactions i on i.counterparty_account = p.account_id
            and i.posting_date = p.close_date and i.amount = -o.amount and i.txn_type = 'TRANSFER_IN'
        join core_banking__accounts c on c.account_id = i.account_id and c._date = p.close_date
            and c.customer_id = p.customer_id and c.product_code like 'CUR-%'"""
    assert _count(db, moved) == _count(db, paid)
    # and the deposit is not in the balances from that day on
    after = f"select * from ({paid}) p join core_banking__balances b on b.account_id = p.account_id and b._date >= p.close_date"
    assert _count(db, after) == 0


def test_cli_simulates_with_defect_options_and_describes_the_landing_area(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bankdw.cli import main

    # given a clean bank asked on the command line for manifests that never arrive
    landing = tmp_path / "landing"
    env = {"BANKDW_DATA_DIR": str(tmp_path / "data")}
    args = ["simulate", "--out", str(landing), "--customers", "40", "--days", "2", "--start", "2026-11-02"]
    result = CliRunner().invoke(main, [*args, "--clean", "--missing-manifests", "1"], env=env)
    assert result.exit_code == 0, result.output
    # then no delivery has a manifest, and the answer key says so
    assert not list(landing.glob("*/*/_manifest.json"))
    assert {d["kind"] for d in _truth(landing, "defects.csv")} == {"missing_manifest"}

    # when the landing area is described
    described = CliRunner().invoke(main, ["simulate", "--describe", str(landing)], env=env)
    assert described.exit_code == 0, described.output
    # then the banker's distributions are printed, counted from the files
    customers = sum(1 for _ in (landing / "core_banking" / "2026-11-03" / "customers.csv").open()) - 1
    for title in ("Customers by type", "Products per customer", "balance percentiles", "Annual income", "Loans by",
                  "Calls by queue", "Web sessions per user"):  # fmt: skip
        assert title in described.output
    section = described.output.split("Customers by type")[1].split("\n\n")[0]
    active = [int(line.split()[-4]) for line in section.splitlines()[2:]]
    assert 0 < sum(active) <= customers
