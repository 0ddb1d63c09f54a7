"""The contact centre: agents, inbound service calls and outbound campaigns.

Calls follow what happened elsewhere: a fee in the ledger brings a FEE_DISPUTE call (and, if
the bank agrees, the refund booked that day), most warned churners call RETENTION and some
COMPLAINTS before they leave (silent ones never do; look-alikes do and stay), borrowers in
arrears get COLLECTIONS calls, and SALES campaigns dial customers without a credit card. The
caller-number defects are injected here: calls from a number no customer has, and from a
household number that several customers share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import contacts
from .config import SimulationConfig
from .days import DAY, epoch_day, to_date, weekday
from .formats import join, numbered
from .ledger import DayBook, Disputes, concat_disputes
from .population import Customers
from .randomness import Sampler, choice, stream
from .reference import FAMILY_NAMES, GIVEN_NAMES
from .truth import DefectLog

TEAMS = {
    "GENERAL": 10,
    "CARDS": 4,
    "LOANS": 3,
    "DEPOSITS": 3,
    "WEALTH": 2,
    "COMPLAINTS": 3,
    "RETENTION": 2,
    "COLLECTIONS": 3,
    "SALES": 4,
}
QUEUES = tuple(TEAMS)
ROUTINE = (
    ("BALANCE_QUERY", "GENERAL", 30),
    ("TRANSFER_ISSUE", "GENERAL", 12),
    ("PASSWORD_RESET", "GENERAL", 10),
    ("CARD_LOST", "CARDS", 8),
    ("CARD_ACTIVATION", "CARDS", 6),
    ("LOAN_ENQUIRY", "LOANS", 8),
    ("DEPOSIT_RATE", "DEPOSITS", 8),
    ("WEALTH_ADVICE", "WEALTH", 4),
    ("COMPLAINT_SERVICE", "COMPLAINTS", 4),
)
"""Reasons people call unprompted, their queue and weight."""


@dataclass
class Agents:
    agent_id: pa.Array
    full_name: pa.Array
    team: np.ndarray
    site: np.ndarray
    hire_day: np.ndarray


def build_agents(seed: int, start_day: int) -> Agents:
    rng = stream(seed, "agents")
    team = np.repeat(np.asarray(QUEUES), list(TEAMS.values()))
    n = len(team)
    family = pa.array(rng.choice(np.asarray(FAMILY_NAMES), n))
    given = pa.array(rng.choice(np.asarray(GIVEN_NAMES), n))
    return Agents(
        agent_id=numbered("AG", np.arange(101, 101 + n), 3),
        full_name=join(family, " ", given),
        team=team,
        site=np.where(rng.random(n) < 0.6, "Shanghai Contact Centre", "Chengdu Contact Centre"),
        hire_day=start_day - rng.integers(60, 8 * 365, n),
    )


@dataclass
class Calls:
    """One entry per call, sorted by call_id (= start time)."""

    call_id: pa.Array
    day: np.ndarray
    inbound: np.ndarray
    started: np.ndarray
    answered: np.ndarray
    """Wall seconds, -1 when nobody answered."""
    ended: np.ndarray
    caller_number: pa.Array
    customer: np.ndarray
    """The customer record the IVR authenticated, -1 if none."""
    person: np.ndarray
    """Who really called or was called (the answer key)."""
    queue: np.ndarray
    agent: np.ndarray
    wait: np.ndarray
    talk: np.ndarray
    hold: np.ndarray
    transfers: np.ndarray
    reason: np.ndarray
    outcome: np.ndarray
    complaint: np.ndarray
    csat: np.ndarray
    campaign: np.ndarray


class CallCentre:
    """The calls of each business day, played as the ledger books it.

    Churners' retention and complaint calls are planned when the bank is built (their
    leaving day is known); fee disputes come from the ledger's fees of the last days.
    """

    def __init__(
        self,
        config: SimulationConfig,
        customers: Customers,
        agents: Agents,
        has_credit_card: np.ndarray,
        accounts_customer: np.ndarray,
        log: DefectLog,
        has_any_card: np.ndarray | None = None,
    ) -> None:
        self.rng = stream(config.seed, "calls")
        self.sampler = Sampler(config.seed, "call_defects")
        self.config, self.c, self.agents, self.log = config, customers, agents, log
        self.has_credit_card, self.accounts_customer = has_credit_card, accounts_customer
        self.has_any_card = has_credit_card if has_any_card is None else has_any_card
        start, end = epoch_day(config.start), epoch_day(config.end)
        c = customers
        self.reachable = pc.is_valid(c.phone_digits).to_numpy(zero_copy_only=False)
        self.rate = np.where(c.corporate, 0.012, np.where(c.duplicate_of >= 0, 0.002, 0.006))
        self.disputes: list[Disputes] = []
        self.next_call = 1
        # warned churners call retention in their last 30 days and may complain on the way out;
        # silent churners never call; look-alikes complain or call retention and stay
        behaviour = config.churn
        warned = c.churner & (c.drain_day < c.closed_day) & (c.duplicate_of < 0)
        callers = np.flatnonzero(warned & (self.rng.random(len(c)) < behaviour.retention_call_share))
        first = np.maximum(c.drain_day[callers], c.closed_day[callers] - 30)
        retention_day = first + (self.rng.random(len(callers)) * (c.closed_day[callers] - first + 1)).astype(np.int64)
        complainers = np.flatnonzero(warned & (self.rng.random(len(c)) < behaviour.complaint_call_share))
        alike = c.lookalike & (c.duplicate_of < 0)
        alike_complain = np.flatnonzero(alike & (self.rng.random(len(c)) < behaviour.lookalike_complaint_share))
        alike_retain = np.flatnonzero(alike & (self.rng.random(len(c)) < behaviour.lookalike_retention_share))
        complainers = np.concatenate([complainers, alike_complain])
        retainers = np.concatenate([callers, alike_retain])
        retention_day = np.concatenate([retention_day, self._within_spell(alike_retain)])
        complaint_day = self._within_spell(complainers)
        self.planned = [
            _frame(
                np.clip(retention_day, start, end), retainers, np.full(len(retainers), "CLOSE_ACCOUNT"), True, 8, 20
            ),
            _frame(
                np.clip(complaint_day, start, end),
                complainers,
                np.full(len(complainers), "COMPLAINT_SERVICE"),
                True,
                8,
                20,
            ),
        ]

    def _within_spell(self, who: np.ndarray) -> np.ndarray:
        """A day drawn uniformly within each customer's warning spell."""
        first, last = self.c.drain_day[who], self.c.drain_end[who]
        return first + (self.rng.random(len(who)) * (last - first + 1)).astype(np.int64)

    def day(self, book: DayBook, disputes: Disputes) -> Calls:
        """The calls of `book.day` (they end the same day), sorted by start."""
        rng, c, d = self.rng, self.c, book.day
        present = (c.onboard_day <= d) & (c.closed_day >= d)
        who = np.flatnonzero(present & (rng.random(len(c)) < self.rate))
        idx = choice(rng, np.arange(len(ROUTINE)), len(who), [r[2] for r in ROUTINE])
        reason = np.asarray([r[0] for r in ROUTINE])[idx]
        reason = np.where((reason == "WEALTH_ADVICE") & ~c.affluent[who], "BALANCE_QUERY", reason)
        # only cardholders lose or activate a card
        carded = np.isin(reason, ["CARD_LOST", "CARD_ACTIVATION"])
        reason = np.where(carded & ~self.has_any_card[who], "BALANCE_QUERY", reason)
        frames = [_frame(d, who, reason, True, 8, 20)]
        # borrowers in arrears
        late = book.loan_account[(book.loan_dpd >= 5) & (book.loan_dpd <= 120)]
        debtor = np.unique(self.accounts_customer[late[rng.random(len(late)) < 0.08]])
        debtor = debtor[self.reachable[debtor]]
        frames.append(_frame(d, debtor, np.full(len(debtor), "PAYMENT_REMINDER"), False, 9, 19))
        # a sales campaign each month, on weekdays
        if weekday(np.array([d]))[0] < 5:
            target = np.flatnonzero(
                present & self.reachable & ~c.corporate & (c.duplicate_of < 0) & ~self.has_credit_card & ~c.churner
            )
            target = target[rng.random(len(target)) < 0.01]
            frame = _frame(d, target, np.full(len(target), "PRODUCT_OFFER"), False, 9, 19)
            frame["campaign"] = np.full(len(target), f"CMP-{to_date(d):%Y%m}-CC", dtype=object)
            frames.append(frame)
        # fee disputes from the ledger, on the day the customer calls
        self.disputes.append(disputes)
        pending = concat_disputes(self.disputes)
        now = pending.call_day == d
        self.disputes = [_take_disputes(pending, ~now)]
        frame = _frame(d, pending.customer[now], np.full(int(now.sum()), "FEE_DISPUTE"), True, 8, 16)
        frame["refunded"] = pending.reversed[now]
        frames.append(frame)
        for planned in self.planned:
            frames.append({k: v[planned["day"] == d] for k, v in planned.items()})
        calls = _play(rng, self.sampler, self.config, c, self.agents, _merge(rng, frames), self.log, self.next_call)
        self.next_call += len(calls.day)
        return calls


def _take_disputes(d: Disputes, mask: np.ndarray) -> Disputes:
    return Disputes(d.customer[mask], d.fee_number[mask], d.call_day[mask], d.reversed[mask])


def _frame(
    day: np.ndarray | int, customer: np.ndarray, reason: np.ndarray, inbound: bool, first: int, last: int
) -> dict[str, np.ndarray]:
    n = len(customer)
    return {
        "day": np.broadcast_to(np.asarray(day, np.int64), (n,)).copy(),
        "customer": np.asarray(customer, np.int64),
        "reason": np.asarray(reason, dtype=object),
        "inbound": np.full(n, inbound),
        "window": np.tile(np.array([first, last]), (n, 1)),
        "campaign": np.full(n, None, dtype=object),
        "refunded": np.zeros(n, bool),
    }


def _merge(rng: np.random.Generator, frames: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    merged = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
    n = len(merged["day"])
    window = merged["window"]
    merged["started"] = merged["day"] * DAY + rng.integers(window[:, 0] * 3600, window[:, 1] * 3600, n)
    order = np.lexsort((merged["customer"], merged["started"]))
    return {k: v[order] for k, v in merged.items()}


def _play(
    rng: np.random.Generator,
    sampler: Sampler,
    config: SimulationConfig,
    c: Customers,
    agents: Agents,
    f: dict[str, np.ndarray],
    log: DefectLog,
    first_call: int,
) -> Calls:
    """Queue, wait, talk and outcome of every call, then the caller-number defects."""
    n = len(f["day"])
    reason, inbound = f["reason"].astype(str), f["inbound"]
    queue = np.select(
        [reason == r for r, _, _ in ROUTINE]
        + [reason == "FEE_DISPUTE", reason == "CLOSE_ACCOUNT", reason == "PAYMENT_REMINDER", reason == "PRODUCT_OFFER"],
        [q for _, q, _ in ROUTINE] + ["GENERAL", "RETENTION", "COLLECTIONS", "SALES"],
        "GENERAL",
    )
    slow = np.isin(queue, ["COMPLAINTS", "RETENTION"])
    wait = np.minimum(rng.exponential(np.where(slow, 90, 45)), 900).astype(np.int64)
    wait = np.where(inbound, wait, rng.integers(15, 40, n))
    answered = np.where(inbound, wait < rng.exponential(400, n), rng.random(n) < 0.6)
    answered |= f["refunded"]  # a refunded fee was agreed on the phone
    talk = np.minimum(np.exp(rng.normal(np.log(np.where(slow, 420, 240)), 0.6)), 3600).astype(np.int64)
    hold = np.where(rng.random(n) < 0.4, np.minimum(rng.exponential(60, n), 900), 0).astype(np.int64)
    talk, hold = np.where(answered, talk, 0), np.where(answered, hold, 0)
    transfers = np.where(answered, choice(rng, np.arange(3), n, [85, 12, 3]), 0)
    agent = _agents_for(rng, agents, queue)
    agent = np.where(answered | ~inbound, agent, -1)

    refunded = f["refunded"]
    outcome = np.where(rng.random(n) < 0.8, "RESOLVED", np.where(rng.random(n) < 0.5, "ESCALATED", "CALLBACK"))
    outcome = np.where(reason == "FEE_DISPUTE", np.where(refunded, "RESOLVED", "ESCALATED"), outcome)
    outcome = np.where(reason == "CLOSE_ACCOUNT", np.where(rng.random(n) < 0.5, "ESCALATED", "RESOLVED"), outcome)
    outcome = np.where(reason == "PRODUCT_OFFER", np.where(rng.random(n) < 0.25, "SALE", "NO_SALE"), outcome)
    outcome = np.where(answered, outcome, np.where(inbound, "ABANDONED", "NO_ANSWER"))
    complaint = (reason == "COMPLAINT_SERVICE") | ((reason == "FEE_DISPUTE") & (rng.random(n) < 0.35))
    complaint |= inbound & (rng.random(n) < 0.02)
    unhappy = complaint | (reason == "CLOSE_ACCOUNT")
    score = np.where(
        unhappy,
        choice(rng, np.arange(1, 6), n, [30, 25, 20, 15, 10]),
        choice(rng, np.arange(1, 6), n, [3, 5, 12, 35, 45]),
    )
    csat = np.where(answered & inbound & (rng.random(n) < 0.35), score, -1)

    customer = f["customer"].copy()
    person = c.person[customer]
    number = c.phone_digits.take(pa.array(customer))
    authenticated = ~inbound | (rng.random(n) < 0.75)
    defects_rng = sampler.rng
    routine = np.flatnonzero(inbound & np.isin(reason, [r[0] for r in ROUTINE]))
    # Calls from numbers no record holds come from the persons who have such a number, and
    # again and again from the same one; the IVR authenticates them like any other call. The
    # rate stays the share of all routine inbound calls.
    off_record = routine[contacts.calls_off_record(person[routine])]
    share = config.defects.unknown_callers * len(routine) / len(off_record) if len(off_record) else 0.0
    unknown = sampler.pick("unknown_caller", off_record, min(1.0, share))
    number = _replace(number, unknown, contacts.off_record_numbers(person[unknown]))
    households = np.unique(c.household[c.household >= 0])
    shared = (
        sampler.pick("ambiguous_caller", np.setdiff1d(routine, unknown), config.defects.ambiguous_callers)
        if len(households)
        else routine[:0]
    )
    members = np.flatnonzero(c.household >= 0)
    caller = defects_rng.choice(members, len(shared)) if len(shared) else shared
    customer[shared], person[shared] = caller, c.person[caller]
    number = _replace(number, shared, c.phone_digits.take(pa.array(caller)))
    authenticated[shared] = False
    variant = np.zeros(n, np.int64)
    keyed = sampler.pick(
        "phone_format",
        np.flatnonzero(inbound & pc.is_valid(number).to_numpy(zero_copy_only=False)),
        config.defects.phone_formats,
    )
    variant[keyed] = defects_rng.integers(1, contacts.PHONE_VARIANTS, len(keyed))
    answered_at = np.where(answered, f["started"] + wait, -1)
    ended = np.where(answered, answered_at + talk + hold, f["started"] + wait)
    calls = Calls(
        call_id=numbered("CL", first_call + np.arange(n), 9),
        day=f["day"],
        inbound=inbound,
        started=f["started"],
        answered=answered_at,
        ended=ended,
        caller_number=contacts.render_phones(number, variant),
        customer=np.where(authenticated, customer, -1),
        person=person,
        queue=queue,
        agent=agent,
        wait=wait,
        talk=talk,
        hold=hold,
        transfers=transfers,
        reason=reason,
        outcome=outcome,
        complaint=complaint,
        csat=csat,
        campaign=f["campaign"],
    )
    # every call from (or to) a household's number matches several customers, chosen or not
    household = np.flatnonzero((c.household[customer] >= 0) & ~np.isin(np.arange(n), unknown))
    _record(log, calls, unknown, household, keyed)
    return calls


def _agents_for(rng: np.random.Generator, agents: Agents, queue: np.ndarray) -> np.ndarray:
    agent = np.zeros(len(queue), np.int64)
    for team in QUEUES:
        members = np.flatnonzero(agents.team == team)
        here = queue == team
        agent[here] = rng.choice(members, int(here.sum()))
    return agent


def _replace(values: pa.Array, index: np.ndarray, replacement: pa.Array) -> pa.Array:
    if len(index) == 0:
        return values
    position = np.zeros(len(values), np.int64)
    position[index] = np.arange(len(index))
    mask = np.zeros(len(values), bool)
    mask[index] = True
    return pc.if_else(pa.array(mask), replacement.take(pa.array(position)), values)


def _record(log: DefectLog, calls: Calls, unknown: np.ndarray, household: np.ndarray, keyed: np.ndarray) -> None:
    system, file = "call_center", "calls.csv"
    ids = calls.call_id
    log.add(
        "unknown_caller",
        system,
        calls.day[unknown],
        file,
        ids.take(pa.array(unknown)),
        np.where(
            calls.customer[unknown] < 0,
            "caller number matches no customer record; not authenticated",
            "caller number matches no customer record",
        ),
    )
    anonymous = calls.customer[household] < 0
    detail = np.where(
        anonymous,
        "caller number shared by several customers of one household; not authenticated",
        "caller number shared by several customers of one household",
    )
    log.add("ambiguous_caller", system, calls.day[household], file, ids.take(pa.array(household)), detail)
    log.add(
        "phone_format",
        system,
        calls.day[keyed],
        file,
        ids.take(pa.array(keyed)),
        calls.caller_number.take(pa.array(keyed)),
    )
