"""Leads: the candidates of int_lead_candidates under the contact rules, day by day.

A dbt Python model because the rules depend on the leads before them (a customer's last lead,
an RM's open leads): the loop is models.crm.leads (docs/crm.md); the outcomes come from
int_lead_customer_facts.

Incremental (docs/crm.md, "Leads in proportion to the night"): a night resumes the loop at its
window, the earliest day a fact happened on among the business dates that loads newer than the
table's latest `as_of_load_id` delivered, less var event_lookback_days (the events' own window:
macros/crm_events.sql), or
earlier when a lead's customer key is no longer a customer's (re-keyed). The rules read only
the candidates from there (the events' window variable is set on this model's connection), the
facts from the earliest lead still to judge. The table also keeps the candidates that waited for
their RM (status WAITING, `waited_until` the last day they waited; fct_leads leaves them out):
the loop's state, which no lead row shows. Leads before the window stay as they are, except the
outcomes of those still open or due in the window, read again. The model returns tonight's rows
(those from the window on, and the earlier ones it judged again) and a marker row that carries
the window's first day (lead_id null): strategy `replace_unsettled_leads`
(macros/crm_events.sql) deletes every row the night judges again and inserts tonight's, so
that a night writes what it judged, not the table, and no lead the corrected data no longer
supports is left behind. A full refresh runs the loop over the whole history.
"""

from collections import defaultdict
from datetime import date, timedelta
from hashlib import md5
from pathlib import Path

import pyarrow as pa

from extract.sql import literal
from models.crm.leads import Candidate, ContactRules, CustomerFacts, Lead, resume_leads

COLUMNS = {
    "lead_id": pa.string(),
    "customer_key": pa.string(),
    "rm_id": pa.string(),
    "branch_id": pa.string(),
    "created_date": pa.date32(),
    "due_date": pa.date32(),
    "priority": pa.int32(),
    "reason": pa.string(),
    "status": pa.string(),
    "suppressed_reason": pa.string(),
    "outcome_date": pa.date32(),
    "outcome": pa.string(),
    "waited_until": pa.date32(),
    "as_of_load_id": pa.string(),
}
LEAD_COLUMNS = list(COLUMNS)[:12]
EVER = date(1, 1, 1)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace_unsettled_leads",
        on_schema_change="append_new_columns",
    )
    rules = ContactRules(
        customer_gap_days=int(dbt.config.get("lead_customer_gap_days")),
        rm_max_open=int(dbt.config.get("lead_rm_max_open")),
        due_days=int(dbt.config.get("lead_due_days")),
    )
    loads = dbt.ref("int_business_date_loads")
    as_of, as_of_load = loads.aggregate("max(business_date), max(load_id)").fetchone()
    if as_of is None:
        nothing = pa.table({name: pa.array([], kind) for name, kind in COLUMNS.items()})
        return with_window_marker(nothing, EVER) if dbt.is_incremental else nothing
    kept = None
    start = EVER
    # (a table built before the leads were incremental has no as_of_load_id: built whole once)
    if dbt.is_incremental and "as_of_load_id" in session.sql(f"select * from {dbt.this} limit 0").columns:
        start = window_start(dbt, session, loads)
        kept = session.sql(f"select * from {dbt.this} where created_date < date '{start}'")
    if start == EVER:
        candidates = dbt.ref("int_lead_candidates")
    else:
        # the rules compute the events from the window only (macros/crm_events.sql)
        session.execute(f"set variable customer_events_window_start = date '{start}'")
        candidates = dbt.ref("int_lead_candidates").filter(f"candidate_date >= date '{start}'")
    candidates = [
        Candidate(*row)
        for row in candidates.select("customer_key, candidate_date, rm_id, branch_id, priority, reason").fetchall()
    ]
    session.execute("reset variable customer_events_window_start")
    earlier, waiting = [], []
    facts_since = EVER
    if kept is not None:
        leads = kept.filter("status not in ('WAITING', 'SUPPRESSED')")
        needed = leads.filter(
            f"created_date >= date '{start}' - {rules.customer_gap_days}"
            f" or due_date >= date '{start}' or status = 'OPEN'"
        )
        earlier = [Lead(*row) for row in needed.select(", ".join(LEAD_COLUMNS)).fetchall()]
        facts_since = min([lead.created_date for lead in earlier], default=start)
        waited = kept.filter(f"status = 'WAITING' and waited_until >= date '{start}' - 1")
        waiting = [
            Candidate(*row)
            for row in waited.select("customer_key, created_date, rm_id, branch_id, priority, reason").fetchall()
        ]
    window = start if dbt.is_incremental else None
    facts = customer_facts(
        dbt,
        facts_since,
        start,
        int(dbt.config.get("open_complaints_window_days")),
        timedelta(days=int(dbt.config.get("call_delivery_slack_days"))),
    )
    facts.do_not_contact = do_not_contact(dbt, session, dbt.config.get("do_not_contact_file"))
    if start == EVER:
        start = min((c.candidate_date for c in candidates), default=as_of + timedelta(days=1))
    run = resume_leads(candidates, facts, rules, as_of, start, earlier, waiting)
    waits: dict[tuple[str, date], tuple[Candidate, date]] = {}
    for candidate in waiting:
        waits[(candidate.customer_key, candidate.candidate_date)] = (candidate, start - timedelta(days=1))
    for candidate, until in run.waited.items():
        waits[(candidate.customer_key, candidate.candidate_date)] = (candidate, until)
    rows = [dict(lead.__dict__, waited_until=None, as_of_load_id=as_of_load) for lead in run.reviewed + run.leads]
    rows += [
        {
            "lead_id": md5(f"{c.customer_key}|{c.candidate_date.isoformat()}|WAITING".encode()).hexdigest(),
            "customer_key": c.customer_key,
            "rm_id": c.rm_id,
            "branch_id": c.branch_id,
            "created_date": c.candidate_date,
            "due_date": c.candidate_date + timedelta(days=rules.due_days),
            "priority": c.priority,
            "reason": c.reason,
            "status": "WAITING",
            "suppressed_reason": None,
            "outcome_date": None,
            "outcome": None,
            "waited_until": until,
            "as_of_load_id": as_of_load,
        }
        for c, until in waits.values()
    ]
    tonight = pa.table({name: pa.array([row[name] for row in rows], kind) for name, kind in COLUMNS.items()})
    return tonight if window is None else with_window_marker(tonight, window)


def with_window_marker(rows: pa.Table, window: date) -> pa.Table:
    """`rows` and the marker row of an incremental night: lead_id null, created_date the first day
    the night judged again (EVER: every row), which strategy replace_unsettled_leads reads and never
    inserts."""
    marker = {name: pa.array([window if name == "created_date" else None], kind) for name, kind in COLUMNS.items()}
    return pa.concat_tables([rows, pa.table(marker)])


def window_start(dbt, session, loads) -> date:
    """The first day the night judges again (see the module's doc)."""
    (watermark,) = session.sql(f"select coalesce(max(as_of_load_id), '') from {dbt.this}").fetchone()
    (delivered,) = loads.filter(f"load_id > {literal(watermark)}").aggregate("min(earliest_fact_date)").fetchone()
    start = (delivered or date.max) - timedelta(days=int(dbt.config.get("event_lookback_days")))
    dbt.ref("int_customer_versions").filter("is_current").select("customer_key").create_view("lead_customers")
    (rekeyed,) = session.sql(
        f"select min(created_date) from {dbt.this} where customer_key not in (select customer_key from lead_customers)"
    ).fetchone()
    return min(start, rekeyed or start)


def do_not_contact(dbt, session, path: str) -> frozenset[str]:
    """The customers on the bank's do-not-contact register (setting do_not_contact_file: a CSV of
    core banking customer ids), by their unified key; none when the file does not exist. An id
    that names no customer of the feeds (not delivered yet, or closed long ago) keys nobody."""
    if not Path(path).is_file():
        return frozenset()
    register = session.read_csv(path, header=True, all_varchar=True)
    if "customer_id" not in register.columns:
        raise ValueError(
            f"{Path(path).resolve()}: the do-not-contact register (setting do_not_contact_file) has no"
            f" customer_id column, only {register.columns}"
        )
    register.create_view("do_not_contact_register")
    dbt.ref("int_customer_xref").filter(
        "source_system = 'core_banking' and source_table = 'customers' and customer_key is not null"
    ).create_view("do_not_contact_xref")
    rows = session.sql(
        "select distinct xref.customer_key from do_not_contact_xref as xref"
        " inner join do_not_contact_register as register on xref.source_key = trim(register.customer_id)"
    ).fetchall()
    return frozenset(key for (key,) in rows)


def customer_facts(dbt, since: date, start: date, complaint_days: int, slack: timedelta) -> CustomerFacts:
    """The contacts and sales from `since` on, and the complaints still open at `start` (a
    complaint is open for `complaint_days` from its day: int_lead_customer_facts' until_date).
    A call is delivered at most `slack` before its day (the feed gate's impossible_dates)."""
    contacts, conversions, complaints = defaultdict(list), defaultdict(list), defaultdict(list)
    facts = dbt.ref("int_lead_customer_facts")
    if since != EVER:
        # Two reads, each a plain range DuckDB takes down to the scans: every fact from `since`,
        # and the complaints before it still open at `start` (until_date is fact_date +
        # complaint_days), a range of the calls only. One `or` of the two read every fact of the
        # history; bounded by the earlier day, every posting of the complaints' 90 days. Each
        # range bounds delivered_date too, from `slack` before its first, as the SQL models do
        # (customer_events_delivered_since, macros/crm_events.sql): the condition a call's scan takes.
        earliest = start - timedelta(days=complaint_days - 1)
        facts = facts.filter(f"fact_date >= date '{since}' and delivered_date >= date '{since - slack}'").union(
            facts.filter(
                f"fact_kind = 'OPEN_COMPLAINT' and fact_date >= date '{earliest}' and fact_date < date '{since}'"
                f" and delivered_date >= date '{earliest - slack}' and until_date > date '{start}'"
            )
        )
    for customer, kind, day, until in (
        facts.order("fact_date").select("customer_key, fact_kind, fact_date, until_date").fetchall()
    ):
        if kind == "CONTACT":
            contacts[customer].append(day)
        elif kind == "CONVERSION":
            conversions[customer].append(day)
        else:
            complaints[customer].append((day, until))
    return CustomerFacts(contacts=contacts, conversions=conversions, complaints=complaints)
