"""`simulate()`: build the bank, play its days, write the deliveries and the answer key.

The order matters only where one part reads another: the ledger needs the customers'
online access to choose channels, the web log needs the ledger's online payments, the
contact centre needs the ledger's fees and arrears. Writing comes last, one delivery per
system per business date, each folder's manifest written after its files.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .accounts import build_accounts
from .calls import build_agents, build_calls
from .config import SimulationConfig, SimulationSummary
from .days import DAY, epoch_day, to_date
from .feed_calls import CallFeed
from .feed_core import CoreFeed
from .feed_online import OnlineFeed
from .formats import dates, join, timestamps
from .ledger import Ledger
from .online import build_events, build_users, online_access
from .population import Customers, build_customers, relationship_managers
from .truth import Truth
from .weblog import deliver
from .writer import Feed, LandedFile, write_delivery

log = logging.getLogger(__name__)

EXTRACTED_AT = {"core_banking": 3900, "online_banking": 1200, "call_center": 2700}
"""Seconds after the next midnight at which each system extracts a business date."""


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
    books, disputes = Ledger(config, customers, accounts, online_since, prefers_web).run()
    step("%d postings over %d days", sum(len(b.postings) for b in books), len(books))
    events = build_events(config, users, customers, books, accounts.customer)
    hour_files = deliver(config.seed, events, users, config.defects, end, tz, truth.defects)
    step("%d web events, %d lines delivered", len(events), len(hour_files.lines))
    del events  # the hour files hold what is delivered; the event arrays are the largest in memory
    agents = build_agents(config.seed, start)
    has_card = np.zeros(len(customers), bool)
    has_card[accounts.customer[accounts.kind == "CREDIT_CARD"]] = True
    calls = build_calls(config, customers, agents, books, disputes, has_card, accounts.customer, truth.defects)
    step("%d calls", len(calls.day))

    feeds: dict[str, Feed] = {
        "core_banking": CoreFeed(customers, accounts, parties, rms, books, tz),
        "online_banking": OnlineFeed(users, customers, hour_files, tz),
        "call_center": CallFeed(calls, agents, customers, tz),
    }

    def deliver_one(task: tuple[int, str]) -> list[LandedFile]:
        day, system = task
        files = feeds[system].files(day)
        extracted = timestamps(np.array([(day + 1) * DAY + EXTRACTED_AT[system]]), tz)[0].as_py()
        write_delivery(config.out, system, to_date(day), extracted, files)
        return files

    # deliveries are independent folders: two at a time (rendering and compression release the GIL)
    tasks = [(day, system) for day in range(start, end + 1) for system in feeds]
    deliveries = []
    rows: Counter[tuple[str, str]] = Counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (day, system), files in zip(tasks, pool.map(deliver_one, tasks), strict=True):
            deliveries.append((system, to_date(day)))
            for landed in files:
                rows[(system, landed.name.split("-")[0].split(".")[0])] += landed.rows
            if system == "call_center" and ((day - start + 1) % 10 == 0 or day == end):
                step("%d of %d business days delivered", day - start + 1, config.days)

    _record_customers(truth, customers, start)
    truth.add_persons("online_banking", "users", users.user_id, users.person)
    truth.add_persons("call_center", "calls", calls.call_id, calls.person)
    leavers = np.flatnonzero(customers.churner)
    truth.churners = pa.table(
        {
            "customer_id": customers.customer_id.take(pa.array(leavers)),
            "left_on": dates(customers.closed_day[leavers]),
        }
    )
    truth.write(config)
    step("answer key written to %s: defects %s", config.truth_dir, truth.defects.kinds())
    return SimulationSummary(
        deliveries=deliveries, rows=dict(rows), seconds=time.perf_counter() - began, truth_dir=config.truth_dir
    )


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
