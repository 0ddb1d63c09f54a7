"""The relationship manager's day on real builds (docs/crm.md): events on the shared 2,000-customer
bank (planted churners, maturing time deposits), the contact rules over its 70 days, the RM
scorecards against the bank, and the events' incremental window on a copy of the small bank.

The rules themselves are proven at their boundaries by the dbt unit tests in
`dbt_project/models/intermediate/crm/_int_crm__models.yml` and tests/test_crm_leads.py.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from bankdw.config import Settings, load_settings
from bankdw.publish import published_state_path
from bench.bench_crm import EVENT_MODELS, redeliver, rows_only_in_one
from extract.sql import literal
from tests.conftest import PublishedBank, dbt_on, gates_toml, on_the_value_bank_lake

log = logging.getLogger(__name__)


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def copy_of(build: Path, folder: Path) -> Path:
    """A copy of the DuckDB file `build` (e.g. the 2,000-customer bank's published build, staging
    and intermediate too: published_state_path) as `folder`/bank.duckdb: the views name the
    file's catalog, `bank`."""
    folder.mkdir()
    return Path(shutil.copyfile(build, folder / "bank.duckdb"))


def test_planted_churners_raise_a_salary_or_balance_signal_before_they_close(value_bank: Settings) -> None:
    # given the planted churners, and the first day a balance drop can be judged (the data must
    # cover balance_drop_window_days before it)
    # (warned churners only: the answer key's silent ones, first sign on the leaving day, give
    # none by design, and the simulator plants about one in six of them)
    with (value_bank.root / "_truth" / "churners.csv").open(encoding="utf-8", newline="") as fh:
        churners = {
            row["customer_id"]: date.fromisoformat(row["left_on"])
            for row in csv.DictReader(fh)
            if row["drain_from"] < row["left_on"]
        }
    with connect(value_bank) as con:
        first_date = con.sql("select min(business_date) from marts.fct_account_balance_daily").fetchone()[0]
        judged_from = first_date + timedelta(days=value_bank.balance_drop_window_days)
        judgeable = {customer: left for customer, left in churners.items() if left > judged_from}
        # when their first SALARY_STOPPED or BALANCE_DROP event before they left is looked up
        rows = con.sql(
            """
            select xref.source_key, min(events.event_date)
            from marts.customer_xref as xref
            inner join marts.fct_customer_events as events
                on xref.customer_key = events.customer_key
            where xref.source_table = 'customers'
                and events.event_type in ('SALARY_STOPPED', 'BALANCE_DROP')
                and list_contains(?, xref.source_key)
            group by xref.source_key
            """,
            params=[list(judgeable)],
        ).fetchall()
    lead_days = [(judgeable[customer] - first).days for customer, first in rows if first < judgeable[customer]]
    # then most of them did, days before they left. (Was 0.75 of all churners when every one
    # stopped earning and drained exactly 30 days ahead; now signs grow gradually over 15-150
    # days, some keep their income to the end, and on this 70-day bank many began before its
    # first date, so the drop a rule compares with is not in the data: 10 of 15 on this bank.)
    assert len(judgeable) >= 10, "the shared bank plants too few churners to judge"
    assert len(lead_days) >= 0.6 * len(judgeable), (len(lead_days), len(judgeable))
    average = sum(lead_days) / len(lead_days)
    log.info("churners signalled: %d of %d, %.1f days ahead on average", len(lead_days), len(judgeable), average)
    assert average >= 5


def test_maturing_time_deposits_appear_exactly_the_notice_ahead(value_bank: Settings) -> None:
    notice = value_bank.td_maturity_notice_days
    with connect(value_bank) as con:
        # given every time deposit whose notice day falls on a delivered day with its balance
        expected = con.sql(
            f"""
            select accounts.account_id, accounts.maturity_date - {notice} as notice_date
            from marts.dim_account as accounts
            inner join marts.dim_product as products using (product_code)
            inner join marts.fct_account_balance_daily as balances
                on balances.account_id = accounts.account_id
                and balances.business_date = accounts.maturity_date - {notice}
            where products.product_type = 'TIME_DEPOSIT'
                and balances.business_date > (select min(business_date) from marts.fct_account_balance_daily)
            """
        ).fetchall()
        # when the events are read
        found = con.sql(
            "select account_id, event_date from marts.fct_customer_events where event_type = 'TD_MATURING'"
        ).fetchall()
    # then each has its event on that day, and none more than the notice ahead
    assert expected, "no time deposit matures inside the shared bank's history"
    assert set(expected) <= set(found)
    with connect(value_bank) as con:
        early = con.sql(
            "select count(*) from marts.fct_customer_events"
            f" where event_type = 'TD_MATURING' and baseline_value > {notice}"
        ).fetchone()[0]
    assert early == 0


def test_the_contact_rules_hold_over_the_whole_history(value_bank: Settings) -> None:
    gap, most = value_bank.lead_customer_gap_days, value_bank.lead_rm_max_open
    with connect(value_bank) as con:
        statuses = dict(con.sql("select status, count(*) from marts.fct_leads group by status").fetchall())
        # no customer has two leads (not suppressed) within the gap
        too_close = con.sql(
            f"""
            select count(*)
            from marts.fct_leads as first_lead
            inner join marts.fct_leads as next_lead
                on first_lead.customer_key = next_lead.customer_key
                and next_lead.created_date > first_lead.created_date
                and next_lead.created_date < first_lead.created_date + {gap}
            where first_lead.status <> 'SUPPRESSED' and next_lead.status <> 'SUPPRESSED'
            """
        ).fetchone()[0]
        # no RM holds more open leads than allowed on any day (a lead is open until its
        # outcome date, or the day after its due date: an upper bound of the rule's own count)
        most_open = con.sql(
            """
            with leads as (
                select rm_id, created_date,
                    case when status = 'OPEN' then date '9999-12-31'
                        when status = 'EXPIRED' then due_date + 1 else outcome_date end as closes
                from marts.fct_leads
                where status <> 'SUPPRESSED' and rm_id is not null
            ),
            days as (select distinct created_date as day from leads)
            select coalesce(max(n), 0) from (
                select leads.rm_id, days.day, count(*) as n
                from leads inner join days on leads.created_date <= days.day and days.day < leads.closes
                group by all
            )
            """
        ).fetchone()[0]
        # and customers with an open complaint get no lead that is not suppressed
        complaint_leads = con.sql(
            f"""
            select count(*)
            from marts.fct_leads as leads
            inner join marts.fct_calls as calls
                on leads.customer_key = calls.customer_key
                and calls.complaint_flag and calls.outcome <> 'RESOLVED'
                and leads.created_date >= calls.call_date
                and leads.created_date < calls.call_date + {value_bank.open_complaints_window_days}
            where leads.status <> 'SUPPRESSED'
            """
        ).fetchone()[0]
    log.info("leads by status: %s; most open leads of an RM on a day: %d", statuses, most_open)
    assert statuses.get("CONTACTED", 0) > 0 and statuses.get("EXPIRED", 0) > 0
    assert too_close == 0
    assert 0 < most_open <= most
    assert complaint_leads == 0


def test_rm_scorecards_add_up_to_the_bank(value_bank: Settings) -> None:
    with connect(value_bank) as con:
        differences = con.sql(
            """
            with scored as (
                select month_start, sum(contribution) as contribution, sum(aum) as aum
                from marts.fct_rm_scorecard_monthly group by month_start
            ),
            bank as (
                select month_start, sum(contribution) as contribution, sum(avg_liability_balance) as aum
                from marts.fct_customer_profitability_monthly group by month_start
            )
            select bank.month_start, bank.contribution - scored.contribution, bank.aum - scored.aum
            from bank full outer join scored using (month_start)
            where scored.contribution is null or bank.contribution is null
                or abs(bank.contribution - scored.contribution) > 0.01
                or abs(bank.aum - scored.aum) > 0.01
            """
        ).fetchall()
        ranked = con.sql(
            "select count(*), count(rank_in_branch) from marts.fct_rm_scorecard_monthly where rm_id is not null"
        ).fetchone()
    assert differences == []
    assert ranked[0] > 0 and ranked[0] == ranked[1]


def test_customers_on_the_do_not_contact_register_get_no_lead(value_bank: Settings, tmp_path: Path) -> None:
    # given two customers of the 2,000-customer bank with leads, and the bank's do-not-contact
    # register naming them by their core banking ids (and an id of no customer)
    with duckdb.connect(str(published_state_path(value_bank)), read_only=True) as con:
        chosen = con.sql(
            """
            select xref.source_key, leads.customer_key
            from marts.fct_leads as leads
            inner join intermediate.int_customer_xref as xref
                on leads.customer_key = xref.customer_key and xref.source_table = 'customers'
            where leads.status <> 'SUPPRESSED'
            group by all order by count(*) desc, 1 limit 2
            """
        ).fetchall()
    register = tmp_path / "do_not_contact.csv"
    register.write_text("customer_id\n" + "".join(f"{source_key}\n" for source_key, _ in chosen) + "C-NOBODY\n")
    settings = on_the_value_bank_lake(value_bank, tmp_path, do_not_contact_file=register)
    build = copy_of(published_state_path(value_bank), tmp_path / "register")
    # when the leads are built again
    outcome = dbt_on(settings, build, "run", "-s", "int_leads", "fct_leads", "--full-refresh")
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    # then every lead of theirs is suppressed for it, and the others still get leads
    with duckdb.connect(str(build), read_only=True) as con:
        leads = con.sql(
            "select customer_key in ? as registered, status, suppressed_reason, count(*) from marts.fct_leads"
            " group by all order by all",
            params=[[customer_key for _, customer_key in chosen]],
        ).fetchall()
    registered = {(status, reason) for on, status, reason, _ in leads if on}
    assert registered == {("SUPPRESSED", "DO_NOT_CONTACT")}
    assert {status for on, status, *_ in leads if not on} >= {"OPEN", "CONTACTED", "EXPIRED"}
    # and a register without its customer_id column stops the build, naming the file and the setting
    register.write_text("client\nC000001\n")
    outcome = dbt_on(settings, build, "run", "-s", "int_leads")
    assert outcome.returncode != 0
    assert f"{register.resolve()}: the do-not-contact register (setting do_not_contact_file) has no customer_id" in (
        " ".join(outcome.stdout.split())
    )


TEAM_SHARING_FROM = date(2026, 10, 1)
"""The day the shared bank's TM-NORTH team starts sharing its customers' credit (data: 2026-08-25 on)."""


def test_a_team_that_shares_its_customers_splits_their_credit_and_the_bank_still_adds_up(
    value_bank: Settings, tmp_path: Path
) -> None:
    # given the 2,000-customer bank's build, and two RMs of team TM-NORTH who share their customers'
    # credit 60/40 from October (setting rm_team_credit_shares; the feeds say nothing of shares)
    pair = {"RM0008": Decimal("0.6"), "RM0009": Decimal("0.4")}
    agreement = {"team_id": "TM-NORTH", "valid_from": TEAM_SHARING_FROM, "shares": pair}
    settings = on_the_value_bank_lake(value_bank, tmp_path, rm_team_credit_shares=[agreement])
    build = copy_of(published_state_path(value_bank), tmp_path / "team")
    # when the bridge, the scorecards and what stands on them are built and tested again
    outcome = dbt_on(settings, build, "build", "-s", "int_customer_rm_periods+")
    # then every test passed (the scorecards add up to the bank's accounts; a customer's shares on a
    # day add up to exactly 1)
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    with duckdb.connect(str(build), read_only=True) as con:
        con.execute(f"attach '{published_state_path(value_bank)}' as before (read_only)")
        # each customer of the pair: their own RM alone until October, both RMs at their shares after
        bridge = con.sql(
            """
            select customer_key, rm_id, valid_from, valid_to, credit_share
            from marts.bridge_customer_relationship_manager
            where customer_key in (
                select customer_key from before.marts.bridge_customer_relationship_manager
                where rm_id in ('RM0008', 'RM0009') and valid_to is null
            )
            order by customer_key, valid_from, rm_id
            """
        ).fetchall()
        # the months after: each member credited with their share of the pair's customers' month
        scorecards = con.sql(
            """
            with pair as (
                select month_start, sum(contribution) as contribution
                from before.marts.fct_rm_scorecard_monthly
                where rm_id in ('RM0008', 'RM0009') group by month_start
            )
            select scorecards.month_start, scorecards.rm_id, scorecards.contribution, pair.contribution
            from marts.fct_rm_scorecard_monthly as scorecards
            inner join pair using (month_start)
            where scorecards.rm_id in ('RM0008', 'RM0009')
            order by scorecards.month_start, scorecards.rm_id
            """
        ).fetchall()
        others = con.sql(
            """
            select count(*) from (
                select * exclude (rank_in_branch, rank_in_region) from marts.fct_rm_scorecard_monthly
                where rm_id not in ('RM0008', 'RM0009')
                except
                select * exclude (rank_in_branch, rank_in_region) from before.marts.fct_rm_scorecard_monthly
            )
            """
        ).fetchone()
    customers = {row[0] for row in bridge}
    assert customers  # (12 and 6 customers)
    for customer in customers:
        rows = [row[1:] for row in bridge if row[0] == customer]
        (own,) = {rm_id for rm_id, valid_from, *_ in rows if valid_from < TEAM_SHARING_FROM}
        assert rows == [
            (own, date(2026, 8, 25), TEAM_SHARING_FROM, Decimal(1)),
            *((rm_id, TEAM_SHARING_FROM, None, share) for rm_id, share in pair.items()),
        ]
    assert [(month, rm_id) for month, rm_id, *_ in scorecards] == [
        (date(2026, month, 1), rm_id) for month in (8, 9, 10, 11) for rm_id in pair
    ]
    for month, rm_id, contribution, of_the_pair in scorecards:
        if month >= TEAM_SHARING_FROM:
            assert abs(contribution - pair[rm_id] * of_the_pair) <= Decimal("0.01") * len(customers), (month, rm_id)
    assert scorecards[0][2] + scorecards[1][2] == scorecards[0][3]  # August: each their own customers
    assert others == (0,)


EVENT_TABLES = ("intermediate.int_customer_events", "marts.fct_customer_events")
"""The customer events' two tables: where the rules run, and the mart that copies its window."""


def poison(
    con: duckdb.DuckDBPyConnection, view: str, before: date, column: str = "business_date", after: date | None = None
) -> None:
    """Make reading a row of intermediate view or table `view` dated (`column`) before `before`
    (and after `after`, when given) an error."""
    columns = [row[0] for row in con.sql(f"describe intermediate.{view}").fetchall()]
    [(kind,)] = con.sql(
        "select table_type from information_schema.tables where table_schema = 'intermediate' and table_name = ?",
        params=[view],
    ).fetchall()
    # (a view poisoned before is guarded once more)
    names = {name for (name,) in con.sql("select table_name from information_schema.tables").fetchall()}
    whole = next(f"{view}_whole{n or ''}" for n in range(len(names) + 1) if f"{view}_whole{n or ''}" not in names)
    con.execute(f"alter {'view' if kind == 'VIEW' else 'table'} intermediate.{view} rename to {whole}")
    above = f" and {column} > date '{after.isoformat()}'" if after else ""
    guarded = ", ".join(
        f"case when {column} < date '{before.isoformat()}'{above} then error('read ' || {column}) else {name} end"
        f" as {name}"
        if name != column
        else name
        for name in columns
    )
    con.execute(f"create view intermediate.{view} as select {guarded} from intermediate.{whole}")


def redelivery_window(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The latest business date of the build open in `con`, and the first day a night that
    re-delivers its last ten days judges (redelivered_twins' window, before event_lookback_days):
    the earliest day a fact of those dates happened on."""
    (last,) = con.sql("select max(business_date) from intermediate.int_business_date_loads").fetchone()
    (window,) = con.sql(
        "select min(earliest_fact_date) from intermediate.int_business_date_loads where business_date > ?",
        params=[last - timedelta(days=10)],
    ).fetchone()
    return last, window


def redelivered_twins(
    settings: Settings,
    source: Path,
    tmp_path: Path,
    poison_before: Callable[[duckdb.DuckDBPyConnection, date], None],
) -> tuple[dict[str, Path], date]:
    """Two copies of the build `source`, "incremental" and "full", in which the last ten days look
    re-delivered by a load newer than the marts' watermark ("Z-redelivery"); in the incremental
    one, `poison_before(con, window)` makes reading what lies before the night's window (the
    earliest day a fact of the re-delivered days happened on, less event_lookback_days) an error.
    Returns the copies and the window."""
    builds = {name: copy_of(source, tmp_path / name) for name in ("incremental", "full")}
    for build in builds.values():
        with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
            (last,) = con.sql("select max(business_date) from intermediate.int_business_date_loads").fetchone()
            redelivered = f"business_date > date '{(last - timedelta(days=10)).isoformat()}'"
            redeliver(con, redelivered, "Z-redelivery")
            # (the earliest day a fact of those dates happened on: a late web event's, a reversed posting's)
            (earliest,) = con.sql(
                f"select min(earliest_fact_date) from intermediate.int_business_date_loads where {redelivered}"
            ).fetchone()
            window = earliest - timedelta(days=settings.event_lookback_days)
            if build == builds["incremental"]:
                poison_before(con, window)
    return builds, window


def built_both_ways(settings: Settings, builds: dict[str, Path], *models: str) -> None:
    """`models` built incrementally in the incremental copy and by a full refresh in the other."""
    for name, extra in (("incremental", ()), ("full", ("--full-refresh",))):
        outcome = dbt_on(settings, builds[name], "run", "-s", *models, *extra)
        assert outcome.returncode == 0, outcome.stdout[-3000:]


def built_against_a_full_refresh(settings: Settings, build: Path, tmp_path: Path, *models: str) -> Path:
    """`models` built as a night in `build` and by a full refresh in a copy of it made first
    (`tmp_path`/full, returned)."""
    full = copy_of(build, tmp_path / "full")
    built_both_ways(settings, {"incremental": build, "full": full}, *models)
    return full


def hidden(con: duckdb.DuckDBPyConnection, relation: str, column: str, days: list[date]) -> None:
    """Schema-qualified view or table `relation` without its rows dated (`column`) on `days`, as if
    they had never been delivered: swapped for a view over it that leaves them out."""
    schema, name = relation.split(".")
    [(kind,)] = con.sql(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        params=[schema, name],
    ).fetchall()
    con.execute(f"alter {'view' if kind == 'VIEW' else 'table'} {relation} rename to {name}_delivered")
    dated = ", ".join(f"date {literal(day.isoformat())}" for day in days)
    con.execute(f"create view {relation} as select * from {schema}.{name}_delivered where {column} not in ({dated})")


def test_an_incremental_night_finds_the_events_a_full_refresh_finds(value_bank: Settings, tmp_path: Path) -> None:
    """Each rule reads only the dates the night needs (its window less its own look-back:
    macros/crm_events.sql, customer_events_since); the mart it builds is row for row the one a
    full refresh builds from the whole history. A large flow's baseline of 20 days, so that the
    flows' reads end inside the bank's 70 days: what a rule returns before the window, from part
    of a baseline, is never written, not even for a customer with no event yet. And a silence
    right before the window: a system may deliver nothing for a date (the agreement: a weekend, a
    holiday), or an empty file. The rules that compare a day with the delivered day before
    (balance drop, dormancy, the loans) compare the first day after it with the last day before
    it, so the night starts its window the day after that day (customer_events_window_start): a
    drop that already held is not an event again. A notice of ten days for maturing deposits, so
    that the balances between those the balance drop compares with and those they read are a gap
    the night must not read."""
    settings = on_the_value_bank_lake(
        value_bank, tmp_path, large_flow_baseline_days=20, large_flow_min_history_days=5, td_maturity_notice_days=10
    )
    base = copy_of(published_state_path(value_bank), tmp_path / "base")
    with duckdb.connect(str(base), config=settings.duckdb_config()) as con:
        last, window = redelivery_window(con)
        # given the bank's build in which the core system delivered no balances, loan states or
        # account snapshots on the two days before the window of a night re-delivering the last
        # ten days (postings, calls and web events still came)
        silent = [window - timedelta(days=n) for n in (2, 1)]
        hidden(con, "intermediate.int_account_balances_keyed", "business_date", silent)
        hidden(con, "intermediate.int_loans_provisioned", "business_date", silent)
        hidden(con, "staging.stg_core_banking__accounts", "snapshot_date", silent)
        con.execute(
            "update intermediate.int_business_date_loads"
            " set has_balances = false, has_loans = false, has_account_snapshots = false"
            " where business_date between ? and ?",
            [silent[0], silent[-1]],
        )
        # (customers whose deposits dropped by the rule both on the last day before the silence
        # and on the window's first: a night comparing the window's first day with nothing would
        # find their drop again)
        before = silent[0] - timedelta(days=1)
        (dropped_throughout,) = con.sql(
            "select count(*) from (select judged.customer_key from intermediate.int_customer_deposits_daily as judged"
            " inner join intermediate.int_customer_deposits_daily as earlier"
            " on judged.customer_key = earlier.customer_key"
            f" and earlier.business_date = judged.business_date - {settings.balance_drop_window_days}"
            " where judged.business_date in (?, ?) and earlier.deposit_balance >= ?"
            " and earlier.deposit_balance - judged.deposit_balance >= ? * earlier.deposit_balance"
            " group by judged.customer_key having count(*) = 2)",
            params=[before, window, settings.balance_drop_min_baseline, settings.balance_drop_share],
        ).fetchone()
    assert dropped_throughout > 0
    # (the events as a full refresh finds them at that baseline, after that silence)
    outcome = dbt_on(settings, base, "run", "-s", *EVENT_MODELS, "--full-refresh")
    assert outcome.returncode == 0, outcome.stdout[-3000:]

    def poison_before(con: duckdb.DuckDBPyConnection, window: date) -> None:
        # the night judges from the day after the last one before the silence: reading a balance
        # or a loan state before what that day needs fails the build; so does a balance between
        # the days the balance drop compares the window's with (less balance_drop_window_days) and
        # the first the maturing deposits read (the notice's days before the window), and a
        # posting before the window less the flows' baseline
        starts = before + timedelta(days=1)
        compared_until = last - timedelta(days=settings.balance_drop_window_days)
        read_again_from = starts - timedelta(days=settings.td_maturity_notice_days)
        assert compared_until < read_again_from - timedelta(days=1)  # (a gap to poison)
        poison(con, "int_account_balances_keyed", read_again_from, after=compared_until)
        poison(con, "int_account_balances_keyed", before - timedelta(days=settings.balance_drop_window_days))
        poison(con, "int_loans_provisioned", before)
        poison(
            con, "int_transactions_flagged", starts - timedelta(days=settings.large_flow_baseline_days), "posting_date"
        )

    # and two copies of that build whose last ten days look re-delivered
    builds, _ = redelivered_twins(settings, base, tmp_path, poison_before)
    # when one is built incrementally and the other by a full refresh
    built_both_ways(settings, builds, *EVENT_MODELS)
    # then the events are the same, row for row, and the night did replace its window
    with duckdb.connect(str(builds["incremental"]), read_only=True) as con:
        con.execute(f"attach '{builds['full']}' as full_build (read_only)")
        only = rows_only_in_one(con, "marts.fct_customer_events")
        replaced = con.sql(
            "select count(*) filter (where detected_in_run = 'Z-redelivery'), count(*) from marts.fct_customer_events"
        ).fetchone()
    assert only == [0, 0]
    assert 0 < replaced[0] < replaced[1]


def test_a_night_reads_the_calls_delivered_as_early_as_the_gate_admits(value_bank: Settings, tmp_path: Path) -> None:
    """A night keys the calls it judges by the business date that delivered them too, from the
    feed gate's impossible_dates slack before its window (customer_events_delivered_since): the
    gate refuses a call that started later than that after its delivery's business date, so no
    call it admitted is left out. A bank that widens the slack widens the night's read."""
    # given a bank whose gate admits a call that started five days after the date delivering it
    # (more than a silent weekend before a night's window moves its start back)
    gates = gates_toml(
        tmp_path / "gates.toml", ('severity = "blocking"\nslack_days = 1', 'severity = "blocking"\nslack_days = 5')
    )
    settings = on_the_value_bank_lake(value_bank, tmp_path, gates_config=gates)
    base = copy_of(published_state_path(value_bank), tmp_path / "base")
    with duckdb.connect(str(base), config=settings.duckdb_config()) as con:
        _, window = redelivery_window(con)
        # and the calls of the first day of a night re-delivering the last ten days delivered so
        con.execute("alter view intermediate.int_calls_keyed rename to int_calls_keyed_delivered")
        con.execute(
            "create view intermediate.int_calls_keyed as select * replace ("
            f" case when call_date = date {literal(window.isoformat())} then call_date - 5 else business_date end"
            " as business_date) from intermediate.int_calls_keyed_delivered"
        )
        (complaints,) = con.sql(
            "select count(distinct customer_key) from intermediate.int_calls_keyed"
            " where complaint_flag and customer_key is not null and call_date = ?",
            params=[window],
        ).fetchone()
    assert complaints > 0
    outcome = dbt_on(settings, base, "run", "-s", *EVENT_MODELS, "--full-refresh")
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    builds, night_window = redelivered_twins(settings, base, tmp_path, lambda con, window: None)
    assert night_window == window
    # when one copy is built incrementally and the other by a full refresh
    built_both_ways(settings, builds, *EVENT_MODELS)
    # then the night found that day's complaints, as the full refresh did
    with duckdb.connect(str(builds["incremental"]), read_only=True) as con:
        con.execute(f"attach '{builds['full']}' as full_build (read_only)")
        only = rows_only_in_one(con, "marts.fct_customer_events")
        (found,) = con.sql(
            "select count(*) from marts.fct_customer_events where event_type = 'NEW_COMPLAINT' and event_date = ?",
            params=[window],
        ).fetchone()
    assert only == [0, 0]
    assert found == complaints


def test_an_incremental_night_finds_the_leads_a_full_refresh_finds(value_bank: Settings, tmp_path: Path) -> None:
    """int_leads resumes the contact rules at the night's window from the state the earlier rows
    leave (models/crm/leads.py, resume_leads): the leads are row for row those of a full refresh,
    and the night reads no candidate before its window, nor a contact or sale before the earliest
    lead it judges again (none older than the customer gap or a lead's due days before the window),
    nor a call before the earliest complaint still open at the window. A window of ten days and
    complaints open 40 days (longer than the customer gap: only the calls are read that far back), so
    that the facts' look-back ends within the bank's 70 days."""
    # given the 2,000-customer bank's build with its leads at an RM capacity of 2, so that
    # candidates wait for their RM (the state a night must resume from)
    settings = on_the_value_bank_lake(
        value_bank, tmp_path, lead_rm_max_open=2, event_lookback_days=10, open_complaints_window_days=40
    )
    base = copy_of(published_state_path(value_bank), tmp_path / "base")
    # (and the facts' view again: the bank built it with complaints open 90 days)
    outcome = dbt_on(settings, base, "run", "-s", "int_lead_customer_facts", "int_leads", "--full-refresh")
    assert outcome.returncode == 0, outcome.stdout[-3000:]

    def poison_before(con: duckdb.DuckDBPyConnection, window: date) -> None:
        poison(con, "int_customer_events", window, column="event_date")  # reading an event before the window fails
        # and reading a posting before the facts' earliest day, or a call before the earliest
        # complaint still open at the window
        earliest = window - timedelta(days=max(settings.lead_customer_gap_days, settings.lead_due_days))
        complained = window - timedelta(days=settings.open_complaints_window_days - 1)
        assert complained < earliest
        poison(con, "int_calls_keyed", complained, column="call_date")
        poison(con, "int_transactions_flagged", earliest, column="posting_date")

    # and two copies of it whose last ten days look re-delivered
    builds, window = redelivered_twins(settings, base, tmp_path, poison_before)
    # when one is built incrementally and the other by a full refresh
    built_both_ways(settings, builds, "int_leads", "fct_leads")
    # then the leads, and the candidates kept waiting, are the same row for row
    with duckdb.connect(str(builds["incremental"]), read_only=True) as con:
        con.execute(f"attach '{builds['full']}' as full_build (read_only)")
        assert rows_only_in_one(con, "marts.fct_leads") == [0, 0]
        assert rows_only_in_one(con, "intermediate.int_leads", "* exclude (as_of_load_id)") == [0, 0]
        counts = con.sql(
            "select count(*) filter (where status = 'WAITING'), count(*) filter (where created_date < ?),"
            " count(*) filter (where created_date >= ?) from intermediate.int_leads",
            params=[window, window],
        ).fetchone()
    # (candidates waited, and the night kept leads before its window and made some in it)
    assert all(counts), counts


DATED_LOADS = """
    select business_date, max(_load_id) as load_id from (
        select business_date, _load_id from staging.stg_core_banking__balances
        union all select business_date, _load_id from staging.stg_core_banking__transactions
        union all select business_date, _load_id from staging.stg_core_banking__loans
        union all select snapshot_date, _load_id from staging.stg_core_banking__accounts
        union all select business_date, _load_id from staging.stg_call_center__calls
        union all select received_date, _load_id from staging.stg_online_banking__events
    ) group by business_date
"""
"""The latest load of each business date as int_business_date_loads found it when it was a view
scanning every row of every dated feed: what the incremental table must still give."""


REACHED = "earliest_fact_date, has_balances, has_loans, has_account_snapshots"
"""What int_business_date_loads says of each date beside its latest load: the day its facts reach
back to, the core system's feeds it holds."""


def test_the_latest_load_of_each_date_is_kept_without_rereading_older_loads(
    value_bank: Settings, tmp_path: Path
) -> None:
    """int_business_date_loads is an incremental table: a build reads only the lake rows of loads
    newer than those it holds, and gives the rows the whole-lake scan gives."""
    # given a copy of the 2,000-customer bank's build, whose table looks built by an earlier
    # night: its last ten dates not delivered yet, the others by an older load
    settings = on_the_value_bank_lake(value_bank, tmp_path)
    build = copy_of(published_state_path(value_bank), tmp_path / "build")
    loads = "intermediate.int_business_date_loads"
    with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
        expected = sorted(con.sql(DATED_LOADS).fetchall())
        assert sorted(con.sql(f"select business_date, load_id from {loads}").fetchall()) == expected
        reached = con.sql(f"select business_date, {REACHED} from {loads}").fetchall()
        (last,) = con.sql(f"select max(business_date) from {loads}").fetchone()
        con.execute(f"delete from {loads} where business_date > ?", [last - timedelta(days=10)])
        con.execute(f"update {loads} set load_id = '0-older'")
    # when the night builds it
    outcome = dbt_on(settings, build, "run", "-s", "int_business_date_loads")
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    # then it holds every date with its latest load, as the whole-lake scan does, and the day the
    # date's facts reach back to and the feeds it holds, as the full build found them
    with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
        assert sorted(con.sql(f"select business_date, load_id from {loads}").fetchall()) == expected
        assert sorted(con.sql(f"select business_date, {REACHED} from {loads}").fetchall()) == sorted(reached)
        # and when a further night brings no newer load, reading any lake row of the loads it
        # holds fails the build: it reads none
        (newest,) = con.sql(f"select max(load_id) from {loads}").fetchone()
        for view in ("stg_core_banking__balances", "stg_core_banking__transactions", "stg_online_banking__events"):
            columns = [row[0] for row in con.sql(f"describe staging.{view}").fetchall()]
            con.execute(f"alter view staging.{view} rename to {view}_whole")
            guarded = ", ".join(
                column
                if column == "_load_id"
                else f"case when _load_id <= '{newest}' then error('read ' || _load_id) else {column} end as {column}"
                for column in columns
            )
            con.execute(f"create view staging.{view} as select {guarded} from staging.{view}_whole")
    outcome = dbt_on(settings, build, "run", "-s", "int_business_date_loads")
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    with duckdb.connect(str(build), read_only=True) as con:
        assert sorted(con.sql(f"select business_date, load_id from {loads}").fetchall()) == expected


def mirrored(source: Path, target: Path, left_out: set[Path]) -> None:
    """`target` a tree of links to `source`'s entries, with real folders along the relative paths
    `left_out`, which are not there (the caller writes them): a lake to change in places without
    copying, or writing into, the shared one."""
    target.mkdir(parents=True)
    for entry in source.iterdir():
        name = Path(entry.name)
        inside = {path.relative_to(name) for path in left_out if path != name and path.parts[0] == entry.name}
        if name in left_out:
            continue
        if inside:
            mirrored(entry, target / name, inside)
        else:
            (target / name).symlink_to(entry, target_is_directory=entry.is_dir())


def redelivered_lake(
    lake: Path, data_dir: Path, partition: Path, load_id: str, kept: str, added: str | None = None
) -> Settings:
    """A data dir whose lake links `lake`'s files but `partition` (`<system>/<feed>/business_date=D`),
    re-delivered by load `load_id` (newer than every load of the lake: 'Z-...') with the rows that
    SQL condition `kept` keeps ('false': none, an empty file of the feed's columns) and those of
    the query `added` (over `{read}`, the partition as it was), and a LOADED row of that load in
    the load audit: a corrected delivery of one feed and date."""
    loads = Path("_audit", "loads")
    mirrored(lake, data_dir / "lake", {partition, loads})
    settings = load_settings(data_dir=data_dir)
    mirrored(lake / loads, settings.lake_dir / loads, set())
    (settings.lake_dir / partition).mkdir()
    system, feed, dated = partition.parts
    read = f"read_parquet({str(lake / partition / '*.parquet')!r}, hive_partitioning = false)"
    with duckdb.connect() as con:
        rows_of = f"select * from {read} where {kept}" + (f" union all ({added.format(read=read)})" if added else "")
        con.execute(
            f"copy (select * replace ({literal(load_id)} as _load_id) from ({rows_of}))"
            f" to {str(settings.lake_dir / partition / 'part-0.parquet')!r} (format parquet)"
        )
        (rows,) = con.sql(f"select count(*) from ({rows_of})").fetchone()
        con.execute(
            f"copy (select {literal(load_id)} as load_id, {literal(system)} as system, {literal(feed)} as feed,"
            f" date {literal(dated.split('=', 1)[1])} as business_date, {rows}::bigint as rows_loaded,"
            " 'LOADED' as outcome)"
            f" to {str(settings.lake_dir / loads / f'{load_id}.parquet')!r} (format parquet)"
        )
    return settings


def test_a_redelivery_without_rows_withdraws_the_events_of_its_date(value_bank: Settings, tmp_path: Path) -> None:
    """A corrected delivery that brings no row of a date (here the call centre's, its calls file
    empty) carries its load on no row, but the load audit records it: int_business_date_loads
    gives the date that load, so the events' window reaches the date and the night withdraws the
    complaints it no longer supports, as a full refresh would."""
    # given the 2,000-customer bank's build and the latest date but one with complaint events
    build = copy_of(published_state_path(value_bank), tmp_path / "build")
    with duckdb.connect(str(build), read_only=True) as con:
        (last,) = con.sql("select max(business_date) from intermediate.int_business_date_loads").fetchone()
        (day,) = con.sql(
            "select max(event_date) from marts.fct_customer_events where event_type = 'NEW_COMPLAINT'"
            " and event_date < ?",
            params=[last],
        ).fetchone()
    # and a lake in which the call centre re-delivered that date with an empty calls file, by a
    # load newer than any the build saw: the date's partition is empty, the audit says LOADED
    settings = redelivered_lake(
        value_bank.lake_dir,
        tmp_path / "data",
        Path("call_center", "calls", f"business_date={day}"),
        "Z-withdrawal",
        "false",
    )
    # when a night builds the latest loads of the dates and the events, and a copy of the build
    # rebuilds them from the whole history (a full refresh)
    full = built_against_a_full_refresh(settings, build, tmp_path, "int_business_date_loads", *EVENT_MODELS)
    # then the date has the re-delivery as its latest load, its events were detected again in it,
    # its complaints are gone, and the mart holds what the rules find over the whole history
    with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
        con.execute(f"attach '{full}' as full_build (read_only)")
        assert con.sql(
            "select load_id from intermediate.int_business_date_loads where business_date = ?", params=[day]
        ).fetchall() == [("Z-withdrawal",)]
        on_day = con.sql(
            "select event_type, detected_in_run from marts.fct_customer_events where event_date = ?", params=[day]
        ).fetchall()
        assert on_day and {run for _, run in on_day} == {"Z-withdrawal"}
        assert "NEW_COMPLAINT" not in {event_type for event_type, _ in on_day}
        only = rows_only_in_one(con, "marts.fct_customer_events")
    assert only == [0, 0]


def test_a_reversal_of_an_old_posting_withdraws_the_event_of_its_day(value_bank: Settings, tmp_path: Path) -> None:
    """A reversal can cancel a posting of any earlier date (the feed agreement). The night that
    loads it judges the events again from the reversed posting's day (int_business_date_loads'
    earliest_fact_date, the events' window), further back than the night's other facts reach
    (its date, its late web events): the large flow the reversal cancels is no longer an event,
    as a full refresh finds."""
    # given the 2,000-customer bank's build, and its earliest large flow made of one posting
    # before the earliest day a fact of the last date happened on
    build = copy_of(published_state_path(value_bank), tmp_path / "build")
    with duckdb.connect(str(build), read_only=True) as con:
        (last, reached) = con.sql(
            "select business_date, earliest_fact_date from intermediate.int_business_date_loads"
            " order by business_date desc limit 1"
        ).fetchone()
        (customer, event_type, day, posting) = con.sql(
            "select events.customer_key, events.event_type, events.event_date, min(postings.txn_id)"
            " from marts.fct_customer_events as events inner join marts.fct_transactions as postings"
            " on events.customer_key = postings.customer_key and events.event_date = postings.posting_date"
            " where events.event_date < ? and postings.channel <> 'SYSTEM' and not postings.is_reversed and ("
            " (events.event_type = 'LARGE_DEPOSIT' and postings.txn_type in ('DEPOSIT', 'TRANSFER_IN'))"
            " or (events.event_type = 'LARGE_WITHDRAWAL' and postings.txn_type in ('WITHDRAWAL', 'TRANSFER_OUT')))"
            " group by all having count(*) = 1 order by events.event_date limit 1",
            params=[reached],
        ).fetchone()
    # and a corrected delivery of the last date that adds a reversal of that posting
    settings = redelivered_lake(
        value_bank.lake_dir,
        tmp_path / "data",
        Path("core_banking", "transactions", f"business_date={last}"),
        "Z-reversal",
        "true",
        added=(
            "select * replace ('TX-REVERSAL-OF-OLD' as txn_id, 'REVERSAL' as txn_type,"
            f" {literal(posting)} as reversed_txn_id) from {{read}} limit 1"
        ),
    )
    # when a night builds the latest loads of the dates, the reversed postings (a table) and the
    # events, and a copy of the build rebuilds them from the whole history (a full refresh)
    full = built_against_a_full_refresh(
        settings, build, tmp_path, "int_business_date_loads", "int_transactions_reversed", *EVENT_MODELS
    )
    # then the last date reaches back to the reversed posting's day, that day's large deposit is
    # gone, and the mart holds what the rules find over the whole history
    with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
        con.execute(f"attach '{full}' as full_build (read_only)")
        assert con.sql(
            "select load_id, earliest_fact_date from intermediate.int_business_date_loads where business_date = ?",
            params=[last],
        ).fetchall() == [("Z-reversal", day)]
        assert not con.sql(
            "select * from marts.fct_customer_events where event_type = ? and customer_key = ? and event_date = ?",
            params=[event_type, customer, day],
        ).fetchall()
        only = rows_only_in_one(con, "marts.fct_customer_events")
    assert only == [0, 0]


def test_a_corrected_delivery_withdraws_salary_credits_from_their_history(value_bank: Settings, tmp_path: Path) -> None:
    """int_salary_credits, SALARY_STOPPED's history, is a table a night extends from its restart
    (strategy replace_tail): a corrected delivery of the core system, newer than the table's
    watermark, that takes a date's salary credits back replaces that date and every later one,
    as a full refresh would, and leaves the dates before it alone."""
    # given the 2,000-customer bank's build, and its latest pay day before the last date
    build = copy_of(published_state_path(value_bank), tmp_path / "build")
    credits = "select business_date, txn_id from intermediate.int_salary_credits where txn_id is not null"
    with duckdb.connect(str(build), read_only=True) as con:
        before = set(con.sql(credits).fetchall())
        (last,) = con.sql("select max(business_date) from intermediate.int_salary_credits").fetchone()
    day = max(business_date for business_date, _ in before if business_date < last)
    # and a lake in which the core system re-delivered that date without its salary credits, by a
    # load newer than any the build saw
    settings = redelivered_lake(
        value_bank.lake_dir,
        tmp_path / "data",
        Path("core_banking", "transactions", f"business_date={day}"),
        "Z-correction",
        "txn_type <> 'SALARY'",
    )
    # when a night builds the credits, and a copy of the build rebuilds them whole
    full = built_against_a_full_refresh(settings, build, tmp_path, "int_salary_credits")
    # then the date's credits are gone (`day` had some), every other credit stays, and the table
    # is the full refresh's row for row (lineage aside: the restart and the watermark each row
    # was built with)
    with duckdb.connect(str(build), read_only=True) as con:
        con.execute(f"attach '{full}' as full_build (read_only)")
        after = set(con.sql(credits).fetchall())
        only = rows_only_in_one(con, "intermediate.int_salary_credits", "* exclude (rebuilt_from, as_of_load_id)")
        restarted = con.sql(
            "select min(rebuilt_from) from intermediate.int_salary_credits where business_date >= ?", params=[day]
        ).fetchone()[0]
    assert after == {(business_date, txn) for business_date, txn in before if business_date != day}
    assert only == [0, 0]
    assert restarted == day


def test_a_new_load_replaces_the_events_of_its_window_only(published_bank: PublishedBank, tmp_path: Path) -> None:
    """The events' incremental window (macros/crm_events.sql) on a real build: a load newer than
    the watermark that re-delivers a date replaces the events from the earliest day a fact of
    that date happened on (an event it no longer supports is withdrawn, the others come back
    once, with the new run), and leaves the days before it alone, except for a re-keyed
    customer, whose events move to the new key. So in both tables of the events:
    int_customer_events, where the rules run, and the mart that copies its window."""
    # given a copy of the published bank, whose events know no lookback
    settings = published_bank.copy(tmp_path / "data", event_lookback_days=0)
    state = published_state_path(settings)  # the whole build: readers' file holds no intermediate views
    con = duckdb.connect(str(state), config=settings.duckdb_config())  # its views name the lake relatively
    try:
        before = con.sql("select * from marts.fct_customer_events order by event_id").fetchall()
        assert before == con.sql("select * from intermediate.int_customer_events order by event_id").fetchall()
        # and a re-delivery of the latest date with events, newer than every load the tables saw,
        # whose facts all happened on that date (no late web event, no reversal of an earlier day:
        # the bank's few dates hold events on two only), so that the window is the date itself
        last = max(row[3] for row in before)
        con.execute(
            "update intermediate.int_business_date_loads set earliest_fact_date = business_date"
            " where business_date = ?",
            [last],
        )
        redeliver(con, f"business_date = date '{last.isoformat()}'", "Z-redelivery")
        # and two events no rule supports: one on the re-delivered date, one before it
        key = con.sql("select customer_key from marts.dim_customer limit 1").fetchone()[0]
        # and a customer with events before that date whom identity resolution has re-keyed since
        # those events were built (the tables still hold them under the old key)
        rekeyed = con.sql(
            "select customer_key from marts.fct_customer_events where event_date < ? order by event_id limit 1",
            params=[last],
        ).fetchone()[0]
        for table in EVENT_TABLES:
            con.execute(
                f"update {table} set customer_key = 'old-key-of-' || customer_key where customer_key = ?", [rekeyed]
            )
            for event_id, day in (("phantom-now", last), ("phantom-before", last - timedelta(days=1))):
                con.execute(
                    f"insert into {table} values (?, ?, null, ?, 'NEW_COMPLAINT', 3, 1, null, '0')",
                    [event_id, key, day],
                )
    finally:
        con.close()
    # when the events are built incrementally
    outcome = dbt_on(settings, state, "run", "-s", "int_customer_events", "fct_customer_events")
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    # then, in both tables
    with duckdb.connect(str(state), read_only=True) as con:
        tables = {table: con.sql(f"select * from {table} order by event_id").fetchall() for table in EVENT_TABLES}
    assert tables["marts.fct_customer_events"] == tables["intermediate.int_customer_events"]
    after = tables["marts.fct_customer_events"]
    ids = [row[0] for row in after]
    assert len(ids) == len(set(ids))
    assert "phantom-now" not in ids  # withdrawn: the re-delivered date does not support it
    assert "phantom-before" in ids  # outside the window: untouched
    on_last = {row[0]: row for row in after if row[3] >= last}
    assert on_last
    assert {row[0] for row in before if row[3] >= last} == set(on_last)
    assert {row[8] for row in on_last.values()} == {"Z-redelivery"}
    assert [row for row in before if row[3] < last] == [
        row for row in after if row[3] < last and row[0] != "phantom-before"
    ]
    # the re-keyed customer's events are back under the current key, the old key is gone
    assert not [row for row in after if row[1].startswith("old-key-of-")]
    assert any(row[1] == rekeyed for row in after)


def test_the_rm_workbench_notebook_runs(value_bank: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    from bankdw.config import PROJECT_ROOT

    # given the shared bank's warehouse and its headline figures
    with connect(value_bank) as con:
        n_events = con.sql("select count(*) from marts.fct_customer_events").fetchone()[0]
        n_leads = con.sql("select count(*) from marts.fct_leads").fetchone()[0]
    # when the notebook runs top to bottom against it
    monkeypatch.setenv("BANKDW_WAREHOUSE", str(value_bank.warehouse_path))
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "rm_workbench.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    # then it shows the same figures, an RM's leads and the leaderboard
    outputs = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in notebook.cells
        for o in c.get("outputs", [])
    )
    assert f"n_events={n_events} n_leads={n_leads}" in outputs
    assert "rm=None" not in outputs
    assert "n_rms=0" not in outputs
