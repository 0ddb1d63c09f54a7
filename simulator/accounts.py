"""Accounts, their holders, opening balances and loan terms.

Each customer record holds a plausible set of products for its kind (a salaried person a
current account with a debit card and perhaps a mortgage; a company a current account and
perhaps a working-capital loan). Loans carry an amortisation schedule and a repayment
behaviour (performing, delinquent at the start and perhaps curing, falling behind) that the
ledger plays out; opening balances are the state at the start of the first business day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .config import SimulationConfig
from .days import DAY, NEVER, add_months, day_of_month, epoch_day, month_index
from .formats import numbered
from .population import Customers, RelationshipManagers
from .randomness import choice, lognormal, pick, stream
from .reference import BRANCHES, PRODUCT_INDEX, PRODUCTS

PRODUCT_TYPE = np.array([p.product_type for p in PRODUCTS])
LOAN_TYPES = ("MORTGAGE", "CONSUMER_LOAN", "SME_LOAN", "CORPORATE_LOAN")
PERFORMING, DELINQUENT, FALLS_BEHIND = 0, 1, 2
"""Loan repayment behaviours."""
PAYS_IN_FULL, PAYS_MINIMUM, PAYS_NOTHING = 0, 1, 2
"""Credit-card repayment behaviours."""


@dataclass
class Accounts:
    """One entry per account, sorted by account_id (= opening order); arrays are aligned."""

    account_id: pa.Array
    customer: np.ndarray
    product: np.ndarray
    branch: np.ndarray
    open_day: np.ndarray
    open_wall: np.ndarray
    close_day: np.ndarray
    """NEVER while open; set for a churner's accounts and for time deposits paid out at
    maturity (`ledger._payouts`), and by the ledger when a loan is repaid."""
    status: np.ndarray
    """Status while open: ACTIVE, DORMANT or FROZEN."""
    rate_bps: np.ndarray
    credit_limit: np.ndarray
    """Cents; -1 for accounts without a limit."""
    rm: np.ndarray
    opening: np.ndarray
    """Ledger balance in cents at the start of the first business day (0 if opened later)."""
    principal: np.ndarray
    installment: np.ndarray
    frequency: np.ndarray
    maturity_day: np.ndarray
    collateral: np.ndarray
    collateral_value: np.ndarray
    behaviour: np.ndarray
    dpd_at_start: np.ndarray
    fall_day: np.ndarray
    cure_day: np.ndarray
    card_payer: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def kind(self) -> np.ndarray:
        return PRODUCT_TYPE[self.product]

    @property
    def is_loan(self) -> np.ndarray:
        return np.isin(self.kind, LOAN_TYPES)


@dataclass
class Parties:
    """account_parties: who holds, may use or guarantees each account."""

    account: np.ndarray
    customer: np.ndarray
    role: np.ndarray


def build_accounts(
    config: SimulationConfig, customers: Customers, rms: RelationshipManagers
) -> tuple[Accounts, Parties]:
    rng = stream(config.seed, "accounts")
    start = epoch_day(config.start)
    owner, code, historic, in_period = _holdings(rng, config, customers)
    product = np.array([PRODUCT_INDEX[c] for c in code.tolist()], np.int64)
    kind = PRODUCT_TYPE[product]
    m = len(owner)
    open_day, close_day = _lifetimes(rng, config, customers, owner, kind, in_period)

    rate = _rates(rng, product)
    terms = _loan_terms(rng, config, customers, owner, product, open_day, rate, in_period)
    open_day = np.where(np.isin(kind, LOAN_TYPES) & ~in_period, terms["open_day"], open_day)
    # a consumer loan repaid in full some years before the period
    n_paid = int(historic.sum())
    open_day[historic] = np.maximum(
        customers.onboard_day[owner[historic]], start - rng.integers(3 * 365, 8 * 365, n_paid)
    )
    terms["maturity_day"][historic] = add_months(open_day[historic], np.full(n_paid, 36))
    close_day[historic] = np.minimum(terms["maturity_day"][historic], start - 1)

    status = np.full(m, "ACTIVE", dtype=object)
    main = customers.duplicate_of[owner] < 0
    quiet = ((kind == "SAVINGS") & (rng.random(m) < 0.05)) | (~main & (rng.random(m) < 0.3))
    status[customers.dormant[owner] | quiet] = "DORMANT"
    deposit = np.isin(kind, ["CURRENT", "SAVINGS", "TIME_DEPOSIT"])
    frozen = pick(rng, np.flatnonzero(deposit & (status == "ACTIVE") & ~customers.churner[owner]), 0.005)
    status[frozen] = "FROZEN"  # a court order: no customer activity, interest still accrues
    status[np.isin(kind, LOAN_TYPES) | (kind == "CREDIT_CARD")] = "ACTIVE"

    limit = np.full(m, -1, np.int64)
    card = kind == "CREDIT_CARD"
    thousands = np.where(code == "CC-PLATINUM", rng.integers(10, 31, m) * 10, rng.integers(10, 51, m))
    limit[card] = thousands[card] * 1_000_00

    opening = _opening_balances(rng, customers, owner, kind, limit, status)
    opening = np.where(np.isin(kind, LOAN_TYPES), -terms["outstanding"], opening)
    opening = np.where((open_day < start) & (close_day >= start), opening, 0)

    branch = np.where(rng.random(m) < 0.85, customers.branch[owner], rng.integers(0, len(BRANCHES), m))
    account_rm = np.full(m, -1, np.int64)
    officer = np.isin(kind, ["SME_LOAN", "CORPORATE_LOAN"]) & (rng.random(m) < 0.5)
    account_rm[officer] = rng.choice(np.flatnonzero(rms.leave_day == NEVER), int(officer.sum()))

    order = np.lexsort((owner, open_day))
    columns = {
        "customer": owner,
        "product": product,
        "branch": branch,
        "open_day": open_day,
        "open_wall": open_day * DAY + rng.integers(9 * 3600, 17 * 3600, m),
        "close_day": close_day,
        "status": status,
        "rate_bps": rate,
        "credit_limit": limit,
        "rm": account_rm,
        "opening": opening,
        "card_payer": choice(rng, np.arange(3), m, [55, 40, 5]),
        **{k: v for k, v in terms.items() if k not in ("open_day", "outstanding")},
    }
    accounts = Accounts(
        account_id=numbered("AC", 1_000_000_000 + np.arange(1, m + 1), 10),
        **{name: values[order] for name, values in columns.items()},
    )
    return accounts, _parties(rng, customers, accounts, start)


def _holdings(
    rng: np.random.Generator, config: SimulationConfig, customers: Customers
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which products each customer record holds: (owner, product code, repaid long ago, opened in the period)."""
    start = epoch_day(config.start)
    n = len(customers)
    corp = customers.corporate
    main = customers.duplicate_of < 0
    new = customers.onboard_day >= start
    closed_before = customers.closed_day < start
    plain = ~corp & main & ~new & ~closed_before & ~customers.dormant
    r = rng.random((n, 8))

    mortgage = plain & customers.employed & (r[:, 0] < 0.14)
    consumer = plain & (r[:, 1] < 0.09)
    card = plain & (r[:, 2] < 0.3)
    current = (~corp & main & (customers.employed | (r[:, 3] < 0.8))) | mortgage | consumer | card
    current |= ~corp & ~main & (r[:, 4] < 0.4)
    savings = ~corp & ((main & (r[:, 5] < 0.45)) | (~main & ~current))
    debit = current & ~corp & (r[:, 6] < 0.85)
    td = ~new & ~closed_before & ~customers.dormant & main & (r[:, 7] < np.where(corp, 0.25, 0.15))
    sme = corp & ~customers.large_corporate & (rng.random(n) < 0.35)
    corp_loan = corp & customers.large_corporate & (rng.random(n) < 0.6)
    paid_off = plain & ~consumer & (customers.onboard_day < start - 400) & (rng.random(n) < 0.05)

    groups = [
        (current & ~corp, np.full(n, "CUR-IND")),
        (corp, np.full(n, "CUR-CORP")),
        (debit, np.full(n, "DC-UNIONPAY")),
        (savings, np.full(n, "SAV-IND")),
        (td, choice(rng, ["TD-06M", "TD-12M", "TD-36M"], n, [3, 5, 2])),
        (card, np.where(customers.affluent, "CC-PLATINUM", "CC-CLASSIC")),
        (mortgage, np.full(n, "MTG-30Y")),
        (consumer, np.full(n, "CL-36M")),
        (sme, np.full(n, "SME-60M")),
        (corp_loan, np.full(n, "CORP-60M")),
        (paid_off, np.full(n, "CL-36M")),
    ]
    owner = np.concatenate([np.flatnonzero(mask) for mask, _ in groups])
    code = np.concatenate([codes[mask] for mask, codes in groups])
    historic = np.r_[np.zeros(len(owner) - int(paid_off.sum()), bool), np.ones(int(paid_off.sum()), bool)]
    # new consumer loans disbursed during the period to customers who already bank here
    takers = pick(rng, np.flatnonzero(plain & current & ~consumer), 0.01 * config.days / 30)
    takers = takers if config.days >= 2 else takers[:0]
    in_period = np.r_[np.zeros(len(owner), bool), np.ones(len(takers), bool)]
    owner = np.concatenate([owner, takers])
    code = np.concatenate([code, np.full(len(takers), "CL-36M")])
    return owner, code, np.r_[historic, np.zeros(len(takers), bool)], in_period


def _lifetimes(
    rng: np.random.Generator,
    config: SimulationConfig,
    customers: Customers,
    owner: np.ndarray,
    kind: np.ndarray,
    in_period: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Open and close days: the first account at onboarding, others later; closed with the customer."""
    start, end = epoch_day(config.start), epoch_day(config.end)
    onboard = customers.onboard_day[owner]
    has_current = np.zeros(len(customers), bool)
    has_current[owner[kind == "CURRENT"]] = True
    first_product = (kind == "CURRENT") | ((kind == "SAVINGS") & ~has_current[owner])
    later = onboard + (rng.random(len(owner)) * np.maximum(start - 1 - onboard, 0)).astype(np.int64)
    open_day = np.where(first_product | (onboard >= start), onboard, later)
    open_day[in_period] = rng.integers(start + 1, end + 1, int(in_period.sum()))
    close_day = np.full(len(owner), NEVER, np.int64)
    owner_closed = customers.closed_day[owner]
    gone = owner_closed < start
    close_day[gone] = owner_closed[gone]
    open_day[gone] = np.minimum(open_day[gone], close_day[gone] - 1)
    churning = customers.churner[owner]
    close_day[churning] = owner_closed[churning]
    return open_day, close_day


def _rates(rng: np.random.Generator, product: np.ndarray) -> np.ndarray:
    low = np.array([p.rate_bps[0] for p in PRODUCTS])[product]
    high = np.array([p.rate_bps[1] for p in PRODUCTS])[product]
    return (low + (rng.random(len(product)) * (high - low) / 5).astype(np.int64) * 5).astype(np.int64)


def _opening_balances(
    rng: np.random.Generator,
    customers: Customers,
    owner: np.ndarray,
    kind: np.ndarray,
    limit: np.ndarray,
    status: np.ndarray,
) -> np.ndarray:
    m = len(owner)
    monthly = np.maximum(customers.monthly_inflow[owner], 200_000).astype(np.float64)
    corp = customers.corporate[owner]
    balance = np.select(
        [kind == "CURRENT", kind == "SAVINGS", kind == "TIME_DEPOSIT", kind == "CREDIT_CARD"],
        [
            lognormal(rng, monthly * np.where(corp, 0.8, 1.5), 0.8, m),
            lognormal(rng, monthly * 3, 1.0, m),
            np.round(lognormal(rng, np.where(corp, 2e8, 1e7), 0.8, m), -5),
            -rng.random(m) * 0.5 * np.maximum(limit, 0),
        ],
        0.0,
    )
    quiet = status == "DORMANT"
    balance = np.where(quiet & np.isin(kind, ["CURRENT", "SAVINGS"]), lognormal(rng, 50_000, 1.0, m), balance)
    return np.round(balance).astype(np.int64)


def _loan_terms(
    rng: np.random.Generator,
    config: SimulationConfig,
    customers: Customers,
    owner: np.ndarray,
    product: np.ndarray,
    open_day: np.ndarray,
    rate_bps: np.ndarray,
    disbursed_in_period: np.ndarray,
) -> dict[str, np.ndarray]:
    """Principal, schedule, collateral and repayment behaviour of every loan (zeros elsewhere)."""
    start, end = epoch_day(config.start), epoch_day(config.end)
    m = len(owner)
    kind = PRODUCT_TYPE[product]
    loan = np.isin(kind, LOAN_TYPES)
    income = np.maximum(customers.income[owner], 60_000_00).astype(np.float64)
    turnover = customers.monthly_inflow[owner].astype(np.float64) * 12
    principal = np.select(
        [kind == "MORTGAGE", kind == "CONSUMER_LOAN", kind == "SME_LOAN", kind == "CORPORATE_LOAN"],
        [
            np.maximum(np.round(income * rng.uniform(3, 8, m), -6), 300_000_00),
            np.maximum(np.round(income * rng.uniform(0.2, 0.8, m), -5), 20_000_00),
            np.maximum(np.round(turnover * rng.uniform(0.05, 0.2, m), -6), 200_000_00),
            np.maximum(np.round(turnover * rng.uniform(0.05, 0.15, m), -7), 5_000_000_00),
        ],
        0,
    ).astype(np.int64)
    term = np.array([p.term_months or 0 for p in PRODUCTS])[product]
    frequency = np.where(loan, "MONTHLY", "").astype(object)
    frequency[(kind == "SME_LOAN") & (rng.random(m) < 0.4)] = "QUARTERLY"
    corp_loan = kind == "CORPORATE_LOAN"
    frequency[corp_loan] = np.where(rng.random(m) < 0.5, "BULLET", "QUARTERLY")[corp_loan]
    period = np.where(frequency == "QUARTERLY", 3, 1)

    # months elapsed since disbursement: at least enough to stay open through the period
    needed = config.days // 30 + 3
    since_onboard = np.maximum(month_index(np.full(m, start)) - month_index(customers.onboard_day[owner]) - 1, 1)
    max_elapsed = np.maximum(np.minimum(term - needed, since_onboard), 1)
    elapsed = 1 + (rng.random(m) * max_elapsed).astype(np.int64)
    disbursed = add_months(np.full(m, start - 1), -elapsed) - rng.integers(0, 27, m)
    disbursed = np.where(disbursed_in_period, open_day, np.maximum(disbursed, customers.onboard_day[owner]))
    due_dom = np.minimum(day_of_month(disbursed), 28)
    months_paid = (
        month_index(np.full(m, start - 1)) - month_index(disbursed) - (day_of_month(np.full(m, start - 1)) < due_dom)
    )
    months_paid = np.where(disbursed_in_period, 0, np.maximum(months_paid, 0))

    periodic_rate = rate_bps / 10_000 * period / 12
    periods = np.maximum(term // period, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = principal * periodic_rate / (1 - (1 + periodic_rate) ** -periods.astype(np.float64))
    installment = np.where(frequency == "BULLET", principal * rate_bps / 10_000 / 12, annuity)
    installment = np.where(loan, np.round(installment), 0).astype(np.int64)

    behaviour = np.full(m, PERFORMING, np.int64)
    dpd = np.zeros(m, np.int64)
    fall = np.full(m, NEVER, np.int64)
    cure = np.full(m, NEVER, np.int64)
    eligible = loan & ~disbursed_in_period & (frequency != "BULLET") & ~customers.churner[owner] & (months_paid >= 12)
    late = pick(rng, np.flatnonzero(eligible), 0.06)
    behaviour[late] = DELINQUENT
    bucket = choice(rng, np.arange(5), len(late), [30, 30, 20, 12, 8])
    bucket[:2] = [2, 4][: len(bucket)]  # a substandard and a loss loan at the start, even in a small bank
    low = np.array([3, 31, 91, 181, 361])[bucket]
    high = np.array([30, 90, 180, 360, 540])[bucket]
    dpd[late] = rng.integers(low, high + 1)
    if config.days >= 3:
        curing = pick(rng, late[1:], 0.35)  # the first stays delinquent even in a tiny bank
        cure[curing] = rng.integers(start + 1, end + 1, len(curing))
        falling = pick(rng, np.flatnonzero(eligible & (behaviour == PERFORMING)), 0.05)
        behaviour[falling] = FALLS_BEHIND
        fall[falling] = rng.integers(start, max(start + 1, end - 5), len(falling))
    missed = np.where(behaviour == DELINQUENT, -(-dpd // (30 * period)), 0)
    paid_periods = np.maximum(months_paid // period - missed, 0)
    growth = (1 + periodic_rate) ** paid_periods
    outstanding = principal * growth - installment * np.where(
        periodic_rate > 0, (growth - 1) / np.maximum(periodic_rate, 1e-12), 0
    )
    outstanding = np.where(frequency == "BULLET", principal, outstanding)
    outstanding = np.where(loan & ~disbursed_in_period, np.round(outstanding), 0).astype(np.int64)

    collateral = np.where(loan, "NONE", "").astype(object)
    collateral[kind == "MORTGAGE"] = "REAL_ESTATE"
    business = np.isin(kind, ["SME_LOAN", "CORPORATE_LOAN"])
    collateral[business] = choice(
        rng, ["REAL_ESTATE", "EQUIPMENT", "GUARANTEE", "DEPOSIT", "VEHICLE"], m, [4, 3, 2, 1, 1]
    )[business]
    consumer_guarantee = (kind == "CONSUMER_LOAN") & (rng.random(m) < 0.3)
    collateral[consumer_guarantee] = "GUARANTEE"
    valued = np.isin(collateral, ["REAL_ESTATE", "EQUIPMENT", "DEPOSIT", "VEHICLE"])
    value = np.where(valued, np.round(principal * rng.uniform(0.6, 2.2, m), -5), -1).astype(np.int64)
    return {
        "open_day": disbursed,
        "principal": principal,
        "installment": installment,
        "frequency": frequency,
        "maturity_day": np.where(loan, add_months(disbursed, term), NEVER),
        "collateral": collateral,
        "collateral_value": value,
        "behaviour": behaviour,
        "dpd_at_start": dpd,
        "fall_day": fall,
        "cure_day": cure,
        "outstanding": outstanding,
    }


def _parties(rng: np.random.Generator, customers: Customers, accounts: Accounts, start: int) -> Parties:
    """PRIMARY = the account's customer; JOINT holders, AUTHORIZED users and GUARANTORS besides."""
    kind = accounts.kind
    holder = accounts.customer
    pool = np.flatnonzero(
        ~customers.corporate
        & (customers.onboard_day < start)
        & (customers.closed_day >= start)
        & (customers.duplicate_of < 0)
    )
    extra_account, extra_customer, extra_role = [], [], []

    def add(mask: np.ndarray, role: str) -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0 or len(pool) < 3:
            return
        other = rng.choice(pool, len(idx))
        clash = customers.person[other] == customers.person[holder[idx]]
        other[clash] = pool[(np.searchsorted(pool, other[clash]) + 1) % len(pool)]
        keep = customers.person[other] != customers.person[holder[idx]]
        extra_account.append(idx[keep])
        extra_customer.append(other[keep])
        extra_role.append(np.full(int(keep.sum()), role))

    personal = np.isin(kind, ["CURRENT", "SAVINGS"]) & ~customers.corporate[holder]
    add(personal & (rng.random(len(accounts)) < 0.08), "JOINT")
    corporate_current = (kind == "CURRENT") & customers.corporate[holder]
    add(corporate_current, "AUTHORIZED")
    add(corporate_current & (rng.random(len(accounts)) < 0.4), "AUTHORIZED")
    guaranteed = np.isin(accounts.collateral, ["GUARANTEE"]) | (
        (kind == "SME_LOAN") & (rng.random(len(accounts)) < 0.3)
    )
    add(guaranteed, "GUARANTOR")

    account = np.concatenate([np.arange(len(accounts)), *extra_account])
    customer = np.concatenate([holder, *extra_customer])
    role = np.concatenate([np.full(len(accounts), "PRIMARY"), *extra_role])
    # one row per (account, customer): a second AUTHORIZED draw may repeat the first
    key = account.astype(np.int64) * (len(customers) + 1) + customer
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    order = np.lexsort((customer[first], account[first]))
    return Parties(account=account[first][order], customer=customer[first][order], role=role[first][order])
