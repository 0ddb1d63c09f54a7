"""The rules a bank checks across rows, files and days, before a load enters the lake.

The GX suites judge one feed file's batch row by row (keys, types, enums, ranges,
references, loan classification by days past due). The rules here need what a batch alone
does not hold: the manifest's control totals, the previous posting of an account, the
previous day's end-of-day balance (often in the lake, not in this load), the trailing row
counts of the lake's audit, the latest date each system delivered. GX 1.x has no
expectation that orders rows or reads another batch on its pandas path, so each rule is one
DuckDB query over the staged Parquet and the lake, returning its failing rows with their
landed file and row; the result is the same `CheckResult` the GX checks give, and the
severity and thresholds come from `expectations/gates.toml`.

"The lake" below means the committed lake with this load's staged partitions in place of
the ones they replace, i.e. the state the lake will have if the load is committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from expectations.config import GatesConfig, ToleranceRule
from expectations.gates import EXAMPLES
from expectations.results import CheckResult
from extract.contract import FeedAgreement, FeedFile
from extract.lake import Lake
from extract.landing import MANIFEST_NAME
from extract.sql import DuckDBConfig, literal, path_pattern

log = logging.getLogger(__name__)

TRANSACTIONS = "core_banking.transactions"
BALANCES = "core_banking.balances"
LOANS = "core_banking.loans"
CURRENCY_COLUMN = "currency"
REPORTING_CURRENCY_SETTING = "reporting_currency (BANKDW_REPORTING_CURRENCY)"
ROW = ("_source_file", "_source_row")


@dataclass(frozen=True)
class RuleInputs:
    """Where a load's rows are: its staging area, the committed lake, the landing area."""

    lake: Lake
    load_id: str
    landing_dir: Path
    agreement: FeedAgreement
    as_of: date | None
    """The run's business date (None: not known, freshness and future dates not judged)."""
    reporting_currency: str
    """The installation's reporting currency (setting `reporting_currency`)."""
    duckdb_config: DuckDBConfig = field(default_factory=dict)
    """The `config` of the rules' DuckDB connection: the installation's memory limit and where it
    spills (settings duckdb_memory_limit, duckdb_temp_dir); DuckDB's defaults when empty."""

    @property
    def staging(self) -> Lake:
        return self.lake.staging(self.load_id)


def run_bank_rules(inputs: RuleInputs, config: GatesConfig) -> list[CheckResult]:
    """Every bank rule that applies to what this load staged (freshness always applies)."""
    with _views(inputs) as (con, staged):
        _delivered_rows(con, inputs)
        results: list[CheckResult] = []
        results += _control_totals(con, inputs, config, staged)
        if staged & {TRANSACTIONS, BALANCES}:
            _bound_the_ledger(con, staged)
        if TRANSACTIONS in staged:
            results.append(_balance_chain(con, config))
            results.append(_future_postings(con, inputs, config))
        results += _impossible_dates(con, inputs, config, staged)
        results += _complete_lists(con, inputs, config, staged)
        if BALANCES in staged:
            results.append(_end_of_day_balance(con, config))
        results += _reporting_currency(con, inputs, config, staged)
        if LOANS in staged:
            results.append(_loan_classification(con, inputs, config))
        results += _volume(con, inputs, config)
        results += _freshness(con, inputs, config)
    return results


def lake_keys(lake: Lake, agreement: FeedAgreement, duckdb_config: DuckDBConfig | None = None) -> Any:
    """A `reference_keys` for `run_gates`: the distinct keys of a feed file's column in the lake
    (read with `duckdb_config`, as RuleInputs.duckdb_config)."""

    def keys(target: str, column: str) -> Any:
        feed = agreement.file(*target.split("."))
        if column not in feed.column_names:
            return None
        with duckdb.connect(config=dict(duckdb_config or {})) as con:
            frame = con.sql(f'select distinct "{column}" from {_read(lake.feed_glob(feed))}').df()
        return frame[column]

    return keys


def _read(glob: str) -> str:
    return f"read_parquet({literal(glob)}, union_by_name = true, hive_partitioning = false)"


@contextmanager
def _views(inputs: RuleInputs) -> Iterator[tuple[duckdb.DuckDBPyConnection, set[str]]]:
    """`staged_<system>__<file>` and `lake_<system>__<file>` (lake with this load in place) per feed file.

    A staged date replaces the lake's rows of that date whether or not it has rows: a
    re-delivery whose file is empty or left out stages an empty partition (extract/load.py),
    and committing it leaves the date without rows of the feed."""
    con = duckdb.connect(config=dict(inputs.duckdb_config))
    staged: set[str] = set()
    try:
        for feed in inputs.agreement.files:
            view = _view_name(feed)
            lake_rows = _read(inputs.lake.feed_glob(feed))
            replaced = sorted(
                f"date {literal(folder.name.removeprefix('business_date='))}"
                for folder in inputs.staging.feed_dir(feed).glob("business_date=*")
            )
            kept = f"select * from {lake_rows}" + (
                f" where _business_date not in ({', '.join(replaced)})" if replaced else ""
            )
            if any(inputs.staging.feed_dir(feed).glob("*/*.parquet")):
                staged.add(feed.qualified_name)
                staged_rows = _read(inputs.staging.feed_glob(feed))
                con.execute(f"create view staged_{view} as select * from {staged_rows}")
                con.execute(f"create view lake_{view} as select * from staged_{view} union all by name {kept}")
            elif inputs.lake.feed_dir(feed).is_dir():
                con.execute(f"create view lake_{view} as {kept}")
        yield con, staged
    finally:
        con.close()


def _view_name(feed: FeedFile | str) -> str:
    name = feed if isinstance(feed, str) else feed.qualified_name
    return name.replace(".", "__")


def _result(
    feed: str, rule: str, column: str | None, severity: Any, failing: list[dict[str, Any]], count: int, **kw: Any
) -> CheckResult:
    return CheckResult(
        feed=feed,
        expectation=rule,
        column=column,
        severity=severity,
        success=count == 0 and kw.get("success", True),
        unexpected_count=count,
        examples=[{k: _plain(v) for k, v in row.items()} for row in failing[:EXAMPLES]],
        note=kw.get("note"),
    )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _failing(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[dict[str, Any]], int]:
    """The first failing rows (as dicts) and how many fail, of a query returning failing rows."""
    con.execute(f"create or replace temp table failing as {query}")
    count = con.sql("select count(*) from failing").fetchall()[0][0]
    relation = con.sql(f"select * from failing limit {EXAMPLES}")
    columns = relation.columns
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()], int(count)


def _control_totals(
    con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig, staged: set[str]
) -> list[CheckResult]:
    """The staged rows of each landed file add up to the control totals of its manifest.

    The extract compares the totals while converting; this checks again what will actually be
    committed, so that a conversion that loses or alters rows cannot pass unnoticed.
    """
    results = []
    for feed in inputs.agreement.files:
        if feed.qualified_name not in staged:
            continue
        for column in feed.control_totals:
            sums = con.sql(
                f'select _source_file, sum("{column}") as total, count(*) as n_rows '
                f"from staged_{_view_name(feed)} group by _source_file order by _source_file"
            ).fetchall()
            failing = []
            for source_file, total, n_rows in sums:
                expected = _manifest_total(inputs.landing_dir, source_file, column)
                if expected is None or Decimal(total or 0) != expected:
                    failing.append(
                        {
                            "_source_file": source_file,
                            "rows": n_rows,
                            f"staged_{column}_total": total,
                            f"manifest_{column}_total": "missing" if expected is None else expected,
                        }
                    )
            results.append(
                _result(
                    feed.qualified_name,
                    "control_totals",
                    column,
                    config.rules.control_totals.severity,
                    failing,
                    len(failing),
                )
            )
    return results


def _manifest_total(landing_dir: Path, source_file: str, column: str) -> Decimal | None:
    folder, _, name = source_file.rpartition("/")
    path = landing_dir / folder / MANIFEST_NAME
    if not path.is_file():
        return None
    entry = json.loads(path.read_text(encoding="utf-8")).get("files", {}).get(name, {})
    total = (entry.get("control_totals") or {}).get(column)
    return None if total is None else Decimal(str(total))


LEDGER_PREFIX = "ledger_"
"""The balances and postings the two balance rules read (`_bound_the_ledger`): `ledger_<view>`."""


def _bound_the_ledger(con: duckdb.DuckDBPyConnection, staged: set[str]) -> None:
    """`ledger_` tables of the lake's balances and postings (with this load in place) holding every
    row the balance rules consult for the staged rows, not the whole history (on a first load,
    with no balance before the staged dates, views of the whole lake).

    Both rules look back from a staged row to its account's previous end-of-day balance (and the
    postings since, or the chain's previous posting day). For an account with a balance on the
    last balance date before the staged dates (`since`), everything they read lies on or after
    that date: the balances of dates from `since` and the postings of posting dates from `since`
    are kept (DuckDB skips the older files by their statistics). An account without a balance on
    that date keeps all its rows, so the rules give the results they give over the whole lake,
    whatever the data. The agreement makes those accounts few (it delivers the balance of every
    open account on every business date): the ones opened since, or that left the feed, dormant
    or closed, and came back. They cost a scan of the older rows' account ids, not the rules'
    windows over the whole history (at 100,000 customers and a year of history the two rules
    took 205 s over the whole lake, 3.6 s now: docs/performance.md)."""
    views = {feed: f"lake_{_view_name(feed)}" for feed in (BALANCES, TRANSACTIONS)}
    columns = {BALANCES: "business_date", TRANSACTIONS: "posting_date"}
    present = {feed: view for feed, view in views.items() if _has_view(con, view)}
    staged_dates = " union all ".join(
        f"select min({columns[feed]}) as d from staged_{_view_name(feed)}" for feed in present if feed in staged
    )
    since = None
    if BALANCES in present and staged_dates:
        (since,) = con.sql(
            f"select max(business_date) from {present[BALANCES]} "
            f"where business_date < (select min(d) from ({staged_dates}))"
        ).fetchone() or (None,)
    if since is None:
        # no balance before the staged dates (a first load): nothing older to leave out
        for feed, view in present.items():
            con.execute(f"create or replace temp view {LEDGER_PREFIX}{_view_name(feed)} as select * from {view}")
        return
    staged_accounts = " union all ".join(
        f"select account_id from staged_{_view_name(feed)}" for feed in staged & set(present)
    )
    con.execute(
        f"""
        create or replace temp table ledger_reopened as
        select distinct account_id from ({staged_accounts})
        except
        select account_id from {present[BALANCES]} where business_date = date '{since}'
        """
    )
    for feed, view in present.items():
        day = columns[feed]
        # Disjoint parts, each a filter DuckDB takes into its scan (an `or` of them would read every
        # row); a table, since both rules read it several times. No row of the lake lacks its date
        # or account: the feed gate's not-null expectations on them are blocking, always
        # (expectations/suites.py); a staged row may, and is kept.
        con.execute(
            f"""
            create or replace temp table {LEDGER_PREFIX}{_view_name(feed)} as
            select * from {view} where {day} >= date '{since}'
            union all
            select * from {view} where {day} < date '{since}' and account_id in (select account_id from ledger_reopened)
            """
            + (
                f"union all by name select * from staged_{_view_name(feed)} where {day} is null"
                if feed in staged
                else ""
            )
        )


def _balance_chain(con: duckdb.DuckDBPyConnection, config: GatesConfig) -> CheckResult:
    """The day's postings of an account chain in some order: each posting's opening balance
    (balance_after - amount) is a balance it can follow, within the rule's amount tolerance.

    What a posting can follow: the balance_after of another posting of the account that day, or
    the day's opening balance, which is the previous end-of-day ledger balance (or, when the
    account left the balances feed, dormant or closed, and postings still came, any balance_after
    of its last earlier posting day). No order of the day's postings is assumed: the agreement
    promises `txn_ts` is when the customer initiated a posting, and postings of one day may all
    carry the same time. When the opening is not known (a new account, the first date loaded),
    one posting of the day (its first) may follow nothing. Judged per account-day.
    """
    rule = config.rules.balance_chain
    transactions, balances = (f"{LEDGER_PREFIX}{_view_name(feed)}" for feed in (TRANSACTIONS, BALANCES))
    has_balances = _has_view(con, balances)
    previous_eod = (
        f"""
        select s.txn_id, s._source_file, s._source_row, b.ledger_balance as previous_eod_balance,
            b.business_date as previous_eod_date
        from staged as s
        asof left join {balances} as b on s.account_id = b.account_id and s.posting_date > b.business_date
        """
        if has_balances
        else "select txn_id, _source_file, _source_row, null::decimal(18,4) as previous_eod_balance, "
        "null::date as previous_eod_date from staged"
    )
    con.execute(
        f"""
        create or replace temp table chain as
        with postings as (
            select account_id, posting_date, txn_id, amount, balance_after, _source_file, _source_row
            from {transactions}
        ),
        staged as (
            select p.* from postings as p
            semi join staged_{_view_name(TRANSACTIONS)} as s using (txn_id, _source_file, _source_row)
        ),
        posting_days as (select distinct account_id, posting_date from postings),
        openings as (
            select s.*, e.previous_eod_balance, e.previous_eod_date, d.posting_date as previous_posting_date
            from staged as s
            join ({previous_eod}) as e using (txn_id, _source_file, _source_row)
            asof left join posting_days as d on s.account_id = d.account_id and s.posting_date > d.posting_date
        ),
        -- every balance a posting may follow
        followable as (
            select o.txn_id, o._source_file, o._source_row, o.previous_eod_balance as balance
            from openings as o
            where o.previous_eod_date is not null
                and (o.previous_posting_date is null or o.previous_eod_date >= o.previous_posting_date)
            union all
            select o.txn_id, o._source_file, o._source_row, p.balance_after
            from openings as o
            join postings as p on o.account_id = p.account_id and p.posting_date = o.previous_posting_date
            where o.previous_eod_date is null or o.previous_eod_date < o.previous_posting_date
            union all
            select o.txn_id, o._source_file, o._source_row, p.balance_after
            from openings as o
            join postings as p
                on o.account_id = p.account_id and o.posting_date = p.posting_date
                and (o.txn_id, o._source_file, o._source_row) <> (p.txn_id, p._source_file, p._source_row)
        ),
        judged as (
            select
                o._source_file, o._source_row, o.txn_id, o.account_id, o.posting_date, o.amount, o.balance_after,
                o.balance_after - o.amount as opening_balance,
                (o.previous_eod_date is not null or o.previous_posting_date is not null) as opening_known,
                min(abs(o.balance_after - o.amount - f.balance)) as difference
            from openings as o
            left join followable as f using (txn_id, _source_file, _source_row)
            group by all
        )
        select
            *,
            difference is null or difference > {rule.amount_tolerance:f} as unmatched,
            count(*) filter (where difference is null or difference > {rule.amount_tolerance:f})
                over (partition by account_id, posting_date) as unmatched_that_day
        from judged
        """
    )
    failing, days = _account_day_breaks(
        con,
        """
        select account_id, posting_date as business_date,
            max(difference) as difference,
            bool_or(unmatched and unmatched_that_day > (case when opening_known then 0 else 1 end)) as breaks
        from chain group by all
        """,
        """
        select _source_file, _source_row, txn_id, account_id, posting_date, amount, balance_after,
            opening_balance, difference as nearest_followable_difference
        from chain
        where unmatched and unmatched_that_day > (case when opening_known then 0 else 1 end)
        order by _source_file, _source_row
        """,
    )
    return _tolerance_result(TRANSACTIONS, "balance_chain", "balance_after", rule, failing, days)


def _end_of_day_balance(con: duckdb.DuckDBPyConnection, config: GatesConfig) -> CheckResult:
    """The day's roll-forward: the previous end-of-day ledger balance + the postings booked
    after it, up to and including the day = this end-of-day ledger balance.

    No order of postings is needed: the roll-forward sums them. An account's first balance
    starts from zero when the account appears after the lake's first balance date (opened since);
    on the lake's first date its opening is not known and it is not judged. The warehouse test
    assert_balances_roll_forward checks the same over the whole history.
    """
    rule = config.rules.end_of_day_balance
    transactions, balances = (f"{LEDGER_PREFIX}{_view_name(feed)}" for feed in (TRANSACTIONS, BALANCES))
    postings = (
        f"select account_id, posting_date, sum(amount) as amount from {transactions} group by all"
        if _has_view(con, transactions)
        else "select null::varchar as account_id, null::date as posting_date, null::decimal(18,4) as amount"
    )
    # one timeline per account, postings summed up to each balance row: windows, not a range join
    con.execute(
        f"""
        create or replace temp table roll_forward as
        with first_date as (select min(business_date) as first_date from {balances}),
        timeline as (
            select account_id, business_date, 1 as is_balance, ledger_balance, 0 as amount, _source_file, _source_row
            from {balances}
            union all
            select account_id, posting_date, 0, null, amount, null, null from ({postings})
        ),
        running as (
            select *, sum(amount) over (
                partition by account_id order by business_date, is_balance
                rows between unbounded preceding and current row
            ) as cumulative
            from timeline
        ),
        balance_rows as (
            select
                *,
                lag(ledger_balance) over by_date as previous_balance,
                lag(business_date) over by_date as previous_date,
                lag(cumulative) over by_date as cumulative_at_previous
            from running
            where is_balance = 1
            window by_date as (partition by account_id order by business_date)
        ),
        judged as (
            select b.*, b.cumulative - coalesce(b.cumulative_at_previous, 0) as postings
            from balance_rows as b
            semi join staged_{_view_name(BALANCES)} as s using (_source_file, _source_row)
            cross join first_date
            where b.previous_date is not null or b.business_date > first_date.first_date
        )
        select
            _source_file, _source_row, account_id, business_date,
            coalesce(previous_balance, 0) as opening_balance, postings,
            coalesce(previous_balance, 0) + postings as expected_ledger_balance, ledger_balance,
            ledger_balance - (coalesce(previous_balance, 0) + postings) as difference
        from judged
        """
    )
    breaks = f"abs(difference) > {rule.amount_tolerance:f}"
    failing, days = _account_day_breaks(
        con,
        f"select account_id, business_date, abs(difference) as difference, {breaks} as breaks from roll_forward",
        f"select * from roll_forward where {breaks} order by _source_file, _source_row",
    )
    return _tolerance_result(BALANCES, "end_of_day_balance", "ledger_balance", rule, failing, days)


@dataclass(frozen=True)
class AccountDays:
    """How a balance rule's account-days came out: judged, broken, and by how much."""

    judged: int
    broken: int
    difference_sum: Decimal
    difference_max: Decimal

    @property
    def share(self) -> float:
        return self.broken / self.judged if self.judged else 0.0


def _account_day_breaks(
    con: duckdb.DuckDBPyConnection, account_days: str, failing_rows: str
) -> tuple[list[dict[str, Any]], AccountDays]:
    """`account_days` returns (account_id, business_date, difference, breaks) per account-day judged."""
    judged, broken, total, largest = con.sql(
        f"""
        select count(*), count(*) filter (where breaks),
            coalesce(sum(difference) filter (where breaks), 0), coalesce(max(difference) filter (where breaks), 0)
        from ({account_days})
        """
    ).fetchall()[0]
    failing, _ = _failing(con, failing_rows)
    return failing, AccountDays(int(judged), int(broken), Decimal(total), Decimal(largest))


def _tolerance_result(
    feed: str, rule_name: str, column: str, rule: ToleranceRule, failing: list[dict[str, Any]], days: AccountDays
) -> CheckResult:
    """A balance rule's result: it fails (at its severity) when the account-days beyond the amount
    tolerance are more than its share tolerance of those judged; the note says how many, by how much."""
    beyond = days.broken > 0 and days.share > rule.share_tolerance
    note = None
    if days.broken:
        note = (
            f"{'failed on' if beyond else 'passed with'} {days.broken} of {days.judged} account-days "
            f"({days.share:.2%}) that differ by more than amount_tolerance {rule.amount_tolerance:f}: "
            f"sum of differences {days.difference_sum:f}, largest {days.difference_max:f}; "
            + (
                f"more than share_tolerance {rule.share_tolerance:g} (set both in [rules.{rule_name}] of the "
                "gates configuration, setting gates_config / BANKDW_GATES_CONFIG)"
                if beyond
                else f"within share_tolerance {rule.share_tolerance:g}"
            )
        )
    return CheckResult(
        feed=feed,
        expectation=rule_name,
        column=column,
        severity=rule.severity,
        success=not beyond,
        unexpected_count=days.broken,
        examples=[{k: _plain(v) for k, v in row.items()} for row in failing[:EXAMPLES]],
        note=note,
    )


def _has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.sql("select count(*) from information_schema.tables where table_name = ?", params=[name]).fetchall()
    return bool(found[0][0])


def _reporting_currency(
    con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig, staged: set[str]
) -> list[CheckResult]:
    """Every staged row with a currency (accounts, balances, postings) is in the reporting
    currency: the feeds carry no FX rates, an amount in another currency cannot be added in.
    One example per landed file and currency, with how many rows it holds."""
    results = []
    currency = inputs.reporting_currency
    for feed in inputs.agreement.files:
        if feed.qualified_name not in staged or CURRENCY_COLUMN not in feed.column_names:
            continue
        failing = con.sql(
            f"""
            select _source_file, min(_source_row) as _source_row, {CURRENCY_COLUMN}, count(*) as rows
            from staged_{_view_name(feed)}
            where {CURRENCY_COLUMN} is distinct from ?
            group by all order by _source_file, {CURRENCY_COLUMN}
            """,
            params=[currency],
        ).fetchall()
        examples = [
            {"_source_file": f, "_source_row": r, CURRENCY_COLUMN: c, "rows": n, "reporting_currency": currency}
            for f, r, c, n in failing
        ]
        count = sum(n for *_, n in failing)
        found = sorted({str(c) for _, _, c, _ in failing})
        note = (
            f"failed on {count} row(s) in {', '.join(found)} in {len(failing)} file(s); the reporting "
            f"currency is {currency}: if the bank reports in {found[0]}, set {REPORTING_CURRENCY_SETTING}"
            if failing
            else None
        )
        results.append(
            CheckResult(
                feed=feed.qualified_name,
                expectation="reporting_currency",
                column=CURRENCY_COLUMN,
                severity=config.rules.reporting_currency.severity,
                success=not failing,
                unexpected_count=count,
                examples=examples[:EXAMPLES],
                note=note,
            )
        )
    return results


def _loan_classification(con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig) -> CheckResult:
    """No loan is classified less severely than the regulatory floor of its days past due
    (`[rules.loan_classification] floors`); a more conservative class is the bank's policy and
    never flagged. Classes rank in the order feeds.yml lists them, least severe first."""
    rule = config.rules.loan_classification
    classes = list(inputs.agreement.file(*LOANS.split(".")).column("classification").values)
    unknown = sorted({f.at_least for f in rule.floors} - set(classes))
    if unknown:
        raise ValueError(
            f"[rules.loan_classification] floors name {', '.join(unknown)}, which feeds.yml does not classify "
            f"({', '.join(classes)})"
        )
    floors = ", ".join(f"({f.above_days_past_due}, {literal(f.at_least)})" for f in rule.floors)
    ranks = ", ".join(f"({literal(name)}, {rank})" for rank, name in enumerate(classes))
    failing, count = _failing(
        con,
        f"""
        with floors (above_days_past_due, at_least) as (values {floors}),
        ranks (classification, class_rank) as (values {ranks}),
        floored as (
            select l._source_file, l._source_row, l.account_id, l.business_date, l.days_past_due, l.classification,
                max_by(f.at_least, f.above_days_past_due) as floor_classification
            from staged_{_view_name(LOANS)} as l
            join floors as f on l.days_past_due > f.above_days_past_due
            group by all
        )
        select floored.*
        from floored
        join ranks as classified on floored.classification = classified.classification
        join ranks as floored_rank on floored.floor_classification = floored_rank.classification
        where classified.class_rank < floored_rank.class_rank
        order by floored._source_file, floored._source_row
        """,
    )
    note = None
    if count:
        first = failing[0]
        note = (
            f"failed on {count} loan-day(s) classified below the floor of their days past due, e.g. "
            f"{first['classification']} at {first['days_past_due']} days (floor {first['floor_classification']}); "
            "the floors are the bank's policy: [rules.loan_classification] floors in the gates configuration"
        )
    return CheckResult(
        feed=LOANS,
        expectation="loan_classification",
        column="classification",
        severity=rule.severity,
        success=count == 0,
        unexpected_count=count,
        examples=[{k: _plain(v) for k, v in row.items()} for row in failing[:EXAMPLES]],
        note=note,
    )


def _complete_lists(
    con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig, staged: set[str]
) -> list[CheckResult]:
    """A file that lists every item of its kind (a full snapshot, the end-of-day state of every
    open account or loan: `FeedFile.lists_everything`) is whole only if staging quarantined none
    of its rows: a quarantined balances row would make the account vanish from that day's
    deposits, a quarantined customers row the customer. One result per such staged feed file;
    the failing rows are the quarantined ones, with the reason staging gave."""
    results = []
    for feed in inputs.agreement.files:
        if not feed.lists_everything or feed.qualified_name not in staged:
            continue
        quarantined = inputs.staging.quarantine_dir(feed)
        failing: list[dict[str, Any]] = []
        count = 0
        if any(quarantined.glob("*/*.parquet")):
            failing, count = _failing(
                con,
                f"""
                select _source_file, _source_row, reason
                from {_read(str(quarantined / "*" / "*.parquet"))}
                order by _source_file, _source_row
                """,
            )
        severity = config.rules.complete_lists.severity
        results.append(_result(feed.qualified_name, "complete_lists", None, severity, failing, count))
    return results


def _future_postings(con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig) -> CheckResult:
    """No posting is dated after the business date of its delivery, nor after the run's business date."""
    as_of = f"date {literal(inputs.as_of)}" if inputs.as_of else "null::date"
    failing, count = _failing(
        con,
        f"""
        select _source_file, _source_row, txn_id, posting_date, _business_date as delivery_business_date
        from staged_{_view_name(TRANSACTIONS)}
        where posting_date > _business_date or posting_date > coalesce({as_of}, posting_date)
        order by _source_file, _source_row
        """,
    )
    severity = config.rules.future_postings.severity
    return _result(TRANSACTIONS, "future_postings", "posting_date", severity, failing, count)


def _impossible_dates(
    con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig, staged: set[str]
) -> list[CheckResult]:
    """Per staged feed file: rows with a date (or a timestamp's date in the bank's time zone)
    after their delivery's business date + `slack_days`, the column named in each example."""
    rule = config.rules.impossible_dates
    known = {f"{f.qualified_name}.{c}" for f in inputs.agreement.files for c in f.column_names}
    unknown = sorted(set(rule.exempt) - known)
    if unknown:
        raise ValueError(f"gates.toml [rules.impossible_dates] exempt names no column of the agreement: {unknown}")
    results = []
    for feed in inputs.agreement.files:
        columns = [
            c
            for c in feed.columns
            if c.type in ("date", "timestamp") and f"{feed.qualified_name}.{c.name}" not in rule.exempt
        ]
        if feed.qualified_name not in staged or not columns:
            continue
        parts = []
        for column in columns:
            name = f'"{column.name}"'
            value = (
                f"timezone({literal(inputs.agreement.timezone)}, {name})::date" if column.type == "timestamp" else name
            )
            parts.append(
                f"select _source_file, _source_row, {literal(column.name)} as column_name, {name}::varchar as value, "
                f"_business_date as delivery_business_date from staged_{_view_name(feed)} "
                f"where {value} > _business_date + {rule.slack_days}"
            )
        failing, count = _failing(con, " union all ".join(parts) + " order by _source_file, _source_row, column_name")
        note = (
            f"dates after the delivery's business date + {rule.slack_days} day(s) "
            "(gates.toml [rules.impossible_dates] slack_days, exempt)"
        )
        results.append(_result(feed.qualified_name, "impossible_dates", None, rule.severity, failing, count, note=note))
    return results


def _delivered_rows(con: duckdb.DuckDBPyConnection, inputs: RuleInputs) -> None:
    """Table `delivered`: rows delivered per system, feed and business date, by the latest load
    that loaded each delivery (the lake's audit with this load's audit added)."""
    files = [inputs.staging.root / "_audit.parquet", *sorted(inputs.lake.audit_dir.glob("*.parquet"))]
    files = [f for f in files if f.exists()]
    if not files:
        con.execute(
            "create or replace temp table delivered (system varchar, feed varchar, business_date date, n_rows bigint)"
        )
        return
    listed = ", ".join(literal(path_pattern(f)) for f in files)
    con.execute(
        f"""
        create or replace temp table delivered as
        with audit as (
            select * from read_parquet([{listed}], union_by_name = true) where outcome = 'LOADED'
        ),
        latest as (
            select system, business_date, max(load_id) as load_id from audit group by all
        )
        select audit.system, audit.feed, audit.business_date, sum(audit.rows_delivered) as n_rows
        from audit
        semi join latest using (system, business_date, load_id)
        group by all
        """
    )


def _volume(con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig) -> list[CheckResult]:
    """Rows delivered per feed file and business date of this load, against the average of the
    `trailing_days` business dates before it that the system delivered; a feed file missing
    from a delivery counts 0 rows."""
    rule = config.rules.volume
    staged_audit = inputs.staging.root / "_audit.parquet"
    if not staged_audit.exists():
        return []
    staged = literal(path_pattern(staged_audit))
    rows = con.sql(
        f"""
        with this_load as (
            select distinct system, business_date from read_parquet({staged}) where outcome = 'LOADED'
        ),
        feeds as (select distinct system, feed from delivered),
        checked as (
            select this_load.system, feeds.feed, this_load.business_date, coalesce(d.n_rows, 0) as n_rows
            from this_load
            join feeds using (system)
            left join delivered as d using (system, feed, business_date)
        ),
        history as (
            select
                checked.system, checked.feed, checked.business_date, checked.n_rows,
                h.n_rows as past_rows,
                row_number() over (
                    partition by checked.system, checked.feed, checked.business_date order by h.business_date desc
                ) as recency
            from checked
            join (select distinct system, business_date from delivered) as days
                on days.system = checked.system and days.business_date < checked.business_date
            left join delivered as h
                on h.system = days.system and h.feed = checked.feed and h.business_date = days.business_date
        )
        select
            system || '.' || feed as feed, business_date, any_value(n_rows) as n_rows,
            count(*) as history_dates, avg(coalesce(past_rows, 0)) as trailing_average
        from history
        where recency <= {rule.trailing_days}
        group by all
        order by 1, 2
        """
    ).fetchall()
    by_feed: dict[str, list[tuple[date, int, int, float]]] = {}
    for feed, business_date, n_rows, history_dates, average in rows:
        by_feed.setdefault(feed, []).append((business_date, n_rows, history_dates, average))
    results = []
    for feed, days in sorted(by_feed.items()):
        judged = [d for d in days if d[2] >= rule.min_history and d[3] >= rule.min_rows]
        failing = [
            {
                "business_date": business_date,
                "rows": n_rows,
                "trailing_average": round(average, 1),
                "band": f"{average * (1 - rule.tolerance):.0f}..{average * (1 + rule.tolerance):.0f}",
            }
            for business_date, n_rows, _, average in judged
            if not average * (1 - rule.tolerance) <= n_rows <= average * (1 + rule.tolerance)
        ]
        note = None if judged else f"not judged: under {rule.min_history} dates of history or {rule.min_rows} rows"
        results.append(_result(feed, "volume", None, rule.severity, failing, len(failing), note=note))
    return results


def _freshness(con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig) -> list[CheckResult]:
    """Per source system: days between the run's business date and the latest business date loaded."""
    if inputs.as_of is None:
        return []
    limits = config.freshness
    latest = dict(con.sql("select system, max(business_date) from delivered group by all").fetchall())
    results = []
    for system in inputs.agreement.systems:
        loaded = latest.get(system)
        if loaded is None:
            results.append(
                CheckResult(system, "freshness", None, "warning", success=False, note="not checked: nothing loaded yet")
            )
            continue
        behind = (inputs.as_of - loaded).days
        severity = "blocking" if behind > limits.block_after_days else "warning"
        stale = behind > limits.warn_after_days
        example = {
            "latest_business_date": loaded,
            "run_business_date": inputs.as_of,
            "days_behind": behind,
            "limits": f"warn > {limits.warn_after_days}, block > {limits.block_after_days}",
        }
        failing = [example] if stale else []
        results.append(_result(system, "freshness", None, severity if stale else "blocking", failing, len(failing)))
    return results
