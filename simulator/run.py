"""`simulate()`: build the bank, play its days, write the deliveries and the answer key.

The order matters only where one part reads another: the ledger needs the customers'
online access to choose channels, the web log needs the ledger's online payments, the
contact centre needs the ledger's fees and arrears. Writing comes last, one delivery per
system per business date, each folder's manifest written after its files.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .accounts import build_accounts
from .calls import CallCentre, build_agents
from .config import SimulationConfig, SimulationSummary
from .days import NEVER, epoch_day, to_date
from .delivery import Courier, Plan
from .feed_calls import CallFeed
from .feed_core import CoreFeed
from .feed_online import OnlineFeed
from .formats import dates, join, numbered
from .ledger import DayBook, Ledger
from .online import Sessions, build_users, online_access
from .population import Customers, build_customers, relationship_managers
from .truth import Truth
from .weblog import WebLog
from .writer import LandedFile

log = logging.getLogger(__name__)


def simulate(config: SimulationConfig) -> SimulationSummary:
    """Write `config.days` daily deliveries of the three systems to `config.out`, and `_truth/`."""
    began = time.perf_counter()

    def step(message: str, *args: object) -> None:
        log.info("simulate: " + message + " (%.1fs)", *args, time.perf_counter() - began)

    tz = ZoneInfo(config.timezone)
    start, end = epoch_day(config.start), epoch_day(config.end)
    truth = Truth()
    rms = relationship_managers(config.seed, start)
    customers = build_customers(config, rms)
    step(
        "%d customer records of %d persons, %d onboarding and %d leaving in the period",
        len(customers),
        len(np.unique(customers.person)),
        int((customers.onboard_day >= start).sum()),
        int(customers.churner.sum()),
    )
    accounts, parties = build_accounts(config, customers, rms)
    users = build_users(config, customers)
    step("%d accounts, %d account parties, %d online users", len(accounts), len(parties.account), len(users))
    online_since, prefers_web = online_access(users, len(customers))
    ledger = Ledger(config, customers, accounts, online_since, prefers_web)
    sessions = Sessions(config, users, len(customers), accounts.customer)
    weblog = WebLog(config.seed, users, config.defects, end, tz, truth.defects)
    agents = build_agents(config.seed, start)
    has_card = np.zeros(len(customers), bool)
    has_card[accounts.customer[accounts.kind == "CREDIT_CARD"]] = True
    any_card = np.zeros(len(customers), bool)
    any_card[accounts.customer[np.isin(accounts.kind, ["CREDIT_CARD", "DEBIT_CARD"])]] = True
    centre = CallCentre(config, customers, agents, has_card, accounts.customer, truth.defects, any_card)
    core = CoreFeed(customers, accounts, parties, rms, tz)
    online = OnlineFeed(users, customers, tz)
    contact = CallFeed(agents, customers, tz)
    call_ids: list[pa.Array] = []
    call_persons: list[np.ndarray] = []

    courier = Courier(config, end, tz, truth.defects)
    _record_customers(truth, customers, start)

    # One business day at a time: the main thread plays day d while two workers render and
    # write the deliveries of the days before (rendering and compression release the GIL);
    # at most a few deliveries wait for a worker, so memory does not grow with the history.
    deliveries: list[tuple[str, date]] = []
    rows: Counter[tuple[str, str]] = Counter()
    progress = Progress(config, began)
    waiting: deque[tuple[Plan, Future[list[LandedFile]]]] = deque()
    resends: dict[int, list[tuple[Plan, Future[list[LandedFile]]]]] = {}

    # the main thread runs up to two days ahead of the writers (one for a very large bank,
    # whose day in flight is some hundreds of MB)
    ahead = 3 * (1 if config.customers > 300_000 else 2)

    def collect(block_until: int) -> None:
        while len(waiting) > block_until:
            plan, future = waiting.popleft()
            deliveries.append((plan.system, to_date(plan.day)))
            for landed in future.result():
                rows[(plan.system, landed.name.split("-")[0].split(".")[0])] += landed.rows
            if plan.system == "call_center":  # the day's last delivery: its defects are all known
                progress.day_done(plan.day, rows)
                truth.defects.settle(plan.day, config.truth_dir / "defects.csv")

    def web_day(book: DayBook) -> list[tuple[str, bytes, int]]:
        return weblog.day(sessions.day(book), book.day)

    def online_files(day: int, hour_files: Future[list[tuple[str, bytes, int]]]) -> list[LandedFile]:
        return online.files(day, hour_files.result())

    # Three stages overlap: the main thread books day d and its calls, one thread plays the
    # web sessions of the day before (in day order: the web log carries late events from one
    # day to the next), two workers render and write deliveries.
    with ThreadPoolExecutor(max_workers=2) as pool, ThreadPoolExecutor(max_workers=1) as web:
        for day in range(start, end + 1):
            book = ledger.day(day)
            hour_files = web.submit(web_day, book)
            calls = centre.day(book, ledger.take_disputes())
            call_ids.append(calls.call_id)
            call_persons.append(calls.person)
            renders: dict[str, Callable[[], list[LandedFile]]] = {
                "core_banking": partial(core.files, book),
                "online_banking": partial(online_files, day, hour_files),
                "call_center": partial(contact.files, calls),
            }
            for plan in courier.plan(day):
                future = pool.submit(courier.send, plan, renders[plan.system])
                courier.record(plan)
                waiting.append((plan, future))
                if plan.resend_day is not None:
                    resends.setdefault(plan.resend_day, []).append((plan, future))
            # corrected deliveries go out after the day's regular ones (the first version is
            # written by then: its future was submitted days earlier, and is awaited first)
            for plan, first in resends.pop(day, []):
                pool.submit(courier.resend, plan, first).result()
            collect(block_until=ahead)
        collect(block_until=0)

    truth.add_persons("online_banking", "users", users.user_id, users.person)
    truth.add_persons(
        "call_center", "calls", pa.chunked_array(call_ids, pa.string()).combine_chunks(), np.concatenate(call_persons)
    )
    leavers = np.flatnonzero(customers.churner)
    truth.churners = pa.table(
        {
            "customer_id": customers.customer_id.take(pa.array(leavers)),
            "left_on": dates(customers.closed_day[leavers]),
            "person_id": numbered("P", customers.person[leavers] + 1, 7),
            "drain_from": dates(customers.drain_day[leavers]),
            "salary_stopped_on": dates(customers.salary_stop[leavers], customers.salary_stop[leavers] != NEVER),
        }
    )
    alike = np.flatnonzero(customers.lookalike & (customers.duplicate_of < 0))
    truth.lookalikes = pa.table(
        {
            "customer_id": customers.customer_id.take(pa.array(alike)),
            "person_id": numbered("P", customers.person[alike] + 1, 7),
            "spell_from": dates(customers.drain_day[alike]),
            "spell_to": dates(customers.drain_end[alike]),
            "salary_gap_from": dates(customers.salary_stop[alike], customers.salary_stop[alike] != NEVER),
            "salary_gap_to": dates(customers.salary_resume[alike], customers.salary_resume[alike] != NEVER),
        }
    )
    truth.write(config)
    step("answer key written to %s: defects %s", config.truth_dir, truth.defects.kinds())
    return SimulationSummary(
        deliveries=deliveries, rows=dict(rows), seconds=time.perf_counter() - began, truth_dir=config.truth_dir
    )


class Progress:
    """A line every few business days (or every 30 seconds) with the rows written and the time."""

    def __init__(self, config: SimulationConfig, began: float) -> None:
        self.config, self.began, self.last = config, began, began
        self.every = max(1, min(30, config.days // 10))
        self.start = epoch_day(config.start)

    def day_done(self, day: int, rows: Counter[tuple[str, str]]) -> None:
        done = day - self.start + 1
        now = time.perf_counter()
        if done % self.every and done != self.config.days and now - self.last < 30:
            return
        self.last = now
        elapsed = now - self.began
        left = elapsed / done * (self.config.days - done)
        log.info(
            "simulate: %d of %d business days delivered, %s rows (%s transactions, %s web events, %s calls); "
            "%.0fs elapsed, about %.0fs left",
            done, self.config.days, f"{sum(rows.values()):,}", f"{rows['core_banking', 'transactions']:,}",
            f"{rows['online_banking', 'events']:,}", f"{rows['call_center', 'calls']:,}", elapsed, left,
        )  # fmt: skip


def _record_customers(truth: Truth, c: Customers, start: int) -> None:
    """Persons behind customer records, and the master-data defects (recorded on first delivery)."""
    truth.add_persons("core_banking", "customers", c.customer_id, c.person)
    first = np.maximum(c.onboard_day, start)
    system, file = "core_banking", "customers.csv"
    dup = np.flatnonzero(c.duplicate_of >= 0)
    original = c.customer_id.take(pa.array(c.duplicate_of[dup]))
    legacy = pa.array(c.legacy[dup])
    detail = pc.if_else(
        legacy,
        join("same person as ", original, "; legacy record without national_id"),
        join("same person as ", original),
    )
    truth.defects.add("duplicate_person", system, first[dup], file, c.customer_id.take(pa.array(dup)), detail)
    phone = np.flatnonzero(c.phone_defect)
    truth.defects.add(
        "phone_format", system, first[phone], file, c.customer_id.take(pa.array(phone)), c.phone.take(pa.array(phone))
    )
    email = np.flatnonzero(c.email_defect)
    truth.defects.add(
        "email_format", system, first[email], file, c.customer_id.take(pa.array(email)), c.email.take(pa.array(email))
    )
