"""Leads: the candidates of int_lead_candidates under the contact rules, day by day.

A dbt Python model because the rules depend on the leads before them (a customer's last lead,
an RM's open leads): the loop is models.crm.leads.assign_leads (docs/crm.md); the outcomes
come from int_lead_customer_facts. Rebuilt whole each night (see docs/crm.md, "What is not
incremental yet").
"""

from collections import defaultdict

import pyarrow as pa

from models.crm.leads import Candidate, ContactRules, CustomerFacts, assign_leads


def model(dbt, session):
    dbt.config(materialized="table")
    rules = ContactRules(
        customer_gap_days=int(dbt.config.get("lead_customer_gap_days")),
        rm_max_open=int(dbt.config.get("lead_rm_max_open")),
        due_days=int(dbt.config.get("lead_due_days")),
    )
    loads = dbt.ref("int_business_date_loads").aggregate("max(business_date) as as_of").fetchone()
    candidates = [
        Candidate(*row)
        for row in dbt.ref("int_lead_candidates")
        .select("customer_key, candidate_date, rm_id, branch_id, priority, reason")
        .fetchall()
    ]
    contacts, conversions, complaints = defaultdict(list), defaultdict(list), defaultdict(list)
    for customer, kind, day, until in (
        dbt.ref("int_lead_customer_facts")
        .order("fact_date")
        .select("customer_key, fact_kind, fact_date, until_date")
        .fetchall()
    ):
        if kind == "CONTACT":
            contacts[customer].append(day)
        elif kind == "CONVERSION":
            conversions[customer].append(day)
        else:
            complaints[customer].append((day, until))
    facts = CustomerFacts(contacts=contacts, conversions=conversions, complaints=complaints)
    leads = assign_leads(candidates, facts, rules, as_of=loads[0]) if loads and loads[0] else []
    columns = {
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
    }
    return pa.table({name: pa.array([getattr(lead, name) for lead in leads], kind) for name, kind in columns.items()})
