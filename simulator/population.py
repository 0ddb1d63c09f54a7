"""The bank's parties: relationship managers, persons and their customer records.

A *person* is who really exists; a *customer record* is what the core system holds. Most
persons have one record; the duplicate-person defect gives some a second or third record
keyed at another branch (legacy ones without national_id). A few customers onboard during
the period, a few leave (churners) and a few closed long ago; some households share a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import contacts
from .config import SimulationConfig
from .days import DAY, NEVER, add_months, day_of_month, epoch_day
from .formats import join, numbered
from .randomness import choice, how_many, lognormal, pick, scramble, stream
from .reference import (
    BRANCHES,
    CITIES,
    CITY_INDEX,
    COMPANY_WORDS,
    EMAIL_DOMAINS,
    FAMILY_NAMES,
    GIVEN_NAMES,
    INDUSTRIES,
    INDUSTRY_WEIGHTS,
    OCCUPATION_WEIGHTS,
    OCCUPATIONS,
    RMS_PER_BRANCH,
)

YEAR = 365


@dataclass
class RelationshipManagers:
    rm_id: pa.Array
    full_name: pa.Array
    branch: np.ndarray
    grade: np.ndarray
    hire_day: np.ndarray
    leave_day: np.ndarray

    def __len__(self) -> int:
        return len(self.branch)


@dataclass
class Customers:
    """One entry per customer record (sorted by customer_id); arrays are aligned."""

    customer_id: pa.Array
    person: np.ndarray
    corporate: np.ndarray
    full_name: pa.Array
    national_id: pa.Array
    birth_day: np.ndarray
    gender: pa.Array
    phone_digits: pa.Array
    """Canonical national digits of the phone (null when none): what calls come from."""
    phone: pa.Array
    """The phone as keyed (phone-format defect applied)."""
    email: pa.Array
    """The e-mail as keyed (e-mail-format defect applied)."""
    email_canonical: pa.Array
    email_defect: np.ndarray
    phone_defect: np.ndarray
    address: pa.Array
    city: np.ndarray
    postal_code: pa.Array
    occupation: pa.Array
    industry_code: pa.Array
    income: np.ndarray
    """Annual income in cents, -1 when unknown."""
    branch: np.ndarray
    rm: np.ndarray
    """Index into the relationship managers, -1 for mass retail."""
    kyc: np.ndarray
    onboard_day: np.ndarray
    updated_wall: np.ndarray
    dormant: np.ndarray
    closed_day: np.ndarray
    churner: np.ndarray
    drain_day: np.ndarray
    """First day of a warning spell: a churner's first sign, a look-alike's spell (NEVER for
    others; a silent churner's is their leaving day)."""
    drain_end: np.ndarray
    """Last day of the spell: a churner's leaving day, the day a look-alike is back to normal."""
    warn_peak: np.ndarray
    """Strength of the spell at its height (1 for churners, drawn for look-alikes, 0 for others)."""
    salary_stop: np.ndarray
    """First day no income arrives (NEVER while it keeps arriving)."""
    salary_resume: np.ndarray
    """First day income arrives again after a look-alike's salary gap (NEVER for others)."""
    lookalike: np.ndarray
    """Customers who stay but look like leavers for a while."""
    duplicate_of: np.ndarray
    """For an extra record of a person: index of the person's first record, else -1."""
    legacy: np.ndarray
    employed: np.ndarray
    salary_dom: np.ndarray
    monthly_inflow: np.ndarray
    """Net monthly income in cents (salary, pension, family transfers, sales for corporates)."""
    affluent: np.ndarray
    large_corporate: np.ndarray
    activity: np.ndarray
    """Relative frequency of everyday spending (1 = typical)."""
    household: np.ndarray
    """Household id for customers who share a phone with another person, -1 otherwise."""

    def __len__(self) -> int:
        return len(self.person)

    def take(self, order: np.ndarray) -> Customers:
        values = {}
        for f in fields(self):
            column = getattr(self, f.name)
            values[f.name] = column.take(pa.array(order)) if isinstance(column, pa.Array) else column[order]
        return Customers(**values)


def relationship_managers(seed: int, start_day: int) -> RelationshipManagers:
    rng = stream(seed, "relationship_managers")
    branch = np.repeat(np.arange(len(BRANCHES)), [RMS_PER_BRANCH[b.branch_type] for b in BRANCHES])
    n = len(branch)
    grade = choice(rng, ["JUNIOR", "SENIOR", "PRINCIPAL", "HEAD"], n, [4, 4, 2, 1])
    hire = start_day - rng.integers(200, 15 * YEAR, n)
    leave = np.full(n, NEVER, np.int64)
    leave[rng.integers(0, n)] = start_day - rng.integers(30, 400)  # one left before the period
    return RelationshipManagers(
        rm_id=numbered("RM", np.arange(1, n + 1), 4),
        full_name=_person_names(rng, n),
        branch=branch,
        grade=grade,
        hire_day=hire,
        leave_day=leave,
    )


def _person_names(rng: np.random.Generator, n: int) -> pa.Array:
    family = pa.array(rng.choice(np.asarray(FAMILY_NAMES), n))
    given = pa.array(rng.choice(np.asarray(GIVEN_NAMES), n))
    return join(family, " ", given)


def _national_ids(region: np.ndarray, birth_day: np.ndarray, serial: np.ndarray, male: np.ndarray) -> pa.Array:
    """Resident identity numbers: region, birth date, sequence (odd for men), ISO 7064 check digit."""
    born = birth_day.astype("datetime64[D]")
    ymd = (
        (born.astype("datetime64[Y]").astype(np.int64) + 1970) * 10_000
        + (born.astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100
        + day_of_month(birth_day)
    )
    sequence = (scramble(serial, 10**6, 99) % 500) * 2 + male.astype(np.int64)
    base = region.astype(np.int64) * 10**11 + ymd * 1000 + sequence
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = (base[:, None] // 10 ** np.arange(16, -1, -1)) % 10
    check = np.asarray(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return join(pc.cast(pa.array(base), pa.string()), pa.array(check))


def _registration_numbers(region: np.ndarray, index: np.ndarray) -> pa.Array:
    """Unified social credit codes: 91, region, a distinct nine-digit organisation code, check char."""
    check = np.asarray(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))[index % 31]
    body = pc.utf8_lpad(pc.cast(pa.array(scramble(index, 10**9, 4_242)), pa.string()), 9, "0")
    return join("91", pa.array(region.astype(str)), body, pa.array(check))


def build_customers(config: SimulationConfig, rms: RelationshipManagers) -> Customers:
    """Every customer record the core system will ever hold during the period."""
    rng = stream(config.seed, "population")
    start = epoch_day(config.start)
    n_extra = min(how_many(config.customers, config.defects.duplicate_persons), config.customers // 4)
    n = config.customers - n_extra
    p = _profiles(rng, config, n)
    life = _lifecycles(stream(config.seed, "lifecycle"), config, p)
    who = _identities(stream(config.seed, "contacts"), p, life["household"])
    corporate = p["corporate"]
    base = Customers(
        customer_id=pa.nulls(n, pa.string()),
        person=np.arange(n),
        corporate=corporate,
        full_name=who["full_name"],
        national_id=who["national_id"],
        birth_day=who["birth_day"],
        gender=who["gender"],
        phone_digits=who["phone"],
        phone=who["phone"],
        email=who["email"],
        email_canonical=who["email"],
        email_defect=np.zeros(n, bool),
        phone_defect=np.zeros(n, bool),
        address=who["address"],
        city=p["city"],
        postal_code=who["postal_code"],
        occupation=pc.if_else(pa.array(corporate), pa.scalar(None, pa.string()), pa.array(p["occupation"])),
        industry_code=pc.if_else(pa.array(corporate), pa.array(p["industry"]), pa.scalar(None, pa.string())),
        income=np.where(corporate, -1, p["income"]),
        branch=p["branch"],
        rm=_assign_rms(rng, rms, p["branch"], corporate | p["affluent"]),
        kyc=np.where(
            corporate,
            choice(rng, ["LOW", "MEDIUM", "HIGH"], n, [50, 40, 10]),
            choice(rng, ["LOW", "MEDIUM", "HIGH"], n, [72, 24, 4]),
        ),
        onboard_day=p["onboard"],
        updated_wall=np.zeros(n, np.int64),
        dormant=life["dormant"],
        closed_day=life["closed"],
        churner=life["churner"],
        drain_day=life["drain"],
        drain_end=life["drain_end"],
        warn_peak=life["peak"],
        salary_stop=life["salary_stop"],
        salary_resume=life["salary_resume"],
        lookalike=life["lookalike"],
        duplicate_of=np.full(n, -1, np.int64),
        legacy=np.zeros(n, bool),
        employed=p["employed"],
        salary_dom=rng.choice(np.array([5, 10, 15, 25]), n),
        monthly_inflow=p["monthly"],
        affluent=p["affluent"],
        large_corporate=p["large"],
        activity=rng.gamma(3.0, 1 / 3.0, n),
        household=life["household"],
    )
    eligible = np.flatnonzero(life["available"] & (life["household"] < 0))
    records = _add_duplicates(base, rng, eligible, n_extra, config.defects.legacy_records, start)
    records = _apply_contact_defects(records, stream(config.seed, "contact_defects"), config)
    records.updated_wall = _updated_wall(rng, records.onboard_day, start)
    # customer ids follow onboarding order, as a core system hands them out
    order = np.lexsort((np.arange(len(records)), records.onboard_day))
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    records = records.take(order)
    records.customer_id = numbered("C", 100_000_000 + np.arange(1, len(records) + 1), 9)
    records.duplicate_of = np.where(records.duplicate_of >= 0, position[records.duplicate_of], -1)
    return records


def _profiles(rng: np.random.Generator, config: SimulationConfig, n: int) -> dict[str, np.ndarray]:
    """Who each person is: kind, home branch and city, age, onboarding, occupation and income."""
    start, end = epoch_day(config.start), epoch_day(config.end)
    corporate = np.zeros(n, bool)
    corporate[pick(rng, np.arange(n), 0.08)] = True
    large = corporate & (rng.random(n) < 0.15)
    branch = choice(rng, np.arange(len(BRANCHES)), n, [b.weight for b in BRANCHES])
    branch_city = np.array([CITY_INDEX[b.city] for b in BRANCHES])[branch]
    virtual = np.array([b.branch_type == "VIRTUAL" for b in BRANCHES])[branch]
    city = np.where((rng.random(n) < 0.9) & ~virtual, branch_city, rng.integers(0, len(CITIES), n))

    # birth (individuals: 20 to 80 at the start) or incorporation (corporates: 4 to 31 years before)
    birth = start - np.where(corporate, rng.integers(4 * YEAR, 31 * YEAR, n), rng.integers(20 * YEAR, 80 * YEAR, n))
    opened = np.array([epoch_day(b.opened) for b in BRANCHES])[branch]
    adult = np.where(corporate, birth + 30, add_months(birth, np.full(n, 18 * 12)))
    onboard = start - 1 - (rng.random(n) ** 1.6 * 15 * YEAR).astype(np.int64)
    onboard = np.minimum(np.maximum(onboard, np.maximum(opened, adult)), start - 1)
    new = pick(rng, np.arange(n), 0.03 * config.days / 90) if config.days >= 2 else np.arange(0)
    onboard[new] = rng.integers(start + 1, end + 1, len(new))

    occupation = choice(rng, np.arange(len(OCCUPATIONS)), n, list(OCCUPATION_WEIGHTS))
    employed = ~corporate & np.array([o[1] for o in OCCUPATIONS])[occupation]
    occupation_name = np.array([o[0] for o in OCCUPATIONS])[occupation]
    income_median = np.select(
        [occupation_name == "Retired", occupation_name == "Student", occupation_name == "Homemaker"],
        [60_000, 20_000, 30_000],
        120_000,
    )
    income = np.round(lognormal(rng, income_median, 0.6, n), -2).astype(np.int64) * 100  # cents
    turnover = lognormal(rng, np.where(large, 300e6, 12e6), 0.7, n) * 100  # cents a year
    industry = choice(rng, np.arange(len(INDUSTRIES)), n, list(INDUSTRY_WEIGHTS))
    return {
        "corporate": corporate,
        "large": large,
        "branch": branch,
        "city": city,
        "birth": birth,
        "onboard": onboard,
        "employed": employed,
        "occupation": occupation_name,
        "industry": np.array([i[0] for i in INDUSTRIES])[industry],
        "industry_name": np.array([i[1] for i in INDUSTRIES])[industry],
        "income": income,
        "monthly": np.where(corporate, turnover / 12, income / 12 * 0.85).astype(np.int64),
        "affluent": ~corporate & ((income >= 400_000_00) | (rng.random(n) < 0.03)),
    }


def _lifecycles(rng: np.random.Generator, config: SimulationConfig, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Who closed long ago, who leaves during the period (and how they warn), who only looks
    like leaving, who is dormant, who shares a phone."""
    start, end = epoch_day(config.start), epoch_day(config.end)
    behaviour = config.churn
    # warnings and look-alikes draw from their own stream: the rest of the bank stays as it was
    warn = stream(config.seed, "churn_warnings")
    n = len(p["corporate"])
    existing = p["onboard"] < start
    closed = np.full(n, NEVER, np.int64)
    drain = np.full(n, NEVER, np.int64)
    drain_end = np.full(n, NEVER, np.int64)
    peak = np.zeros(n)
    salary_stop = np.full(n, NEVER, np.int64)
    salary_resume = np.full(n, NEVER, np.int64)
    churner = np.zeros(n, bool)
    lookalike = np.zeros(n, bool)
    dormant = np.zeros(n, bool)
    old = pick(rng, np.flatnonzero(existing & ~p["corporate"] & (p["onboard"] < start - 90)), 0.01)
    closed[old] = rng.integers(p["onboard"][old] + 60, start)
    available = existing & ~p["corporate"] & (closed == NEVER)
    if config.days >= 3:
        leavers = pick(rng, np.flatnonzero(available), behaviour.share_per_90_days * config.days / 90)
        churner[leavers] = True
        closed[leavers] = rng.integers(start + max(2, config.days // 4), end + 1, len(leavers))
        # each warned churner's first sign comes a drawn lead time ahead (it may fall before the
        # period: the bank then opens on a churner already on the way out); silent ones give none
        lead = warn.integers(behaviour.lead_min_days, behaviour.lead_max_days + 1, len(leavers))
        silent = warn.random(len(leavers)) < behaviour.silent_share
        lead[silent] = 0
        drain[leavers] = closed[leavers] - lead
        drain_end[leavers] = closed[leavers]
        peak[leavers] = 1.0
        stop_at = warn.uniform(behaviour.salary_stop_from, 1.2, len(leavers))
        stops = ~silent & (stop_at < 1.0)
        salary_stop[leavers[stops]] = drain[leavers[stops]] + np.round(stop_at[stops] * lead[stops]).astype(np.int64)
        available[leavers] = False
    dormant[pick(rng, np.flatnonzero(available), 0.04)] = True
    available &= ~dormant
    if config.days >= 3:
        # customers who stay but, for a spell, look like leavers (a salary gap, a balance dip,
        # less spending, a complaint): the false alarms a real early warning has to live with
        alike = pick(warn, np.flatnonzero(available), behaviour.lookalike_share_per_90_days * config.days / 90)
        lookalike[alike] = True
        length = warn.integers(behaviour.lookalike_min_days, behaviour.lookalike_max_days + 1, len(alike))
        drain[alike] = warn.integers(start - length // 2, end + 1, len(alike))
        drain_end[alike] = drain[alike] + length
        peak[alike] = warn.uniform(behaviour.lookalike_peak_min, 1.0, len(alike))
        gap = alike[warn.random(len(alike)) < behaviour.lookalike_salary_gap_share]
        salary_stop[gap] = drain[gap] + (warn.random(len(gap)) * (drain_end[gap] - drain[gap]) / 2).astype(np.int64)
        salary_resume[gap] = salary_stop[gap] + warn.integers(30, 62, len(gap))
    # households of two persons who share a phone (the ambiguous-caller defect)
    household = np.full(n, -1, np.int64)
    n_house = min(how_many(int(available.sum()), config.defects.ambiguous_callers), int(available.sum()) // 2)
    members = rng.choice(np.flatnonzero(available), 2 * n_house, replace=False)
    household[members] = np.repeat(np.arange(n_house), 2)
    return {
        "closed": closed,
        "drain": drain,
        "drain_end": drain_end,
        "peak": peak,
        "salary_stop": salary_stop,
        "salary_resume": salary_resume,
        "churner": churner,
        "lookalike": lookalike,
        "dormant": dormant,
        "available": available,
        "household": household,
    }


def _identities(rng: np.random.Generator, p: dict[str, np.ndarray], household: np.ndarray) -> dict[str, Any]:
    """Names, identity numbers, phones, e-mails and addresses, all canonical (defects come later)."""
    corporate, city = p["corporate"], p["city"]
    n = len(corporate)
    index = np.arange(n)
    area = np.array([c.area_code for c in CITIES])[city]
    phone = pc.if_else(
        pa.array(corporate),
        contacts.landline_numbers(area, index, 77),
        contacts.mobile_numbers(rng, index, 13),
    )
    members = np.flatnonzero(household >= 0)
    if len(members):
        pairs = members[np.argsort(household[members], kind="stable")].reshape(-1, 2)
        source = np.arange(n)
        source[pairs[:, 1]] = pairs[:, 0]
        phone = phone.take(pa.array(source))
    has_phone = corporate | (household >= 0) | (rng.random(n) < 0.97)
    phone = pc.if_else(pa.array(has_phone), phone, pa.scalar(None, pa.string()))

    family = pa.array(np.asarray(FAMILY_NAMES)[rng.integers(0, len(FAMILY_NAMES), n)])
    given = pa.array(np.asarray(GIVEN_NAMES)[rng.integers(0, len(GIVEN_NAMES), n)])
    words = rng.integers(0, len(COMPANY_WORDS), (n, 2))
    words[:, 1] = (words[:, 0] + 1 + words[:, 1] % (len(COMPANY_WORDS) - 1)) % len(COMPANY_WORDS)
    word1, word2 = (pa.array(np.asarray(COMPANY_WORDS)[words[:, k]]) for k in (0, 1))
    company = join(pa.array(np.array([c.name for c in CITIES])[city]), " ", word1, " ", word2)
    # two companies may not share a name in one city: number the later ones
    rank = _rank_within(join(company, pa.array(p["industry_name"])).to_numpy(zero_copy_only=False))
    numbered_company = join(company, " No.", pc.cast(pa.array(rank + 1), pa.string()))
    company = pc.if_else(pa.array(rank > 0), numbered_company, company)
    company = join(company, " ", pa.array(p["industry_name"]), " Co., Ltd.")
    full_name = pc.if_else(pa.array(corporate), company, join(family, " ", given))

    serial = pc.cast(pa.array(index), pa.string())
    domain = pa.array(np.asarray(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)])
    personal_email = pc.utf8_lower(join(given, ".", family, serial, "@", domain))
    company_email = pc.utf8_lower(join("finance@", word1, serial, ".com.cn"))
    has_email = rng.random(n) < np.where(corporate, 0.8, 0.65)
    email = pc.if_else(pa.array(corporate), company_email, personal_email)
    email = pc.if_else(pa.array(has_email), email, pa.scalar(None, pa.string()))

    region = np.array([int(c.id_region) for c in CITIES])[city]
    male = rng.random(n) < 0.5
    birth = _distinct_identities(region, p["birth"], index, male, corporate)
    national_id = pc.if_else(
        pa.array(corporate), _registration_numbers(region, index), _national_ids(region, birth, index, male)
    )
    street_table = np.array([[c.streets[k % len(c.streets)] for k in range(12)] for c in CITIES])
    district_table = np.array([[c.districts[k % len(c.districts)] for k in range(12)] for c in CITIES])
    street = pa.array(street_table[city, rng.integers(0, 12, n)])
    district = pa.array(district_table[city, rng.integers(0, 12, n)])
    number = pc.cast(pa.array(rng.integers(1, 999, n)), pa.string())
    postal_suffix = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 1000, n)), pa.string()), 3, "0")
    return {
        "phone": phone,
        "full_name": full_name,
        "email": email,
        "birth_day": birth,
        "national_id": national_id,
        "gender": pc.if_else(pa.array(corporate), pa.scalar(None, pa.string()), pa.array(np.where(male, "M", "F"))),
        "address": join("No. ", number, " ", street, ", ", district),
        "postal_code": join(pa.array(np.array([c.postal_prefix for c in CITIES])[city]), postal_suffix),
    }


def _assign_rms(
    rng: np.random.Generator, rms: RelationshipManagers, branch: np.ndarray, wants: np.ndarray
) -> np.ndarray:
    """A relationship manager of the home branch (the flagship's for the virtual branch), -1 for none."""
    active = np.flatnonzero(rms.leave_day == NEVER)
    rm = np.full(len(branch), -1, np.int64)
    for b in range(len(BRANCHES)):
        here = active[rms.branch[active] == b]
        pool = here if len(here) else active[rms.branch[active] == 0]
        chosen = wants & (branch == b)
        rm[chosen] = rng.choice(pool, int(chosen.sum()))
    return rm


def _distinct_identities(
    region: np.ndarray, birth: np.ndarray, index: np.ndarray, male: np.ndarray, corporate: np.ndarray
) -> np.ndarray:
    """Birth days moved by a day where two persons would otherwise get the same identity number."""
    birth = birth.copy()
    while True:
        ids = _national_ids(region, birth, index, male).to_numpy(zero_copy_only=False)
        clash = ~corporate & (_rank_within(np.where(corporate, "", ids)) > 0)
        if not clash.any():
            return birth
        birth[clash] -= 1


def _rank_within(values: np.ndarray) -> np.ndarray:
    """0 for the first occurrence of a value, 1 for the second, ..."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    rank = np.empty(len(values), np.int64)
    rank[order] = np.arange(len(values)) - group_start
    return rank


def _add_duplicates(
    base: Customers, rng: np.random.Generator, eligible: np.ndarray, n_extra: int, legacy_rate: float, start: int
) -> Customers:
    """Key some persons again under a new customer_id at another branch (the duplicate-person defect)."""
    if n_extra == 0 or len(eligible) == 0:
        return base
    owner = rng.choice(eligible, n_extra)
    extra = base.take(owner)
    extra.duplicate_of = owner
    legacy = np.zeros(n_extra, bool)
    legacy[pick(rng, np.arange(n_extra), legacy_rate)] = True
    extra.legacy = legacy
    extra.branch = (extra.branch + rng.integers(1, len(BRANCHES), n_extra)) % len(BRANCHES)
    extra.rm = np.full(n_extra, -1, np.int64)
    earliest = np.maximum(add_months(extra.birth_day, np.full(n_extra, 18 * 12)), start - 20 * YEAR)
    legacy_day = np.maximum(earliest, extra.onboard_day - rng.integers(YEAR, 8 * YEAR, n_extra))
    later_day = extra.onboard_day + (rng.random(n_extra) * (start - 1 - extra.onboard_day)).astype(np.int64)
    branch_opened = np.array([epoch_day(b.opened) for b in BRANCHES])[extra.branch]
    extra.onboard_day = np.minimum(np.maximum(np.where(legacy, legacy_day, later_day), branch_opened), start - 1)
    nulls = pa.nulls(n_extra, pa.string())
    is_legacy = pa.array(legacy)
    extra.national_id = pc.if_else(is_legacy, nulls, extra.national_id)
    extra.full_name = pc.if_else(is_legacy, pc.utf8_upper(extra.full_name), extra.full_name)
    extra.email = pc.if_else(is_legacy, nulls, extra.email)
    extra.email_canonical = extra.email
    extra.occupation = pc.if_else(is_legacy, nulls, extra.occupation)
    extra.income = np.where(legacy, -1, extra.income)
    extra.dormant = legacy & (rng.random(n_extra) < 0.5)
    extra.activity = extra.activity * 0.3
    extra.employed = np.zeros(n_extra, bool)  # the salary goes to the main record
    extra.affluent = np.zeros(n_extra, bool)
    merged = {}
    for f in fields(base):
        a, b = getattr(base, f.name), getattr(extra, f.name)
        merged[f.name] = pa.concat_arrays([a, b]) if isinstance(a, pa.Array) else np.concatenate([a, b])
    return Customers(**merged)


def _apply_contact_defects(records: Customers, rng: np.random.Generator, config: SimulationConfig) -> Customers:
    """Phones and e-mails as staff keyed them: the phone-format and e-mail-format defects."""
    n = len(records)
    phone_variant = np.zeros(n, np.int64)
    chosen = pick(
        rng,
        np.flatnonzero(pc.is_valid(records.phone_digits).to_numpy(zero_copy_only=False)),
        config.defects.phone_formats,
    )
    phone_variant[chosen] = rng.integers(1, contacts.PHONE_VARIANTS, len(chosen))
    records.phone = contacts.render_phones(records.phone_digits, phone_variant)
    records.phone_defect = phone_variant > 0
    email_variant = np.zeros(n, np.int64)
    chosen = pick(
        rng, np.flatnonzero(pc.is_valid(records.email).to_numpy(zero_copy_only=False)), config.defects.email_formats
    )
    email_variant[chosen] = rng.integers(1, contacts.EMAIL_VARIANTS, len(chosen))
    records.email = contacts.render_emails(records.email, email_variant)
    records.email_defect = email_variant > 0
    return records


def _updated_wall(rng: np.random.Generator, onboard: np.ndarray, start: int) -> np.ndarray:
    """Last change before the period: the onboarding itself, or a later KYC review for some."""
    n = len(onboard)
    reviewed = (rng.random(n) < 0.4) & (onboard < start - 1)
    span = np.maximum(start - 1 - onboard, 0)
    day = np.where(reviewed, onboard + (rng.random(n) * span).astype(np.int64), onboard)
    return day * DAY + rng.integers(9 * 3600, 17 * 3600, n)


def warning_strength(c: Customers, customer: np.ndarray, d: int) -> np.ndarray:
    """How strongly each customer shows the signs of leaving on day `d`, from 0 to 1.

    A churner's signs grow linearly from their first sign (`drain_day`) to full strength on
    their leaving day; a look-alike's spell rises to its peak halfway and falls back to 0.
    """
    first, last = c.drain_day[customer], c.drain_end[customer]
    within = (first <= d) & (d <= last)
    span = np.maximum(last - first, 1).astype(np.float64)
    x = np.clip((d - first) / span, 0.0, 1.0)
    rising = np.where(c.churner[customer], x, 1.0 - np.abs(2.0 * x - 1.0))
    return np.where(within, rising * c.warn_peak[customer], 0.0)
