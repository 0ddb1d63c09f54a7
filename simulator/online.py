"""The online-banking platform: enrolled users and their sessions.

Most customers enrol (companies less often), a few prospects enrol without being customers,
churners' logins close when they leave. A session is a login, some browsing and a logout;
every transfer or bill payment the ledger booked through ONLINE or MOBILE also appears as a
session whose TRANSFER or BILL_PAYMENT event carries the posting's amount and time, so the
web log and the ledger tell one story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.contract import load_agreement

from . import contacts
from .config import SimulationConfig
from .days import DAY, NEVER, epoch_day
from .formats import join, numbered
from .ledger import DayBook
from .population import Customers
from .postings import channel, group_cumsum, txn_type
from .randomness import how_many, stream
from .reference import EMAIL_DOMAINS, PRODUCTS

DEVICES = ("WEB", "IOS", "ANDROID")
APP_VERSIONS = ("7.3.2", "7.4.0", "7.4.1")
NEW_EVENT_TYPES = ("BIOMETRIC_SETUP", "PUSH_OPT_IN", "QR_PAYMENT", "DARK_MODE_ON")
"""Types the platform shipped after the agreement was written (the unknown-event-type defect)."""
EVENT_TYPES: tuple[str, ...] = (
    load_agreement().file("online_banking", "events").column("event_type").values + NEW_EVENT_TYPES
)
"""Every event type; events hold an index into this tuple."""
BROWSE = (
    "PAGE_VIEW",
    "BALANCE_INQUIRY",
    "PRODUCT_VIEW",
    "APPLICATION_START",
    "APPLICATION_SUBMIT",
    "PROFILE_UPDATE",
    "SUPPORT_CHAT",
)
BROWSE_WEIGHTS = np.array([35, 30, 12, 3, 1, 2, 2], dtype=np.float64)
PAGES = (
    "/home",
    "/accounts",
    "/accounts/detail",
    "/cards",
    "/loans",
    "/wealth",
    "/messages",
    "/settings",
    "/login",
    "/logout",
    "/transfer",
    "/bills",
    "/products",
    "/apply",
    "/profile",
    "/support",
    "/settings/security",
)
PAGE_OF = {
    "LOGIN": "/login",
    "LOGIN_FAILED": "/login",
    "LOGOUT": "/logout",
    "BALANCE_INQUIRY": "/accounts",
    "TRANSFER": "/transfer",
    "BILL_PAYMENT": "/bills",
    "PRODUCT_VIEW": "/products",
    "APPLICATION_START": "/apply",
    "APPLICATION_SUBMIT": "/apply",
    "PROFILE_UPDATE": "/profile",
    "SUPPORT_CHAT": "/support",
    **dict.fromkeys(NEW_EVENT_TYPES, "/settings/security"),
}
PAGE_OF_TYPE = np.array([PAGES.index(PAGE_OF[t]) if t in PAGE_OF else -1 for t in EVENT_TYPES])


def event_code(name: str) -> int:
    return EVENT_TYPES.index(name)


@dataclass
class Users:
    user_id: pa.Array
    customer: np.ndarray
    """Customer record index, -1 for prospects."""
    person: np.ndarray
    email: pa.Array
    phone: pa.Array
    registered_wall: np.ndarray
    locked: np.ndarray
    closed_day: np.ndarray
    device: np.ndarray
    activity: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def registered_day(self) -> np.ndarray:
        return self.registered_wall // DAY


def build_users(config: SimulationConfig, customers: Customers) -> Users:
    """Enrolments: most customers before the period, new customers days after onboarding, some
    late joiners during it, and prospects (no customer_id) who enrolled without an account."""
    rng = stream(config.seed, "users")
    start, end = epoch_day(config.start), epoch_day(config.end)
    c = customers
    n = len(c)
    eligible = (c.duplicate_of < 0) & (c.closed_day >= start) & ~c.dormant
    enrolled = eligible & (rng.random(n) < np.where(c.corporate, 0.5, 0.7))
    new = c.onboard_day >= start
    late_joiners = eligible & ~enrolled & ~new & (rng.random(n) < 0.02 * config.days / 30)
    since = np.maximum(c.onboard_day, start - 8 * 365)
    day = since + (rng.random(n) * np.maximum(start - since, 1)).astype(np.int64)
    day = np.where(new, c.onboard_day + rng.integers(0, 4, n), day)
    day = np.where(late_joiners, rng.integers(start, end + 1, n), day)
    members = np.flatnonzero((enrolled | late_joiners) & (day <= end))

    n_prospects = how_many(len(members), 0.05)
    prospect_day = rng.integers(start - 2 * 365, end + 1, n_prospects)
    person = np.concatenate([c.person[members], c.person.max() + 1 + np.arange(n_prospects)])
    customer = np.concatenate([members, np.full(n_prospects, -1)])
    registered = np.concatenate([day[members], prospect_day]) * DAY + rng.integers(7 * 3600, 23 * 3600, len(person))

    prospect_index = np.arange(n_prospects)
    prospect_phone = contacts.prospect_numbers(prospect_index)
    prospect_mail = join(
        "guest",
        pc.cast(pa.array(prospect_index), pa.string()),
        "@",
        pa.array(rng.choice(np.asarray(EMAIL_DOMAINS), n_prospects)),
    )
    take = pa.array(members)
    email = pa.concat_arrays([c.email_canonical.take(take), prospect_mail])
    phone = contacts.international(pa.concat_arrays([c.phone_digits.take(take), prospect_phone]))
    corporate = np.concatenate([c.corporate[members], np.zeros(n_prospects, bool)])
    device = np.where(
        corporate, np.where(rng.random(len(person)) < 0.8, 0, 1), rng.choice(3, len(person), p=[0.2, 0.4, 0.4])
    )
    closed = np.concatenate([np.where(c.churner[members], c.closed_day[members], NEVER), np.full(n_prospects, NEVER)])
    order = np.lexsort((person, registered))
    return Users(
        user_id=numbered("U", 10_000_000 + np.arange(1, len(person) + 1), 8),
        customer=customer[order],
        person=person[order],
        email=email.take(pa.array(order)),
        phone=phone.take(pa.array(order)),
        registered_wall=registered[order],
        locked=(rng.random(len(person)) < 0.015)[order],
        closed_day=closed[order],
        device=device[order],
        activity=rng.gamma(2.0, 0.15, len(person))[order],
    )


def online_access(users: Users, n_customers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: the first day they can bank online (NEVER if not enrolled), and whether on the web."""
    since = np.full(n_customers, NEVER, np.int64)
    web = np.zeros(n_customers, bool)
    linked = (users.customer >= 0) & ~users.locked
    since[users.customer[linked]] = users.registered_day[linked] + 1
    web[users.customer[linked]] = users.device[linked] == 0
    return since, web


@dataclass
class Events:
    """The events of one day's sessions (before delivery), in event_ts order."""

    event_id: pa.Array
    wall: np.ndarray
    user: np.ndarray
    session: np.ndarray
    session_id: pa.Array
    device: np.ndarray
    event_type: np.ndarray
    """Index into EVENT_TYPES."""
    page: pa.Array
    product_code: pa.Array
    amount: np.ndarray
    """Cents, -1 when the event carries no amount."""
    ip_hash: pa.Array
    app_version: pa.Array
    in_session: np.ndarray
    """True for events between LOGIN and LOGOUT (where a new event type may appear)."""

    def __len__(self) -> int:
        return len(self.wall)


class Sessions:
    """The web sessions of each business day, played as the ledger books it (one day in memory).

    Events and sessions are numbered on from one day to the next, so identifiers are unique
    over the whole period whatever its length.
    """

    def __init__(self, config: SimulationConfig, users: Users, n_customers: int, accounts_customer: np.ndarray) -> None:
        self.rng = stream(config.seed, "sessions")
        self.users, self.accounts_customer = users, accounts_customer
        self.user_of = np.full(n_customers, -1, np.int64)
        linked = users.customer >= 0
        self.user_of[users.customer[linked]] = np.flatnonzero(linked)
        self.next_event, self.next_session = 1, 0

    def day(self, book: DayBook) -> Events:
        """Every event of the sessions that began on `book.day`, in event_ts order."""
        rng, users, d = self.rng, self.users, book.day
        active = (users.registered_day < d) & ~users.locked & (users.closed_day > d)
        count = rng.poisson(users.activity * active)
        who = np.repeat(np.arange(len(users)), count)
        start = d * DAY + _session_starts(rng, len(who))
        sessions = [
            _session_frame(rng, who, start, users.device[who], np.full(len(who), -1), np.zeros(len(who), np.int64))
        ]
        # one session per booked online transfer or bill payment
        p = book.postings
        digital = np.isin(p.channel, [channel("ONLINE"), channel("MOBILE")])
        paying = np.isin(p.txn_type, [txn_type("TRANSFER_OUT"), txn_type("BILL_PAYMENT")])
        user = self.user_of[self.accounts_customer[p.account]]
        tx = np.flatnonzero(digital & paying & (user >= 0))
        mobile_device = np.where(users.device[user[tx]] == 0, 2, users.device[user[tx]])
        device = np.where(p.channel[tx] == channel("ONLINE"), 0, mobile_device)
        kind = np.where(p.txn_type[tx] == txn_type("TRANSFER_OUT"), 0, 1)
        sessions.append(_session_frame(rng, user[tx], d * DAY + p.second[tx], device, kind, -p.amount[tx]))
        # visitors who browse without logging in
        visitors = rng.poisson(0.03 * max(len(users), 10))
        sessions.append(
            _session_frame(
                rng,
                np.full(visitors, -1),
                d * DAY + _session_starts(rng, visitors),
                rng.integers(0, 3, visitors),
                np.full(visitors, -1),
                np.zeros(visitors, np.int64),
            )
        )
        merged = {k: np.concatenate([s[k] for s in sessions]) for k in sessions[0]}
        events = _expand(rng, merged, self.next_event, self.next_session)
        self.next_event += len(events)
        self.next_session += len(merged["user"])
        return events


def _session_starts(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = np.array([1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 6, 6, 6, 6, 7, 6, 6, 6, 6, 6, 7, 8, 9, 9, 7, 3])
    hour = rng.choice(24, n, p=hours / hours.sum())
    return hour * 3600 + rng.integers(0, 3600, n)


def _session_frame(
    rng: np.random.Generator,
    user: np.ndarray,
    anchor: np.ndarray,
    device: np.ndarray,
    tx_kind: np.ndarray,
    amount: np.ndarray,
) -> dict[str, np.ndarray]:
    """Sessions in outline: who, when (start, or the time of the payment event), how many events."""
    n = len(user)
    anonymous = user < 0
    pre = np.where(anonymous, 0, (rng.random(n) < 0.5).astype(np.int64) + (rng.random(n) < 0.04))
    middle = np.where(tx_kind >= 0, rng.integers(1, 3, n), 1 + rng.poisson(2.5, n))
    return {
        "user": user,
        "anchor": anchor,
        "device": device,
        "tx_kind": tx_kind,
        "amount": amount,
        "pre": pre,
        "middle": middle,
        "anonymous": anonymous,
    }


def _expand(rng: np.random.Generator, s: dict[str, np.ndarray], first_event: int, first_session: int) -> Events:
    """Sessions to events: [login page] [failed login] LOGIN browsing [payment] LOGOUT."""
    anonymous, pre, middle, tx_kind = s["anonymous"], s["pre"], s["middle"], s["tx_kind"]
    has_tx = (tx_kind >= 0).astype(np.int64)
    length = np.where(anonymous, middle, pre + 1 + middle + has_tx + 1)
    session = np.repeat(np.arange(len(length)), length)
    pos = np.arange(len(session)) - np.repeat(np.cumsum(length) - length, length)
    pre_e, tx_e, len_e, anon_e = pre[session], has_tx[session], length[session], anonymous[session]
    n = len(session)

    browse = np.asarray([event_code(k) for k in BROWSE])[
        rng.choice(len(BROWSE), n, p=BROWSE_WEIGHTS / BROWSE_WEIGHTS.sum())
    ]
    is_tx = (tx_e == 1) & (pos == len_e - 2)
    kind = np.select(
        [anon_e, (pos == 0) & (pre_e >= 1), (pos == 1) & (pre_e == 2), pos == pre_e, pos == len_e - 1, is_tx],
        [
            np.where(rng.random(n) < 0.7, event_code("PAGE_VIEW"), event_code("PRODUCT_VIEW")),
            event_code("PAGE_VIEW"),
            event_code("LOGIN_FAILED"),
            event_code("LOGIN"),
            event_code("LOGOUT"),
            np.where(tx_kind[session] == 0, event_code("TRANSFER"), event_code("BILL_PAYMENT")),
        ],
        browse,
    )
    logged_in = ~anon_e & (pos >= pre_e)
    in_session = logged_in & (pos > pre_e) & (pos < len_e - 1 - tx_e)
    # an application is submitted right after it is started, or abandoned (about two in three)
    submit, started = event_code("APPLICATION_SUBMIT"), event_code("APPLICATION_START")
    kind[kind == submit] = event_code("PRODUCT_VIEW")
    follows = np.flatnonzero((kind[:-1] == started) & in_session[1:] & (session[1:] == session[:-1]))
    submitted = follows[rng.random(len(follows)) < 0.35]
    kind[submitted + 1] = submit
    offset = group_cumsum(session, np.where(pos == 0, 0, rng.integers(3, 90, n)))
    tx_offset = np.zeros(len(length), np.int64)
    tx_offset[session[is_tx]] = offset[is_tx]
    wall = s["anchor"][session] - tx_offset[session] + offset

    o = np.lexsort((pos, session, wall))
    session_number = np.empty(len(length), np.int64)
    session_number[session[o][pos[o] == 0]] = first_session + np.arange(len(length))
    page = PAGE_OF_TYPE[kind]
    page_view = kind == event_code("PAGE_VIEW")
    page[page_view] = rng.integers(0, len(PAGES), int(page_view.sum()))
    page[page_view & (pos == 0) & (pre_e >= 1)] = PAGES.index("/login")
    offers_product = np.isin(kind, [event_code(k) for k in ("PRODUCT_VIEW", "APPLICATION_START", "APPLICATION_SUBMIT")])
    product = np.where(offers_product, rng.integers(0, len(PRODUCTS), n), -1)
    product[submitted + 1] = product[submitted]
    device = s["device"][session]
    version = rng.integers(0, len(APP_VERSIONS), len(length))[session]
    ip = pa.array(_hex(rng.integers(0, 2**63 - 1, len(length))))
    return Events(
        event_id=numbered("E", first_event + np.arange(n), 12),
        wall=wall[o],
        user=np.where(logged_in, s["user"][session], -1)[o],
        session=session_number[session][o],
        session_id=numbered("S", session_number[session][o] + 1, 10),
        device=device[o],
        event_type=kind[o],
        page=_lookup(PAGES, page[o]),
        product_code=_lookup(tuple(p.code for p in PRODUCTS), product[o]),
        amount=np.where(is_tx, s["amount"][session], -1)[o],
        ip_hash=ip.take(pa.array(session[o])),
        app_version=_lookup(APP_VERSIONS, np.where(device == 0, -1, version)[o]),
        in_session=in_session[o],
    )


def _lookup(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Names by index, null where the index is -1."""
    values = pa.array(names, pa.string()).take(pa.array(np.maximum(index, 0)))
    return pc.if_else(pa.array(index >= 0), values, pa.scalar(None, pa.string()))


def _hex(values: np.ndarray) -> np.ndarray:
    """16 hexadecimal digits per value, without a Python loop over the values."""
    text = values.astype(">u8").tobytes().hex()
    return np.frombuffer(text.encode(), dtype="S16").astype(str)
