"""The contact rules of the leads (models/crm/leads.py), each at its boundary, on small fixtures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.crm.leads import (
    Candidate,
    ContactRules,
    CustomerFacts,
    DoubledCandidates,
    assign_leads,
    resume_leads,
)

D0 = date(2026, 9, 1)
RULES = ContactRules(customer_gap_days=7, rm_max_open=2, due_days=5)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def candidate(customer: str, n: int, priority: int = 20, rm: str | None = "RM1") -> Candidate:
    return Candidate(customer, day(n), rm, "B1", priority, f"event of {customer}")


def test_one_lead_per_customer_within_the_gap() -> None:
    # given candidates of one customer on days 0, 6 (inside the 7-day gap) and 7 (just after)
    candidates = [candidate("C1", 0), candidate("C1", 6), candidate("C1", 7)]
    # when the leads are assigned
    leads = assign_leads(candidates, CustomerFacts(), RULES, as_of=day(30))
    # then day 6 gets none and day 7 gets one
    assert [lead.created_date for lead in leads] == [day(0), day(7)]


def test_an_rm_at_capacity_serves_the_highest_priority_and_the_lowest_waits() -> None:
    # given three candidates of one RM on the same day, capacity two
    candidates = [candidate("C1", 0, 10), candidate("C2", 0, 30), candidate("C3", 0, 20)]
    # and C2 is contacted on day 2, which frees a place
    facts = CustomerFacts(contacts={"C2": [day(2)]})
    # when the leads are assigned
    leads = {lead.customer_key: lead for lead in assign_leads(candidates, facts, RULES, as_of=day(30))}
    # then C2 and C3 are served at once; C1 waits until day 2, when C2's lead closes
    assert leads["C2"].created_date == leads["C3"].created_date == day(0)
    assert leads["C1"].created_date == day(2)
    assert "waited since" in leads["C1"].reason
    assert (leads["C2"].status, leads["C2"].outcome_date) == ("CONTACTED", day(2))


def test_a_waiting_candidate_is_dropped_when_its_due_date_passes() -> None:
    # given an RM whose two leads stay open until they expire (day 5), and a third candidate
    rules = ContactRules(customer_gap_days=7, rm_max_open=2, due_days=4)
    candidates = [candidate("C1", 0, 30), candidate("C2", 0, 30), candidate("C3", 0, 10)]
    # when the leads are assigned
    leads = assign_leads(candidates, CustomerFacts(), rules, as_of=day(30))
    # then the third is never served: places free on day 5, its moment ended on day 4
    assert sorted(lead.customer_key for lead in leads) == ["C1", "C2"]
    assert {lead.status for lead in leads} == {"EXPIRED"}


def test_the_branch_queue_has_no_limit() -> None:
    candidates = [candidate(f"C{n}", 0, rm=None) for n in range(5)]
    leads = assign_leads(candidates, CustomerFacts(), RULES, as_of=day(30))
    assert len(leads) == 5
    assert {lead.rm_id for lead in leads} == {None}


def test_open_complaints_and_do_not_contact_are_suppressed_with_their_reason() -> None:
    # given a complaint open on [day 0, day 3) and a do-not-contact customer
    facts = CustomerFacts(complaints={"C1": [(day(0), day(3))]}, do_not_contact=frozenset({"C2"}))
    candidates = [candidate("C1", 2), candidate("C1", 3), candidate("C2", 0)]
    # when the leads are assigned
    leads = assign_leads(candidates, facts, RULES, as_of=day(30))
    # then day 2 is suppressed, day 3 (the complaint closed) is a lead
    got = [(lead.customer_key, lead.created_date, lead.status, lead.suppressed_reason) for lead in leads]
    assert got == [
        ("C2", day(0), "SUPPRESSED", "DO_NOT_CONTACT"),
        ("C1", day(2), "SUPPRESSED", "OPEN_COMPLAINT"),
        ("C1", day(3), "EXPIRED", None),
    ]


def test_outcomes_at_the_due_date() -> None:
    # given leads created on day 0, due on day 5
    candidates = [candidate(c, 0, rm=None) for c in ("SOLD", "CALLED", "LATE", "SAME_DAY", "PENDING")]
    facts = CustomerFacts(
        contacts={"CALLED": [day(5)], "LATE": [day(6)], "SAME_DAY": [day(0)], "SOLD": [day(1)]},
        conversions={"SOLD": [day(3)]},
    )
    # when assigned as of day 10, and for PENDING as of day 5
    leads = {lead.customer_key: lead for lead in assign_leads(candidates, facts, RULES, as_of=day(10))}
    pending = assign_leads([candidate("PENDING", 0, rm=None)], facts, RULES, as_of=day(5))
    # then a sale by the due date converts, a contact on it counts, a day later or on the day
    # the lead was raised does not
    assert (leads["SOLD"].status, leads["SOLD"].outcome_date) == ("CONVERTED", day(3))
    assert (leads["CALLED"].status, leads["CALLED"].outcome_date) == ("CONTACTED", day(5))
    assert (leads["LATE"].status, leads["LATE"].outcome_date) == ("EXPIRED", day(5))
    assert leads["SAME_DAY"].status == "EXPIRED"
    assert (pending[0].status, pending[0].outcome_date) == ("OPEN", None)


def test_the_result_does_not_depend_on_input_order() -> None:
    candidates = [candidate(f"C{n}", n % 3, priority=n % 4) for n in range(20)]
    first = assign_leads(candidates, CustomerFacts(), RULES, as_of=day(20))
    second = assign_leads(list(reversed(candidates)), CustomerFacts(), RULES, as_of=day(20))
    assert first == second


def test_resuming_at_any_day_gives_the_leads_of_the_whole_run() -> None:
    # given 40 days of candidates of three RMs at capacity two and the branch queue, with
    # contacts, sales and complaints, so that candidates wait, leads stay open and expire
    candidates = [
        candidate(f"C{n % 23}", n % 40, priority=10 + n % 7, rm=(None, "RM1", "RM2", "RM3")[n % 4])
        for n in range(0, 400, 3)
    ]
    facts = CustomerFacts(
        contacts={f"C{n}": [day(n % 11 + 2), day(n % 17 + 15)] for n in range(0, 23, 2)},
        conversions={f"C{n}": [day(n + 9)] for n in range(1, 23, 5)},
        complaints={"C3": [(day(8), day(12))]},
    )
    whole = resume_leads(candidates, facts, RULES, day(42), start=day(0))
    assert whole.waited and {lead.status for lead in whole.leads} >= {"OPEN", "EXPIRED", "CONTACTED", "SUPPRESSED"}
    for start in (day(n) for n in range(1, 44)):
        # when a night resumes at `start` from the leads before it (as an earlier night, one day
        # behind, left them) and the candidates that waited the day before
        before = resume_leads(candidates, facts, RULES, start - timedelta(days=1), start=day(0))
        earlier = [lead for lead in before.leads if lead.created_date < start]
        waiting = [c for c, until in before.waited.items() if until >= start - timedelta(days=1)]
        night = resume_leads(candidates, facts, RULES, day(42), start, earlier, waiting)
        # then the earlier leads, their outcomes read again, and the night's are the whole run's
        reviewed = {lead.lead_id: lead for lead in night.reviewed}
        kept = [reviewed.get(lead.lead_id, lead) for lead in earlier]
        assert sorted(kept + night.leads, key=lambda lead: lead.lead_id) == sorted(
            whole.leads, key=lambda lead: lead.lead_id
        ), start
        assert {c: u for c, u in whole.waited.items() if u >= start} == night.waited


def test_a_customer_day_held_by_two_candidates_fails_naming_it() -> None:
    # given a customer with two candidates on one day (the view's uniqueness broken), and one each on other days
    candidates = [candidate("C1", 2), candidate("C2", 2), candidate("C1", 3), candidate("C1", 2, priority=5)]
    # when the loop runs over them, or resumes at that day: it serves a customer once a day, so
    # the doubled candidate would leave one lead and no test of the leads could see it
    for start in (day(0), day(2)):
        with pytest.raises(DoubledCandidates, match=f"1 customer-day.*C1 on {day(2).isoformat()}"):
            resume_leads(candidates, CustomerFacts(), RULES, day(10), start)
    # and a night that resumes after that day does not judge it again (an earlier night did)
    assert resume_leads(candidates, CustomerFacts(), RULES, day(10), day(3)).leads
