"""Leads from candidates, day by day, under the contact rules (docs/crm.md).

The contact rules depend on what happened before: a lead blocks the customer's next one for
`customer_gap_days`, and an RM's open leads (until contacted, converted or expired) limit
what the RM is given the next day. That is a loop over days, which SQL has no good form for;
the dbt Python model `int_leads` feeds it the candidates (one per customer and day, from the
events and the visits due) and the later contacts and sales, and stores what it returns.

Per day, in this order:
1. the day's new candidates join the ones still waiting for their RM (a candidate waits at
   most `due_days`; after that it is dropped: its moment has passed);
2. candidates are served by priority (highest first; then the earlier candidate, then the
   customer key, so the result never depends on input order);
3. a customer who may not be contacted (do-not-contact, or an open complaint the complaint
   team handles) gets a SUPPRESSED lead with its reason, once per candidate day;
4. a customer with a lead created in the last `customer_gap_days` days gets none;
5. a candidate whose RM already holds `rm_max_open` open leads waits (the branch queue,
   a customer without an RM, has no limit);
6. otherwise the lead is created, due `due_days` later, and its outcome read from the
   later contacts: CONVERTED (a sale or a new account by the due date), CONTACTED (a call
   or branch contact by then), EXPIRED (nothing by the due date, once the data has passed
   it), else OPEN. A lead is open from its creation to its first contact, sale or expiry.

A night resumes the loop at its window's first day (`resume_leads`) from the state the earlier
leads leave there: each customer's last lead, each RM's open leads (their outcomes read again
from tonight's facts, as are those of every lead still open or due in the window) and the
candidates still waiting for their RM, which the loop reports (`LeadRun.waited`) so that the
model can keep them. From the same state the loop does what it did over the whole history.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta


@dataclass(frozen=True)
class ContactRules:
    customer_gap_days: int
    """At most one lead per customer in this many days."""
    rm_max_open: int
    """At most this many open leads per RM; the lowest priority waits."""
    due_days: int
    """A lead is due this many days after it is created; a waiting candidate is dropped then."""


@dataclass(frozen=True)
class Candidate:
    customer_key: str
    candidate_date: date
    rm_id: str | None
    branch_id: str | None
    priority: int
    reason: str


@dataclass(frozen=True)
class Lead:
    lead_id: str
    customer_key: str
    rm_id: str | None
    branch_id: str | None
    created_date: date
    due_date: date
    priority: int
    reason: str
    status: str
    suppressed_reason: str | None
    outcome_date: date | None
    outcome: str | None


@dataclass
class CustomerFacts:
    """What the feeds show of the customers, each list sorted by date."""

    contacts: Mapping[str, Sequence[date]] = field(default_factory=dict)
    """Calls answered with the customer and branch visits."""
    conversions: Mapping[str, Sequence[date]] = field(default_factory=dict)
    """Sales: a call ending in SALE, an account opened."""
    complaints: Mapping[str, Sequence[tuple[date, date]]] = field(default_factory=dict)
    """Open complaints as [from, to) periods."""
    do_not_contact: frozenset[str] = frozenset()


@dataclass
class LeadRun:
    leads: list[Lead]
    """The leads created on the days the loop ran."""
    waited: dict[Candidate, date]
    """Every candidate that waited for its RM, and the last day it waited (a candidate waits
    from its own day to that one without a break): those that waited the day before a window
    are waiting when the window starts."""
    reviewed: list[Lead] = field(default_factory=list)
    """The earlier leads given to resume from that were open or due in the window, with their
    outcomes read again."""


def lead_id(customer_key: str, created_date: date) -> str:
    """One lead per customer and day at most: the pair is the lead's identity."""
    return hashlib.md5(f"{customer_key}|{created_date.isoformat()}".encode()).hexdigest()


def _first_after(dates: Sequence[date], after: date, until: date) -> date | None:
    """The first date in (after, until] of a sorted sequence."""
    i = bisect.bisect_right(dates, after)
    return dates[i] if i < len(dates) and dates[i] <= until else None


def _suppression(customer: str, day: date, facts: CustomerFacts) -> str | None:
    if customer in facts.do_not_contact:
        return "DO_NOT_CONTACT"
    if any(start <= day < end for start, end in facts.complaints.get(customer, ())):
        return "OPEN_COMPLAINT"
    return None


def _outcome(customer: str, day: date, due: date, facts: CustomerFacts, as_of: date) -> tuple[str, date | None]:
    converted = _first_after(facts.conversions.get(customer, ()), day, due)
    if converted:
        return "CONVERTED", converted
    contacted = _first_after(facts.contacts.get(customer, ()), day, due)
    if contacted:
        return "CONTACTED", contacted
    if due < as_of:
        return "EXPIRED", due
    return "OPEN", None


def _closes_on(customer: str, day: date, due: date, facts: CustomerFacts) -> date:
    """The first day the lead is no longer open: its first contact or sale, or the day after
    it is due."""
    firsts = [
        found
        for found in (
            _first_after(facts.contacts.get(customer, ()), day, due),
            _first_after(facts.conversions.get(customer, ()), day, due),
        )
        if found is not None
    ]
    return min(firsts) if firsts else due + timedelta(days=1)


def assign_leads(candidates: Iterable[Candidate], facts: CustomerFacts, rules: ContactRules, as_of: date) -> list[Lead]:
    """The leads of every day from the first candidate's to `as_of` (see the module's doc)."""
    candidates = list(candidates)
    if not candidates:
        return []
    start = min(candidate.candidate_date for candidate in candidates)
    return resume_leads(candidates, facts, rules, as_of, start).leads


def resume_leads(
    candidates: Iterable[Candidate],
    facts: CustomerFacts,
    rules: ContactRules,
    as_of: date,
    start: date,
    earlier: Iterable[Lead] = (),
    waiting: Iterable[Candidate] = (),
) -> LeadRun:
    """The leads of every day from `start` to `as_of`, from the candidates dated from `start` on,
    resuming from what the days before left: `earlier`, the leads created before `start` that
    were not suppressed and were created in the last `customer_gap_days` days or are due from
    `start` on or still open (others may be given; they change nothing), and `waiting`, the
    candidates that waited for their RM the day before `start`."""
    by_day: dict[date, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.candidate_date >= start:
            by_day[candidate.candidate_date].append(candidate)
    check_one_per_customer_day(by_day)
    last_lead: dict[str, date] = {}
    open_until: dict[str, list[date]] = defaultdict(list)  # per RM, the close day of each lead
    reviewed: list[Lead] = []
    for lead in sorted(earlier, key=lambda lead: lead.created_date):
        if lead.created_date >= start or lead.status == "SUPPRESSED":
            continue
        last_lead[lead.customer_key] = lead.created_date
        if lead.due_date >= start or lead.status == "OPEN":
            status, outcome_date = _outcome(lead.customer_key, lead.created_date, lead.due_date, facts, as_of)
            outcome = status if outcome_date else None
            reviewed.append(replace(lead, status=status, outcome_date=outcome_date, outcome=outcome))
        if lead.rm_id is not None:
            open_until[lead.rm_id].append(_closes_on(lead.customer_key, lead.created_date, lead.due_date, facts))
    leads: list[Lead] = []
    waited: dict[Candidate, date] = {}
    waiting = list(waiting)
    day = start
    while day <= as_of:
        pool = [c for c in waiting if c.candidate_date + timedelta(days=rules.due_days) > day] + by_day.get(day, [])
        pool.sort(key=lambda c: (-c.priority, c.candidate_date, c.customer_key))
        waiting = []
        served_today: set[str] = set()
        for candidate in pool:
            customer = candidate.customer_key
            if customer in served_today:
                continue
            suppressed = _suppression(customer, day, facts)
            if suppressed:
                if candidate.candidate_date == day:
                    served_today.add(customer)
                    leads.append(_lead(candidate, day, rules, "SUPPRESSED", suppressed, None, None))
                continue
            if customer in last_lead and (day - last_lead[customer]).days < rules.customer_gap_days:
                continue
            rm = candidate.rm_id
            if rm is not None:
                still_open = [closes for closes in open_until[rm] if closes > day]
                open_until[rm] = still_open
                if len(still_open) >= rules.rm_max_open:
                    waiting.append(candidate)
                    waited[candidate] = day
                    continue
            due = day + timedelta(days=rules.due_days)
            status, outcome_date = _outcome(customer, day, due, facts, as_of)
            if rm is not None:
                open_until[rm].append(_closes_on(customer, day, due, facts))
            last_lead[customer] = day
            served_today.add(customer)
            leads.append(_lead(candidate, day, rules, status, None, outcome_date, status if outcome_date else None))
        day += timedelta(days=1)
    return LeadRun(leads=leads, waited=waited, reviewed=reviewed)


class DoubledCandidates(ValueError):
    """Candidates that repeat a customer's day: the loop serves a customer once a day, so a doubled
    candidate would leave one lead, or none, and no test of the leads could see it."""


def check_one_per_customer_day(by_day: Mapping[date, Sequence[Candidate]]) -> None:
    """Raise DoubledCandidates naming the customer-days that more than one candidate holds.

    The night's check of int_lead_candidates' uniqueness, where the leads read its rows: a
    night's warehouse gate does not compute the whole view for its test (docs/quality.md)."""
    doubled = sorted(
        (day, customer)
        for day, day_candidates in by_day.items()
        for customer, n in Counter(candidate.customer_key for candidate in day_candidates).items()
        if n > 1
    )
    if doubled:
        examples = ", ".join(f"{customer} on {day.isoformat()}" for day, customer in doubled[:3])
        raise DoubledCandidates(
            f"int_lead_candidates holds {len(doubled)} customer-day(s) more than once ({examples}):"
            " one candidate per customer and day is what the contact rules take (docs/crm.md)"
        )


def _lead(
    candidate: Candidate,
    day: date,
    rules: ContactRules,
    status: str,
    suppressed_reason: str | None,
    outcome_date: date | None,
    outcome: str | None,
) -> Lead:
    reason = candidate.reason
    if candidate.candidate_date != day:
        reason = f"{reason} (waited since {candidate.candidate_date.isoformat()})"
    return Lead(
        lead_id=lead_id(candidate.customer_key, day),
        customer_key=candidate.customer_key,
        rm_id=candidate.rm_id,
        branch_id=candidate.branch_id,
        created_date=day,
        due_date=day + timedelta(days=rules.due_days),
        priority=candidate.priority,
        reason=reason,
        status=status,
        suppressed_reason=suppressed_reason,
        outcome_date=outcome_date,
        outcome=outcome,
    )
