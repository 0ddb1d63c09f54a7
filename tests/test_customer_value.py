"""Who creates value: the value marts on simulated banks, against the simulator's answer key.

The rules themselves (tiers, classes, RFM scores and segments, migration, income bands) are
dbt unit tests with small inline fixtures (`dbt_project/models/intermediate/value/` and
`intermediate/customers/`), run by every dbt build. Here the marts are checked on data:

- a bank of 2,000 customers over 70 days (25 August to 2 November 2026, so September and
  October are complete months), simulated and loaded by the real pipeline once per session
  (`value_bank`, about six minutes), for what needs thousands of customers: the Pareto curve,
  affluent and loyal customers in tier A, planted churners before they leave, BZ;
- copies of that bank's build for the value chain's incremental nights (a night that changes
  nothing before the current month, then a late delivery that changes September), each
  against a full refresh of the same inputs;
- the shared `published_nights` (tests/nights.py: the 150-customer bank's next two nights) for
  the household key, which needs a second nightly build (one member joins a household and
  another leaves it), and a third, incremental one for the monthly activity kept by month.

The simulator's answer key: `_truth/churners.csv` names the planted churners; who is affluent
(income of 400,000 or more, or chosen at random) and how long each customer has banked here
are the simulator's own population, rebuilt from the same seed (`simulator.population`), since
`_truth/` does not list them.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from bankdw.config import Settings
from bankdw.publish import published_state_path
from bench.bench_value import VALUE_CHAIN, late_delivery
from models.value.households import households
from tests.conftest import VALUE_BANK, dbt_on, on_the_value_bank_lake
from tests.nights import NEWCOMER, Nights

LAST_COMPLETE_MONTH = date(2026, 10, 1)
log = logging.getLogger(__name__)
SEPTEMBER_END = date(2026, 9, 30)


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def simulated_population(settings: Settings) -> pa.Table:
    """The simulator's own view of every core customer record: affluent, loyal, churner."""
    from simulator import SimulationConfig
    from simulator.days import epoch_day
    from simulator.population import build_customers, relationship_managers

    config = SimulationConfig(out=settings.landing_dir, **VALUE_BANK)  # type: ignore[arg-type]
    start = epoch_day(config.start)
    people = build_customers(config, relationship_managers(config.seed, start))
    # loyal: a customer of five years or more whose salary or pension is paid here, who is
    # neither dormant nor leaving
    loyal = (people.onboard_day <= start - 5 * 365) & people.employed & ~people.dormant & ~people.churner
    return pa.table(
        {
            "customer_id": people.customer_id,
            "affluent": pa.array(np.asarray(people.affluent)),
            "loyal": pa.array(np.asarray(loyal)),
        }
    )


def churners(settings: Settings) -> pa.Table:
    with (settings.root / "_truth" / "churners.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return pa.table(
        {
            "customer_id": [r["customer_id"] for r in rows],
            "left_on": [date.fromisoformat(r["left_on"]) for r in rows],
            "drain_from": [date.fromisoformat(r["drain_from"]) for r in rows],
        }
    )


def test_affluent_and_loyal_customers_land_in_a_far_more_often(value_bank: Settings) -> None:
    # given the simulator's affluent and loyal customers, by unified customer
    with connect(value_bank) as con:
        con.register("population", simulated_population(value_bank))
        # when their tiers in the last complete month are counted
        rates = dict(
            con.sql(
                """
                with by_customer as (
                    select xref.customer_key, bool_or(population.affluent and population.loyal) as affluent_and_loyal
                    from population
                    inner join marts.customer_xref as xref
                        on xref.source_table = 'customers' and xref.source_key = population.customer_id
                    group by xref.customer_key
                )
                select by_customer.affluent_and_loyal, avg(case when value.value_tier = 'A' then 1 else 0 end)
                from marts.fct_customer_value_monthly as value
                inner join by_customer on value.customer_key = by_customer.customer_key
                where value.month_start = ?
                group by all
                """,
                params=[LAST_COMPLETE_MONTH],
            ).fetchall()
        )
    # then they are in A far more often than the others (measured: 33% against 14%)
    log.warning("tier A, October 2026: affluent and loyal %.1f%%, others %.1f%%", 100 * rates[True], 100 * rates[False])
    assert rates[True] >= 2 * rates[False]
    assert rates[True] >= 0.25


def test_planted_churners_fall_low_before_they_leave(value_bank: Settings) -> None:
    # given the planted churners who left in October and whose warning signs (docs/simulator.md:
    # money leaving, spending falling, growing to the day they leave) had begun a month before
    # their last month end (silent churners give no sign to see), and that month end
    with connect(value_bank) as con:
        con.register("churners", churners(value_bank))
        shares = {
            is_churner: (at_risk, low_tier, n)
            for is_churner, at_risk, low_tier, n in con.sql(
                """
                with churner_keys as (
                    select xref.customer_key, min(churners.left_on) as left_on
                    from churners
                    inner join marts.customer_xref as xref
                        on xref.source_table = 'customers' and xref.source_key = churners.customer_id
                    where churners.drain_from <= ? - interval 30 day
                    group by xref.customer_key
                )
                select
                    churner_keys.customer_key is not null as is_churner,
                    avg(case when rfm.rfm_segment in ('AT_RISK', 'HIBERNATING') then 1 else 0 end),
                    avg(case when value.value_tier in ('D', 'INACTIVE') then 1 else 0 end),
                    count(*)
                from marts.fct_customer_value_monthly as value
                inner join marts.fct_customer_rfm_monthly as rfm
                    on value.customer_key = rfm.customer_key and value.month_start = rfm.month_start
                left join churner_keys on value.customer_key = churner_keys.customer_key
                where
                    value.reference_date = ?
                    and value.value_tier <> 'LAPSED'
                    and (churner_keys.left_on is null or churner_keys.left_on > value.reference_date)
                group by all
                """,
                params=[SEPTEMBER_END, SEPTEMBER_END],
            ).fetchall()
        }
    log.warning(
        "30 September, before leaving in October: %d churners, AT_RISK or HIBERNATING %.1f%% (others %.1f%%), "
        "tier D or INACTIVE %.1f%% (others %.1f%%)",
        shares[True][2],
        100 * shares[True][0],
        100 * shares[False][0],
        100 * shares[True][1],
        100 * shares[False][1],
    )
    # then, the month end before they left, they are in tier D or INACTIVE more often than the
    # customers who stay (measured: 56% of 9 against 37%). The RFM segments no longer tell them
    # apart (AT_RISK or HIBERNATING: 33% against 34%): their activity declines gradually, and
    # recency and frequency over twelve months move late (docs/customer_value.md)
    assert shares[True][2] >= 8
    assert shares[True][1] >= 1.3 * shares[False][1]


def test_a_customer_with_negative_contribution_is_bz_and_bz_is_nothing_else(value_bank: Settings) -> None:
    with connect(value_bank) as con:
        counts = con.sql(
            """
            select
                count(*) filter (where contribution_12m < 0 and value_class = 'BZ') as negative_bz,
                count(*) filter (where contribution_12m < 0 and value_class <> 'BZ') as negative_not_bz,
                count(*) filter (where contribution_12m >= 0 and value_class = 'BZ') as bz_not_negative
            from marts.fct_customer_value_monthly
            """
        ).fetchone()
        in_360 = con.sql(
            """
            select count(*) filter (where value.contribution_12m < 0 and c.value_class <> 'BZ')
            from marts.customer_360 as c
            inner join marts.fct_customer_value_monthly as value
                on c.customer_key = value.customer_key and value.month_start = date_trunc('month', c.as_of_date)
            """
        ).fetchone()
    assert counts is not None and in_360 is not None
    assert counts[0] > 100
    assert counts[1:] == (0, 0)
    assert in_360[0] == 0


def test_the_pareto_curve_of_thousands_of_customers(value_bank: Settings) -> None:
    # given the value mart's October: contribution over the complete months (September, October)
    with connect(value_bank) as con:
        rows = con.sql(
            """
            select customer_key, contribution_12m, pareto_rank, cumulative_contribution_share, value_class
            from marts.fct_customer_value_monthly where month_start = ? order by pareto_rank
            """,
            params=[LAST_COMPLETE_MONTH],
        ).fetchall()
        # and the same contribution summed independently from the customer profitability mart
        independent = dict(
            con.sql(
                """
                select customer_key, sum(contribution)
                from marts.fct_customer_profitability_monthly
                where month_start in (date '2026-09-01', date '2026-10-01')
                group by customer_key
                """
            ).fetchall()
        )
    # then every customer's contribution_12m is what the profitability mart says
    assert all(c == independent.get(k, 0) for k, c, *_ in rows)
    # and the ranks run 1..n, the curve rises to 1 and agrees with a running sum done here
    n = len(rows)
    assert n >= 1500
    assert [r[2] for r in rows] == list(range(1, n + 1))
    positive = [max(r[1], 0) for r in rows]
    total, running = sum(positive), 0
    for row, amount in zip(rows, positive, strict=True):
        running += amount
        assert abs(float(row[3]) - float(running / total)) < 1e-6
    # and the figures analysts quote: a few customers make most of the value
    top_20 = float(rows[n // 5 - 1][3])
    for_80 = next(r[2] for r in rows if r[3] >= 0.8)
    mvc = sum(1 for r in rows if r[4] == "MVC")
    log.warning(
        "October 2026, %d customers: the top 20%% make %.1f%% of positive contribution; %d make 80%%; MVC %d",
        n,
        100 * top_20,
        for_80,
        mvc,
    )
    assert top_20 >= 0.8
    assert mvc == for_80
    assert for_80 < n // 10


def test_tier_migration_accounts_for_every_customer(value_bank: Settings) -> None:
    with connect(value_bank) as con:
        gaps = con.sql(
            """
            with months as (select month_start, count(*) as customers from marts.fct_customer_value_monthly group by all),
            moves as (
                select
                    month_start,
                    sum(customers) filter (where to_tier <> 'EXITED') as arrived,
                    sum(customers) filter (where from_tier <> 'NEW') as came_from
                from marts.fct_customer_tier_migration_monthly
                group by all
            )
            select moves.month_start, moves.arrived, now.customers, moves.came_from, before.customers
            from moves
            inner join months as now on moves.month_start = now.month_start
            inner join months as before on moves.month_start - interval 1 month = before.month_start
            where moves.arrived <> now.customers or moves.came_from <> before.customers
            """
        ).fetchall()
        n_months = con.sql(
            "select count(distinct month_start) from marts.fct_customer_tier_migration_monthly"
        ).fetchone()
    assert gaps == []
    assert n_months == (4,)


def test_customer_360_carries_value_and_credit_risk(value_bank: Settings) -> None:
    with connect(value_bank) as con:
        mismatched = con.sql(
            """
            select count(*)
            from marts.customer_360 as c
            left join marts.fct_customer_value_monthly as value
                on c.customer_key = value.customer_key and value.month_start = date_trunc('month', c.as_of_date)
            left join marts.fct_customer_rfm_monthly as rfm
                on c.customer_key = rfm.customer_key and rfm.month_start = value.month_start
            where c.value_tier is distinct from value.value_tier
                or c.value_class is distinct from value.value_class
                or c.rfm_segment is distinct from rfm.rfm_segment
            """
        ).fetchone()
        risk = con.sql(
            """
            select
                count(*) filter (where is_non_performing),
                count(*) filter (where is_non_performing <> coalesce(worst_loan_classification in ('SUBSTANDARD', 'DOUBTFUL', 'LOSS'), false)),
                count(*) filter (where n_loan_accounts > 0 and total_exposure < loan_balance - 1),
                count(*) filter (where customer_type = 'INDIVIDUAL' and annual_income_band is not null),
                count(*) filter (where customer_type = 'CORPORATE' and industry_code is not null)
            from marts.customer_360
            """
        ).fetchone()
    assert mismatched == (0,)
    assert risk is not None
    non_performing, inconsistent, exposure_below_loans, banded, with_industry = risk
    assert non_performing > 0 and inconsistent == 0 and exposure_below_loans == 0
    assert banded > 1000 and with_industry > 100


def test_household_contribution_shares_accounts_by_allocation_weight(value_bank: Settings) -> None:
    # given households, and every account a member holds with its weight (the bridge mart)
    with connect(value_bank) as con:
        gaps = con.sql(
            """
            with members as (
                select customer_key, household_key, as_of_date from marts.customer_360 where household_key is not null
            ),
            shared as (
                select
                    members.household_key,
                    sum(profitability.contribution * bridge.allocation_weight) as contribution_12m
                from members
                inner join marts.bridge_account_customer as bridge on members.customer_key = bridge.customer_key
                inner join marts.fct_account_profitability_monthly as profitability
                    on bridge.account_id = profitability.account_id
                inner join marts.dim_month as months on profitability.month_start = months.month_start
                where months.is_complete and profitability.month_start < date_trunc('month', members.as_of_date)
                group by members.household_key
            )
            select household.household_key, household.contribution_12m, shared.contribution_12m
            from marts.dim_household as household
            left join shared on household.household_key = shared.household_key
            where abs(household.contribution_12m - coalesce(shared.contribution_12m, 0)) > 0.01 * household.n_members
            """
        ).fetchall()
        n_households = con.sql("select count(*), sum(deposit_balance) from marts.dim_household").fetchone()
    # then each household's contribution_12m is that weighted sum, to the cent per member
    assert gaps == []
    assert n_households is not None and n_households[0] > 20 and n_households[1] > 0


def test_web_prospects_are_the_people_the_simulator_never_made_customers(value_bank: Settings) -> None:
    # given the answer key: web users whose person has no core customer record
    with (value_bank.root / "_truth" / "persons.csv").open(encoding="utf-8") as fh:
        persons = list(csv.DictReader(fh))
    customers = {p["person_id"] for p in persons if p["source_table"] == "customers"}
    web_only = {p["source_key"] for p in persons if p["source_table"] == "users" and p["person_id"] not in customers}
    with connect(value_bank) as con:
        found = con.sql(
            "select sum(n_web_users) from marts.dim_prospect where seen_by in ('WEB', 'WEB_AND_CALL')"
        ).fetchone()
    # then dim_prospect counts exactly those users
    assert web_only
    assert found == (len(web_only),)


# -- the household key --------------------------------------------------------------------


def test_a_household_keeps_its_key_when_a_member_joins_or_leaves() -> None:
    # given a household of three at one address, one of whom also shares a phone with a fourth
    before = households(
        ["K1", "K1", "K2", "K3"],
        ["K2", "K3", "K3", "K4"],
        ["SHARED_ADDRESS", "SHARED_ADDRESS", "SHARED_ADDRESS", "SHARED_PHONE"],
        ["1 main st/100", "1 main st/100", "1 main st/100", "+8613800000000"],
    )
    key = set(before.household_key)
    assert len(key) == 1
    # when K1 (the smallest key, which the old rule took the key from) moves out and K5 moves in
    after = households(
        ["K2", "K2", "K3", "K3"],
        ["K3", "K5", "K5", "K4"],
        ["SHARED_ADDRESS", "SHARED_ADDRESS", "SHARED_ADDRESS", "SHARED_PHONE"],
        ["1 main st/100", "1 main st/100", "1 main st/100", "+8613800000000"],
    )
    # then the household keeps its key: it is made from the address, not from a member
    assert set(after.household_key) == key
    assert key == {hashlib.md5(b"household/SHARED_ADDRESS/1 main st/100").hexdigest()}
    # and a household that only shares a phone is keyed by the phone
    alone = households(["K7"], ["K8"], ["SHARED_PHONE"], ["+8613900000000"])
    assert set(alone.household_key) == {hashlib.md5(b"household/SHARED_PHONE/+8613900000000").hexdigest()}


def test_the_household_key_survives_a_nightly_build(published_nights: Nights) -> None:
    """Real nightly builds (tests/nights.py): the published history; night 1, after one member
    of a household moved out (a new phone or address) and a new customer moved in with the one
    who stays; and night 2, incremental, for the monthly activity."""
    # given a household of people who share one phone or address and nothing else, when on
    # night 1 the member with the smallest key (whom the old rule took the key from) moves out
    # and a new customer moves in with the one who stays
    move = published_nights.household
    assert move.link_type in ("SHARED_PHONE", "SHARED_ADDRESS")
    _, night_1, night_2 = published_nights.runs
    assert night_1.outcome == "SUCCESS", night_1.failures
    # then the household keeps its key, with the one who stays and the newcomer in it
    after = [(c, s) for k, c, s in published_nights.households_after_night_1 if k == move.household_key]
    in_household = {customer for customer, _ in after}
    assert move.stayer in in_household
    assert move.leaver not in in_household
    assert NEWCOMER in {source for _, source in after}
    # and on night 2 (incremental, on the history after night 1 was rolled back), the monthly
    # activity rebuilt for the current month only is what the facts hold for every customer
    # and month, earlier nights' rows included
    assert night_2.outcome == "SUCCESS", night_2.failures
    assert night_2.build_mode == "incremental"
    settings = published_nights.settings
    with duckdb.connect(str(published_state_path(settings)), read_only=True) as con:  # intermediate: the whole build
        mismatches = con.sql(
            """
            with postings as (
                select customer_key, cast(date_trunc('month', posting_date) as date) as month_start,
                    count(*) filter (where channel <> 'SYSTEM') as n_postings
                from marts.fct_transactions where not is_reversal and customer_key is not null group by all
            ),
            sessions as (
                select customer_key, cast(date_trunc('month', session_date) as date) as month_start,
                    count(*) as n_web_sessions
                from marts.fct_web_sessions where customer_key is not null group by all
            ),
            expected as (
                select customer_key, month_start, coalesce(postings.n_postings, 0) as n_postings,
                    coalesce(sessions.n_web_sessions, 0) as n_web_sessions
                from postings full outer join sessions using (customer_key, month_start)
            )
            select count(*) from expected
            full outer join intermediate.int_customer_activity_monthly as activity using (customer_key, month_start)
            where expected.n_postings is distinct from activity.n_postings
                or expected.n_web_sessions is distinct from activity.n_web_sessions
            """
        ).fetchone()
    assert mismatches == (0,)


RUN_LINEAGE = (
    "rebuilt_from",
    "built_in_run",
    "features_built_in_run",
    "value_built_in_run",
    "account_activity_built_in_run",
    "user_activity_built_in_run",
)
"""Which run wrote a row and where its night restarted: differ between two builds by construction."""
AUGUST, SEPTEMBER, NOVEMBER = date(2026, 8, 1), date(2026, 9, 1), date(2026, 11, 1)
INTERMEDIATES = [table for table in VALUE_CHAIN if table.startswith("int_")]
MARTS = [table for table in VALUE_CHAIN if table.startswith("fct_")]
MART_SENTINELS = {
    "fct_customer_value_monthly": ("loyalty_score", "-1", "month_start, customer_key"),
    "fct_customer_rfm_monthly": ("rfm_segment", "'SENTINEL'", "month_start, customer_key"),
    "fct_customer_tier_migration_monthly": ("contribution_12m_before", "-1", "month_start, from_tier, to_tier"),
}
"""A value each mart never holds, set in one row of every month: a month the night copies again loses it."""


def schema_of(table: str) -> str:
    return "intermediate" if table.startswith("int_") else "marts"


def differing_rows(con: duckdb.DuckDBPyConnection, table: str, other: str) -> tuple[int, int]:
    """Rows of `table` (schema.name) in the open file not in database `other`, and the other
    way round, the run lineage aside."""
    columns = ", ".join(r[0] for r in con.sql(f"describe {table}").fetchall() if r[0] not in RUN_LINEAGE)
    only = [
        con.sql(f"select count(*) from (select {columns} from {a} except all select {columns} from {b})").fetchone()
        for a, b in ((table, f"{other}.{table}"), (f"{other}.{table}", table))
    ]
    return only[0][0], only[1][0]  # type: ignore[index]


def runs_by_month(con: duckdb.DuckDBPyConnection, table: str) -> dict[date, set[str]]:
    rows = con.sql(f"select month_start, list(distinct built_in_run) from {table} group by month_start").fetchall()
    return {month: set(runs) for month, runs in rows}


def rewritten_months(con: duckdb.DuckDBPyConnection, before: str) -> dict[str, set[date]]:
    """The months each intermediate table of the chain holds rows of a run it did not hold in
    database `before` (a copy of the file before the night)."""
    months = {}
    for table in INTERMEDIATES:
        old, new = runs_by_month(con, f"{before}.intermediate.{table}"), runs_by_month(con, f"intermediate.{table}")
        months[table] = {month for month in new if new[month] - old.get(month, set())}
    return months


def rewritten_customers(con: duckdb.DuckDBPyConnection, table: str, before_month: date) -> set[str]:
    """The customers whose rows of `table` before `before_month` the latest run wrote."""
    rows = con.sql(
        f"select distinct customer_key from intermediate.{table} where month_start < ?"
        f" and built_in_run = (select max(built_in_run) from intermediate.{table})",
        params=[before_month],
    ).fetchall()
    return {key for (key,) in rows}


def mark_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Sets each mart's sentinel in its first row (by key) of every month."""
    for mart, (column, sentinel, key) in MART_SENTINELS.items():
        same = " and ".join(f"mart.{part.strip()} = first_row.{part.strip()}" for part in key.split(","))
        con.execute(
            f"update marts.{mart} as mart set {column} = {sentinel} from (select {key} from marts.{mart}"
            f" qualify row_number() over (partition by month_start order by {key}) = 1) as first_row where {same}"
        )


def marked_months(con: duckdb.DuckDBPyConnection) -> dict[str, set[date]]:
    return {
        mart: {
            month
            for (month,) in con.sql(
                f"select distinct month_start from marts.{mart} where {column} = {sentinel}"
            ).fetchall()
        }
        for mart, (column, sentinel, _) in MART_SENTINELS.items()
    }


def unmark_marts(con: duckdb.DuckDBPyConnection, other: str) -> None:
    """Puts back the rows still marked as database `other` holds them."""
    for mart, (column, sentinel, key) in MART_SENTINELS.items():
        same = " and ".join(f"mart.{part.strip()} = other.{part.strip()}" for part in key.split(","))
        con.execute(f"delete from marts.{mart} where {column} = {sentinel}")
        con.execute(
            f"insert into marts.{mart} select * from {other}.marts.{mart} as other"
            f" where not exists (select 1 from marts.{mart} as mart where {same})"
        )


def change_account_states(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """What a night's account and customer states can change for every month at once (today's
    states apply to every month): an account closed in October, a joint holder replaced by
    another customer, a customer re-keyed (identity resolution merged it: a new key everywhere).
    Returns the customers whose relationships are built from other holdings and those whose
    activity is mapped from other accounts or users (the re-keyed customer, old and new key)."""

    def keys(sql: str) -> set[str]:
        return {key for (key,) in con.sql(sql).fetchall()}

    (closed,) = con.sql(
        "select account_id from intermediate.int_accounts_resolved where close_date is null"
        " and open_date < date '2026-08-01' order by account_id limit 1"
    ).fetchone()  # type: ignore[misc]
    holders = keys(f"select customer_key from intermediate.int_account_holders_weighted where account_id = '{closed}'")
    con.execute(
        "update intermediate.int_accounts_resolved set close_date = date '2026-10-15', status = 'CLOSED'"
        " where account_id = ?",
        [closed],
    )
    joint, left = con.sql(
        "select account_id, customer_key from intermediate.int_account_holders_weighted where role = 'JOINT'"
        " and allocation_weight > 0 and account_id <> ? order by account_id limit 1",
        params=[closed],
    ).fetchone()  # type: ignore[misc]
    (joined,) = con.sql(
        "select customer_key from intermediate.int_customer_relationships_monthly where customer_key not in"
        " (select customer_key from intermediate.int_account_holders_weighted where account_id = ?)"
        " order by customer_key limit 1 offset 7",
        params=[joint],
    ).fetchone()  # type: ignore[misc]
    con.execute(
        "update intermediate.int_account_holders_weighted set customer_key = ? where account_id = ? and customer_key = ?",
        [joined, joint, left],
    )
    (rekeyed,) = con.sql(
        "select xref.customer_key from intermediate.int_customer_xref as xref where xref.source_table = 'users'"
        " and xref.customer_key in (select customer_key from intermediate.int_accounts_resolved)"
        " and xref.customer_key not in (select customer_key from intermediate.int_account_holders_weighted"
        f" where account_id in ('{closed}', '{joint}')) and xref.customer_key <> '{joined}'"
        " order by xref.customer_key limit 1"
    ).fetchone()  # type: ignore[misc]
    new_key = hashlib.md5(f"{rekeyed}~merged".encode()).hexdigest()
    for table in (
        "int_accounts_resolved",
        "int_account_holders_weighted",
        "int_customer_xref",
        "int_customer_versions",
        "int_customer_attributes",
        "int_customer_profitability_monthly",
    ):
        con.execute(f"update intermediate.{table} set customer_key = ? where customer_key = ?", [new_key, rekeyed])
    return holders | {left, joined, rekeyed, new_key}, {rekeyed, new_key}


def test_an_incremental_night_builds_the_value_months_a_full_refresh_builds(
    value_bank: Settings, tmp_path: Path
) -> None:
    """The customer x month chain is incremental by month, from the relationships and the
    activity to the three public marts: a night rebuilds the current month, the months from one
    a late delivery changed, for every customer (the percentiles and quintiles rank a month's
    customers together; trailing windows carry a month into the next eleven), and every month
    of a customer whose holdings or keys changed; its rows are those of a full refresh of the
    same inputs, row for row."""
    settings = on_the_value_bank_lake(value_bank, tmp_path)
    builds = {name: tmp_path / name / "bank.duckdb" for name in ("incremental", "full", "before")}
    for build in builds.values():
        build.parent.mkdir()
        shutil.copyfile(published_state_path(value_bank), build)

    def night(*extra: str, build: str = "incremental") -> None:
        outcome = dbt_on(settings, builds[build], "run", "-s", *VALUE_CHAIN, *extra)
        assert outcome.returncode == 0, outcome.stdout[-3000:]

    def the_same_as_a_full_refresh(con: duckdb.DuckDBPyConnection) -> None:
        for table in VALUE_CHAIN:
            assert differing_rows(con, f"{schema_of(table)}.{table}", "full_build") == (0, 0), table

    def open_builds() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(builds["incremental"]))
        con.execute(f"attach '{builds['full']}' as full_build (read_only)")
        con.execute(f"attach '{builds['before']}' as before (read_only)")
        return con

    # given the 2,000-customer bank's build (a full refresh), each mart marked in every month
    with duckdb.connect(str(builds["incremental"])) as con:
        mark_marts(con)
    # when a night finds nothing new before the current month (November)
    night()
    # then every table rewrote November only (the marts lost their mark there and kept it in the
    # other months), and every table is still the full refresh's
    with open_builds() as con:
        assert rewritten_months(con, "before") == {table: {NOVEMBER} for table in INTERMEDIATES}
        assert marked_months(con) == {mart: {AUGUST, SEPTEMBER, date(2026, 10, 1)} for mart in MARTS}
        unmark_marts(con, "full_build")
        the_same_as_a_full_refresh(con)
    shutil.copyfile(builds["incremental"], builds["before"])
    # given a late delivery that changes September in both builds
    for build in ("incremental", "full"):
        with duckdb.connect(str(builds[build]), config=settings.duckdb_config()) as con:
            late_delivery(con, SEPTEMBER, customers=20)
    # when the next night builds one incrementally and the other by a full refresh
    night()
    night("--full-refresh", build="full")
    # then the rows are the same, September to November rebuilt for every customer, August
    # kept as it was (the relationships, which no delivery of postings changes: November only)
    with open_builds() as con:
        the_same_as_a_full_refresh(con)
        rewritten = rewritten_months(con, "before")
        assert rewritten.pop("int_customer_relationships_monthly") == {NOVEMBER}
        assert rewritten == {table: {SEPTEMBER, date(2026, 10, 1), NOVEMBER} for table in rewritten}
        # (the change reached October's trailing twelve months and other customers' ranks)
        changed = dict(
            con.sql(
                "select month_start, count(*) from (select month_start, customer_key, contribution_12m,"
                " value_percentile from intermediate.int_customer_value_monthly except select month_start,"
                " customer_key, contribution_12m, value_percentile from before.intermediate.int_customer_value_monthly)"
                " group by month_start"
            ).fetchall()
        )
    assert changed.get(SEPTEMBER, 0) > 20 and changed.get(date(2026, 10, 1), 0) > 20, changed
    shutil.copyfile(builds["incremental"], builds["before"])
    # given an account closed, a joint holder replaced and a customer re-keyed, in both builds
    for build in ("incremental", "full"):
        with duckdb.connect(str(builds[build]), config=settings.duckdb_config()) as con:
            held, mapped = change_account_states(con)
    # when the next night builds one incrementally and the other by a full refresh
    night()
    night("--full-refresh", build="full")
    # then the relationships and the activity rewrote November and every month of exactly the
    # customers whose holdings or accounts and users changed (those with rows before November),
    # and every table is the full refresh's
    with open_builds() as con:
        the_same_as_a_full_refresh(con)
        for table, customers in (
            ("int_customer_relationships_monthly", held),
            ("int_customer_activity_monthly", mapped),
        ):
            with_earlier_rows = {
                key
                for (key,) in con.sql(
                    f"select distinct customer_key from intermediate.{table} where month_start < ?", params=[NOVEMBER]
                ).fetchall()
            }
            assert rewritten_customers(con, table, NOVEMBER) == customers & with_earlier_rows, table
            assert len(customers & with_earlier_rows) >= (3 if table.endswith("relationships_monthly") else 1)
