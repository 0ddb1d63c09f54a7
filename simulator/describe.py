"""`bankdw simulate --describe DIR`: what a banker sanity-checks in a landing area.

Computed with DuckDB over the delivered files themselves (not over the simulator's state),
so it describes any landing area in the agreement's format: the customer base by type and
segment, products per customer, balance and income percentiles, loans by tier, calls by
queue and web sessions per user. Snapshots are read as of the last business date delivered.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from extract.contract import load_agreement

PERCENTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def describe(landing: Path) -> str:
    """The report as text (one section per distribution)."""
    con = duckdb.connect()
    try:
        available = _views(con, landing)
        sections = [f"Landing area {landing}"]
        for title, needs, sql in _SECTIONS:
            if not needs <= available:
                sections.append(f"\n{title}\n  (no {', '.join(sorted(needs - available))} delivered)")
                continue
            sections.append(f"\n{title}\n" + _table(con.execute(sql)))
        return "\n".join(sections)
    finally:
        con.close()


def _views(con: duckdb.DuckDBPyConnection, landing: Path) -> set[str]:
    """One view per delivered file (`customers`, `events`...), with `_date` the business date."""
    made = set()
    for feed in load_agreement().files:
        if feed.format == "csv":
            pattern = landing / feed.system / "*" / f"{feed.name}.csv"
            types = {c.name: c.duckdb_type for c in feed.columns}
            reader = f"""read_csv('{pattern.as_posix()}', header = true, columns = {types}, filename = true,
                         auto_detect = false, delim = ',', quote = '"', escape = '"')"""
        else:
            pattern = landing / feed.system / "*" / "events-*.jsonl.gz"
            # lines that are not JSON (a known defect) are skipped: this is a summary, not a load
            reader = f"""read_json('{pattern.as_posix()}', format = 'newline_delimited', filename = true,
                         columns = {{'user_id': 'VARCHAR', 'session_id': 'VARCHAR', 'event_type': 'VARCHAR'}},
                         ignore_errors = true)"""
        if not list(landing.glob(str(pattern.relative_to(landing)))):
            continue
        con.execute(
            f"""create view {feed.name} as select
                regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1)::date as _date, * exclude (filename)
                from {reader}"""
        )
        made.add(feed.name)
    for name in ("customers", "accounts", "users", "balances", "loans"):
        if name in made:
            con.execute(
                f"create view last_{name} as select * from {name} where _date = (select max(_date) from {name})"
            )
    return made


def _quantiles(column: str) -> str:
    return ", ".join(f"quantile_cont({column}, {p}) as p{round(p * 100)}" for p in PERCENTILES)


_SECTIONS: list[tuple[str, set[str], str]] = [
    (
        "Customers by type, segment and status (last snapshot)",
        {"customers"},
        """select customer_type as type,
                  case when customer_type = 'CORPORATE' then 'corporate'
                       when rm_id is not null then 'affluent (with RM)' else 'mass retail' end as segment,
                  count(*) filter (where status = 'ACTIVE') as active,
                  count(*) filter (where status = 'DORMANT') as dormant,
                  count(*) filter (where status = 'CLOSED') as closed,
                  count(*) filter (where national_id is null) as without_national_id
           from last_customers group by all order by all""",
    ),
    (
        "Products per customer (open accounts held as primary holder, last snapshot)",
        {"customers", "accounts"},
        """with held as (
               select c.customer_id, count(a.account_id) as products
               from last_customers c left join last_accounts a
                 on a.customer_id = c.customer_id and a.status <> 'CLOSED'
               where c.status <> 'CLOSED' group by c.customer_id)
           select products, count(*) as customers, round(100.0 * count(*) / sum(count(*)) over (), 1) as pct
           from held group by products order by products""",
    ),
    (
        "Open accounts by product (last snapshot)",
        {"accounts"},
        """select product_code, count(*) as accounts from last_accounts where status <> 'CLOSED'
           group by all order by accounts desc""",
    ),
    (
        "End-of-day ledger balance percentiles by product family (last business date)",
        {"balances", "accounts"},
        f"""select left(a.product_code, strpos(a.product_code, '-') - 1) as family, count(*) as accounts,
                   {_quantiles("b.ledger_balance")}
            from last_balances b join last_accounts a using (account_id) group by all order by family""",
    ),
    (
        "Annual income percentiles (open customers, last snapshot)",
        {"customers"},
        f"""select customer_type as type, count(annual_income) as known, {_quantiles("annual_income")}
            from last_customers where status <> 'CLOSED' group by all order by all""",
    ),
    (
        "Loans by classification (last business date)",
        {"loans"},
        """select classification, count(*) as loans, sum(outstanding_principal) as outstanding,
                  max(days_past_due) as max_days_past_due
           from last_loans group by classification
           order by list_position(['NORMAL', 'SPECIAL_MENTION', 'SUBSTANDARD', 'DOUBTFUL', 'LOSS'], classification)""",
    ),
    (
        "Calls by queue (whole period)",
        {"calls"},
        """select queue, count(*) as calls, count(*) filter (where direction = 'OUTBOUND') as outbound,
                  count(*) filter (where outcome in ('ABANDONED', 'NO_ANSWER')) as unanswered,
                  count(*) filter (where outcome = 'SALE') as sales,
                  count(*) filter (where complaint_flag = 'Y') as complaints,
                  round(avg(csat_score), 2) as avg_csat
           from calls group by all order by calls desc""",
    ),
    (
        "Web sessions per user (whole period; users who logged in at least once)",
        {"events"},
        f"""with per_user as (
               select user_id, count(distinct session_id) as sessions from events
               where user_id is not null group by user_id)
            select count(*) as users, round(avg(sessions), 1) as mean, {_quantiles("sessions")} from per_user""",
    ),
    (
        "Web events by type (whole period)",
        {"events"},
        """select event_type, count(*) as events from events where event_type is not null
           group by all order by events desc""",
    ),
]


def _table(result: duckdb.DuckDBPyConnection) -> str:
    """Rows as an aligned text table (numbers right-aligned)."""
    names = [d[0] for d in result.description or []]
    rows = [[_cell(v) for v in row] for row in result.fetchall()]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))]
    lines += ["  " + "  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
