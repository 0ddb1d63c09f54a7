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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from expectations.config import GatesConfig
from expectations.gates import EXAMPLES
from expectations.results import CheckResult
from extract.contract import FeedAgreement, FeedFile
from extract.lake import Lake
from extract.landing import MANIFEST_NAME

log = logging.getLogger(__name__)

TRANSACTIONS = "core_banking.transactions"
BALANCES = "core_banking.balances"
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

    @property
    def staging(self) -> Lake:
        return self.lake.staging(self.load_id)


def run_bank_rules(inputs: RuleInputs, config: GatesConfig) -> list[CheckResult]:
    """Every bank rule that applies to what this load staged (freshness always applies)."""
    with _views(inputs) as (con, staged):
        _delivered_rows(con, inputs)
        results: list[CheckResult] = []
        results += _control_totals(con, inputs, config, staged)
        if TRANSACTIONS in staged:
            results.append(_balance_chain(con, config))
            results.append(_future_postings(con, inputs, config))
        if BALANCES in staged:
            results.append(_end_of_day_balance(con, config))
        results += _volume(con, inputs, config)
        results += _freshness(con, inputs, config)
    return results


def lake_keys(lake: Lake, agreement: FeedAgreement) -> Any:
    """A `reference_keys` for `run_gates`: the distinct keys of a feed file's column in the lake."""

    def keys(target: str, column: str) -> Any:
        feed = agreement.file(*target.split("."))
        if column not in feed.column_names:
            return None
        with duckdb.connect() as con:
            frame = con.sql(f'select distinct "{column}" from {_read(lake.feed_glob(feed))}').df()
        return frame[column]

    return keys


def _read(glob: str) -> str:
    return f"read_parquet('{glob}', union_by_name = true, hive_partitioning = false)"


@contextmanager
def _views(inputs: RuleInputs) -> Iterator[tuple[duckdb.DuckDBPyConnection, set[str]]]:
    """`staged_<system>__<file>` and `lake_<system>__<file>` (lake with this load in place) per feed file."""
    con = duckdb.connect()
    staged: set[str] = set()
    try:
        for feed in inputs.agreement.files:
            view = _view_name(feed)
            lake_rows = _read(inputs.lake.feed_glob(feed))
            if any(inputs.staging.feed_dir(feed).glob("*/*.parquet")):
                staged.add(feed.qualified_name)
                staged_rows = _read(inputs.staging.feed_glob(feed))
                con.execute(f"create view staged_{view} as select * from {staged_rows}")
                con.execute(
                    f"create view lake_{view} as select * from staged_{view} union all by name "
                    f"select * from {lake_rows} where _business_date not in "
                    f"(select distinct _business_date from staged_{view})"
                )
            elif inputs.lake.feed_dir(feed).is_dir():
                con.execute(f"create view lake_{view} as select * from {lake_rows}")
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


def _balance_chain(con: duckdb.DuckDBPyConnection, config: GatesConfig) -> CheckResult:
    """balance_after = previous balance_after of the account that day, or the previous end-of-day
    ledger balance for its first posting of the day, plus the posting's amount.

    Postings are in order of `txn_ts`, then `txn_id`. A first posting whose account has no
    earlier end-of-day balance in the lake (a new account, or the first date loaded) is not
    judged: its opening balance is not known.
    """
    failing, count = _failing(
        con,
        f"""
        with postings as (
            select
                t.*,
                lag(t.balance_after) over by_account as last_balance_after,
                lag(t.posting_date) over by_account as last_posting_date
            from lake_{_view_name(TRANSACTIONS)} as t
            window by_account as (partition by t.account_id order by t.posting_date, t.txn_ts, t.txn_id)
        ),
        staged as (
            select p.* from postings as p
            semi join staged_{_view_name(TRANSACTIONS)} as s using (txn_id, _source_file, _source_row)
        ),
        opened as (
            select s.*, b.ledger_balance as previous_eod_balance, b.business_date as previous_eod_date
            from staged as s
            asof left join lake_{_view_name(BALANCES)} as b
                on s.account_id = b.account_id and s.posting_date > b.business_date
        ),
        -- The balance a posting starts from: the day's previous posting; for the first of the
        -- day, the latest known of the previous end-of-day balance and the last earlier posting
        -- (an account can leave the balances feed, closed or dormant, and postings still come).
        judged as (
            select
                *,
                case
                    when last_posting_date = posting_date then last_balance_after
                    when previous_eod_date is not null
                        and (last_posting_date is null or previous_eod_date >= last_posting_date)
                        then previous_eod_balance
                    when previous_eod_date is not null then last_balance_after
                end as previous_balance
            from opened
        )
        select
            _source_file, _source_row, txn_id, account_id, posting_date, amount, balance_after,
            previous_balance, previous_balance + amount as expected_balance_after
        from judged
        where previous_balance is not null and balance_after <> previous_balance + amount
        order by _source_file, _source_row
        """,
    )
    return _result(TRANSACTIONS, "balance_chain", "balance_after", config.rules.balance_chain.severity, failing, count)


def _end_of_day_balance(con: duckdb.DuckDBPyConnection, config: GatesConfig) -> CheckResult:
    """The end-of-day ledger balance is the day's last balance_after of the account, or, on a day
    without postings, the previous end-of-day balance (when the lake has one)."""
    transactions = f"lake_{_view_name(TRANSACTIONS)}"
    has_postings = con.sql(
        "select count(*) from information_schema.tables where table_name = ?", params=[transactions]
    ).fetchall()[0][0]
    last_posting = (
        f"""
        select account_id, posting_date, arg_max(balance_after, (txn_ts, txn_id)) as last_balance_after
        from {transactions} group by account_id, posting_date
        """
        if has_postings
        else "select null::varchar as account_id, null::date as posting_date, null::decimal(18,4) as last_balance_after"
    )
    failing, count = _failing(
        con,
        f"""
        with last_posting as ({last_posting}),
        previous as (
            select s.*, p.ledger_balance as previous_eod_balance
            from staged_{_view_name(BALANCES)} as s
            asof left join lake_{_view_name(BALANCES)} as p
                on s.account_id = p.account_id and s.business_date > p.business_date
        ),
        judged as (
            select
                previous._source_file, previous._source_row, previous.account_id, previous.business_date,
                previous.ledger_balance,
                coalesce(last_posting.last_balance_after, previous.previous_eod_balance) as expected_ledger_balance
            from previous
            left join last_posting
                on previous.account_id = last_posting.account_id
                and previous.business_date = last_posting.posting_date
        )
        select * from judged
        where expected_ledger_balance is not null and ledger_balance <> expected_ledger_balance
        order by _source_file, _source_row
        """,
    )
    return _result(
        BALANCES, "end_of_day_balance", "ledger_balance", config.rules.end_of_day_balance.severity, failing, count
    )


def _future_postings(con: duckdb.DuckDBPyConnection, inputs: RuleInputs, config: GatesConfig) -> CheckResult:
    """No posting is dated after the business date of its delivery, nor after the run's business date."""
    as_of = f"date '{inputs.as_of}'" if inputs.as_of else "null::date"
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
    listed = ", ".join(f"'{f}'" for f in files)
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
    rows = con.sql(
        f"""
        with this_load as (
            select distinct system, business_date from read_parquet('{staged_audit}') where outcome = 'LOADED'
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
