"""What customers and the bank's batch jobs post on a business day.

Incomes land overnight on the salary day; people spend through the day by card, transfer,
bill payment and cash, more on weekends at shops and less at the counter; companies receive
and pay continuously and run payroll monthly; fees are charged on the first of the month;
churners fade and drain their accounts before they leave (gradually, some not at all).
Amounts scale with each customer's income so that balances stay plausible; the ledger
declines whatever a balance cannot pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .accounts import DELINQUENT, Accounts
from .config import ChurnBehaviour
from .days import day_of_month, month_index, weekday
from .population import Customers, warning_strength
from .postings import FIRST_BILLER, FIRST_MERCHANT, Postings, channel, text, txn_type
from .reference import BILLERS, BRANCHES, MERCHANTS, PRODUCT_INDEX

HOUR_WEIGHTS = np.array([2, 4, 6, 7, 7, 8, 7, 6, 6, 6, 7, 8, 8, 7, 5, 3], dtype=np.float64)
"""Customer activity per hour from 07:00 to 22:59."""
SPEND_KINDS = ("CARD_PURCHASE", "TRANSFER_OUT", "BILL_PAYMENT", "WITHDRAWAL", "TRANSFER_IN")
SPEND_WEIGHTS = {False: np.array([45, 18, 14, 15, 8.0]), True: np.array([60, 12, 8, 14, 6.0])}
"""Mix of everyday postings on weekdays (False) and weekends (True)."""
SPEND_SIZE = np.array([0.6, 2.0, 1.2, 1.0, 1.5])
"""Size of each kind relative to the customer's average posting."""
PHYSICAL = np.array([b.branch_type != "VIRTUAL" for b in BRANCHES])


@dataclass
class Disputes:
    """Fees that customers called about (the call centre plays these as FEE_DISPUTE calls)."""

    customer: np.ndarray
    fee_number: np.ndarray
    call_day: np.ndarray
    reversed: np.ndarray


class Ledger(Protocol):
    """What the day's activity reads of the ledger (`simulator.ledger.Ledger`) and books on it.

    A protocol rather than an import: the ledger calls this module, so this module naming the
    ledger's class would tie the two into an import circle (tests/test_imports.py).
    """

    rng: np.random.Generator
    c: Customers
    churn: ChurnBehaviour
    a: Accounts
    end: int
    kind: np.ndarray
    deposit: np.ndarray
    card: np.ndarray
    loan: np.ndarray
    balance: np.ndarray
    late_fee_day: np.ndarray
    missed: np.ndarray
    open_dom: np.ndarray
    open_month: np.ndarray
    retired: np.ndarray
    prefers_web: np.ndarray
    sms_alerts: np.ndarray
    online_since: np.ndarray
    employer_bank: np.ndarray
    current_of: np.ndarray
    has_debit_card: np.ndarray
    scheduled: list[tuple[np.ndarray, Postings]]
    disputes: list[Disputes]

    def new(
        self,
        account: np.ndarray,
        at: np.ndarray | float,
        amount: np.ndarray | int,
        kind: str | np.ndarray,
        via: str | np.ndarray,
        about: str | np.ndarray,
        **extra: np.ndarray,
    ) -> Postings: ...

    def external_accounts(self, n: int) -> dict[str, np.ndarray]: ...

    def seconds(self, n: int, first_hour: float, last_hour: float) -> np.ndarray: ...


def daytime_seconds(ledger: Ledger, n: int) -> np.ndarray:
    hour = ledger.rng.choice(16, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()) + 7
    return hour * 3600 + ledger.rng.integers(0, 3600, n)


def _weekend(d: int) -> bool:
    return bool(weekday(np.array([d]))[0] >= 5)


def _amounts(ledger: Ledger, median: np.ndarray, sigma: float = 0.9) -> np.ndarray:
    return np.maximum(np.round(median * np.exp(ledger.rng.normal(0, sigma, len(median)))), 100).astype(np.int64)


def _branch_of(ledger: Ledger, customer: np.ndarray) -> np.ndarray:
    """The customer's home branch, or the flagship when the home branch is the virtual one."""
    home = ledger.c.branch[customer]
    return np.where(PHYSICAL[home], home, 0)


def incomes(ledger: Ledger, d: int, dom: int, usable: np.ndarray) -> Postings:
    """Salaries, pensions and family transfers, overnight on each customer's pay day."""
    c = ledger.c
    account = ledger.current_of
    gap = (c.salary_stop <= d) & (d < c.salary_resume)
    paid = (c.salary_dom == dom) & ~c.corporate & (c.duplicate_of < 0) & ~gap & (account >= 0)
    paid[paid] = usable[account[paid]]
    who = np.flatnonzero(paid)
    amount = np.round(c.monthly_inflow[who] * ledger.rng.uniform(0.97, 1.03, len(who))).astype(np.int64)
    salaried = c.employed[who]
    about = np.where(ledger.retired[who], text("Pension"), text("Family transfer"))
    return Postings.concat(
        [
            ledger.new(
                account[who[salaried]],
                ledger.seconds(int(salaried.sum()), 3, 3.5),
                amount[salaried],
                "SALARY",
                "SYSTEM",
                "Salary",
                bank=ledger.employer_bank[who[salaried]],
            ),
            ledger.new(
                account[who[~salaried]],
                ledger.seconds(int((~salaried).sum()), 3, 3.5),
                amount[~salaried],
                "TRANSFER_IN",
                "SYSTEM",
                about[~salaried],
                **ledger.external_accounts(int((~salaried).sum())),
            ),
        ]
    )


def fees(ledger: Ledger, d: int, dom: int, alive: np.ndarray, usable: np.ndarray) -> Postings:
    """Monthly account fees on the 1st, card annual fees on the anniversary, late fees."""
    a, c = ledger.a, ledger.c
    parts = []
    if dom == 1:
        current = (ledger.kind == "CURRENT") & usable
        personal = current & ~c.corporate[a.customer]
        for mask, cents, about in (
            (personal & (ledger.balance < 10_000_00), -10_00, "Account maintenance fee"),
            (personal & ledger.sms_alerts, -2_00, "SMS alert fee"),
            (current & c.corporate[a.customer], -50_00, "Corporate account fee"),
        ):
            idx = np.flatnonzero(mask)
            parts.append(ledger.new(idx, ledger.seconds(len(idx), 5.5, 6.5), cents, "FEE", "SYSTEM", about))
    month = int(month_index(np.array([d]))[0] % 12)
    anniversary = ledger.card & alive & (a.open_day < d) & (ledger.open_dom == dom) & (ledger.open_month == month)
    idx = np.flatnonzero(anniversary)
    annual = np.where(a.product[idx] == PRODUCT_INDEX["CC-PLATINUM"], -600_00, -200_00)
    parts.append(ledger.new(idx, ledger.seconds(len(idx), 5.5, 6.5), annual, "FEE", "SYSTEM", "Card annual fee"))
    idx = np.flatnonzero(ledger.card & alive & (ledger.late_fee_day == d))
    parts.append(ledger.new(idx, ledger.seconds(len(idx), 5.5, 6.5), -50_00, "FEE", "SYSTEM", "Card late payment fee"))
    return Postings.concat(parts)


def daytime(ledger: Ledger, d: int, usable: np.ndarray) -> Postings:
    """Everything customers do between 07:00 and 23:00."""
    return Postings.concat(
        [
            _personal(ledger, d, usable),
            _savings(ledger, usable),
            _card_purchases(ledger, d, usable),
            _corporate(ledger, d, usable),
            _churn_drain(ledger, d, usable),
            _openings(ledger, d),
            _cures(ledger, d),
        ]
    )


def _fading(ledger: Ledger, customer: np.ndarray, d: int) -> np.ndarray:
    """The share of their usual spending customers keep on day `d` (less as leaving nears)."""
    return 1.0 - ledger.churn.spending_fade * warning_strength(ledger.c, customer, d)


def _personal(ledger: Ledger, d: int, usable: np.ndarray) -> Postings:
    """Card purchases, transfers, bills, cash and incoming transfers on personal current accounts."""
    a, c, rng = ledger.a, ledger.c, ledger.rng
    accounts = np.flatnonzero(usable & (ledger.kind == "CURRENT") & ~c.corporate[a.customer])
    owner = a.customer[accounts]
    rate = 1.1 * c.activity[owner] * _fading(ledger, owner, d)
    count = rng.poisson(rate * (1.1 if _weekend(d) else 1.0))
    account, customer = np.repeat(accounts, count), np.repeat(owner, count)
    n = len(account)
    weights = np.tile(SPEND_WEIGHTS[_weekend(d)], (n, 1))
    weights[:, 0] *= ledger.has_debit_card[customer]
    cumulative = np.cumsum(weights, axis=1)
    kind = (rng.random(n)[:, None] * cumulative[:, -1:] > cumulative).sum(axis=1)
    average = 0.55 * c.monthly_inflow[customer] / 30 / np.maximum(1.1 * c.activity[customer], 0.05)
    amount = _amounts(ledger, average * SPEND_SIZE[kind] / 1.5)
    cash = kind == 3
    amount[cash] = np.maximum(np.round(amount[cash], -4), 100_00)
    amount = np.where(kind == 4, amount, -amount)

    online = ledger.online_since[customer] <= d
    digital = np.where(ledger.prefers_web[customer], channel("ONLINE"), channel("MOBILE"))
    remote = np.where(online, digital, np.where(rng.random(n) < 0.8, channel("BRANCH"), channel("PHONE")))
    via = np.select(
        [kind == 0, kind == 3, kind == 4],
        [
            np.where(rng.random(n) < 0.8, channel("POS"), channel("ONLINE")),
            np.where(rng.random(n) < 0.85, channel("ATM"), channel("BRANCH")),
            np.full(n, channel("SYSTEM")),
        ],
        remote,
    )
    about = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [
            FIRST_MERCHANT + rng.integers(0, len(MERCHANTS), n),
            np.full(n, text("Transfer out")),
            FIRST_BILLER + rng.integers(0, len(BILLERS), n),
            np.where(via == channel("ATM"), text("ATM withdrawal"), text("Cash withdrawal")),
        ],
        text("Transfer in"),
    )
    at_branch = np.isin(via, [channel("BRANCH"), channel("ATM")])
    transfer = np.isin(kind, [1, 4])
    external = ledger.external_accounts(n)
    return ledger.new(
        account,
        daytime_seconds(ledger, n),
        amount,
        np.asarray([txn_type(k) for k in SPEND_KINDS])[kind],
        via,
        about,
        branch=np.where(at_branch, _branch_of(ledger, customer), -1),
        external=np.where(transfer, external["external"], -1),
        bank=np.where(transfer, external["bank"], -1),
    )


def _savings(ledger: Ledger, usable: np.ndarray) -> Postings:
    """Occasional transfers into savings, cash deposits and withdrawals at the counter."""
    a, rng = ledger.a, ledger.rng
    accounts = np.flatnonzero(usable & (ledger.kind == "SAVINGS"))
    monthly = np.maximum(ledger.c.monthly_inflow[a.customer[accounts]], 3_000_00)
    parts = []
    for rate, kind, via, about, share in (
        (0.04, "TRANSFER_IN", "SYSTEM", "Savings deposit", 0.3),
        (0.01, "DEPOSIT", "BRANCH", "Cash deposit", 0.5),
        (0.01, "WITHDRAWAL", "BRANCH", "Cash withdrawal", -0.2),
    ):
        hit = rng.random(len(accounts)) < rate
        idx = accounts[hit]
        base = monthly[hit] * abs(share) if share > 0 else np.maximum(ledger.balance[idx], 0) * abs(share)
        amount = _amounts(ledger, base.astype(np.float64), 0.5) * (1 if share > 0 else -1)
        extra = (
            {"branch": _branch_of(ledger, a.customer[idx])} if via == "BRANCH" else ledger.external_accounts(len(idx))
        )
        parts.append(ledger.new(idx, daytime_seconds(ledger, len(idx)), amount, kind, via, about, **extra))
    return Postings.concat(parts)


def _card_purchases(ledger: Ledger, d: int, usable: np.ndarray) -> Postings:
    a, c, rng = ledger.a, ledger.c, ledger.rng
    cards = np.flatnonzero(usable & ledger.card)
    owner = a.customer[cards]
    rate = 0.45 * c.activity[owner] * (1.3 if _weekend(d) else 1.0) * _fading(ledger, owner, d)
    count = rng.poisson(rate)
    account, customer = np.repeat(cards, count), np.repeat(owner, count)
    n = len(account)
    average = 0.15 * c.monthly_inflow[customer] / (0.45 * 30 * np.maximum(c.activity[customer], 0.05))
    via = np.where(rng.random(n) < 0.7, channel("POS"), channel("ONLINE"))
    about = FIRST_MERCHANT + rng.integers(0, len(MERCHANTS), n)
    return ledger.new(
        account, daytime_seconds(ledger, n), -_amounts(ledger, average / 1.5), "CARD_PURCHASE", via, about
    )


def _corporate(ledger: Ledger, d: int, usable: np.ndarray) -> Postings:
    """Companies' receipts and supplier payments through the day, and payroll on the 10th."""
    a, c, rng = ledger.a, ledger.c, ledger.rng
    accounts = np.flatnonzero(usable & (ledger.kind == "CURRENT") & c.corporate[a.customer])
    owner = a.customer[accounts]
    per_day = 0.4 if _weekend(d) else 2.5
    via = np.where(ledger.online_since[owner] <= d, channel("ONLINE"), channel("BRANCH"))
    parts = []
    for kind, about, sign, share in (
        ("TRANSFER_IN", "Customer receipt", 1, 1.0),
        ("TRANSFER_OUT", "Supplier payment", -1, 0.8),
    ):
        count = rng.poisson(per_day, len(accounts))
        idx = np.repeat(np.arange(len(accounts)), count)
        median = c.monthly_inflow[owner[idx]] * share / (22 * 2.5) / 1.5
        parts.append(
            ledger.new(
                accounts[idx],
                daytime_seconds(ledger, len(idx)),
                sign * _amounts(ledger, median, 0.8),
                kind,
                np.full(len(idx), channel("SYSTEM")) if sign > 0 else via[idx],
                about,
                **ledger.external_accounts(len(idx)),
            )
        )
    if int(day_of_month(np.array([d]))[0]) == 10:
        payroll = np.round(c.monthly_inflow[owner] * 0.15).astype(np.int64)
        parts.append(
            ledger.new(accounts, ledger.seconds(len(accounts), 10, 11), -payroll, "TRANSFER_OUT", via, "Payroll")
        )
    return Postings.concat(parts)


def _churn_drain(ledger: Ledger, d: int, usable: np.ndarray) -> Postings:
    """Before leaving (and in a look-alike's spell), money moves to another bank in large
    transfers, more often as the spell strengthens."""
    a, rng, churn = ledger.a, ledger.rng, ledger.churn
    owner = a.customer
    candidates = np.flatnonzero(usable & np.isin(ledger.kind, ["CURRENT", "SAVINGS"]) & (ledger.balance > 0))
    chance = churn.drain_rate * warning_strength(ledger.c, owner[candidates], d)
    idx = candidates[rng.random(len(candidates)) < chance]
    share = rng.uniform(churn.drain_share_min, churn.drain_share_max, len(idx))
    amount = -np.round(ledger.balance[idx] * share).astype(np.int64)
    online = ledger.online_since[owner[idx]] <= d
    via = np.where(online, channel("MOBILE"), channel("BRANCH"))
    return ledger.new(
        idx,
        daytime_seconds(ledger, len(idx)),
        amount,
        "TRANSFER_OUT",
        via,
        "Transfer to own account at another bank",
        **ledger.external_accounts(len(idx)),
    )


def _openings(ledger: Ledger, d: int) -> Postings:
    """New accounts: an initial deposit, or a loan disbursed to the borrower's current account."""
    a, c = ledger.a, ledger.c
    opened = a.open_day == d
    deposits = np.flatnonzero(opened & np.isin(ledger.kind, ["CURRENT", "SAVINGS"]))
    median = np.maximum(c.monthly_inflow[a.customer[deposits]], 2_000_00).astype(np.float64)
    initial = ledger.new(
        deposits,
        ledger.seconds(len(deposits), 10, 12),
        _amounts(ledger, median, 0.7),
        "DEPOSIT",
        "BRANCH",
        "Initial deposit",
        branch=a.branch[deposits],
    )
    loans = np.flatnonzero(opened & ledger.loan)
    payer = ledger.current_of[a.customer[loans]]
    at = ledger.seconds(len(loans), 10, 15)
    disbursed = ledger.new(
        loans,
        at,
        -a.principal[loans],
        "LOAN_DISBURSEMENT",
        "BRANCH",
        "Loan disbursement",
        branch=a.branch[loans],
        counterparty=payer,
    )
    credited = payer >= 0
    proceeds = ledger.new(
        payer[credited],
        at[credited] + 1,
        a.principal[loans[credited]],
        "TRANSFER_IN",
        "SYSTEM",
        "Loan disbursement",
        counterparty=loans[credited],
    )
    return Postings.concat([initial, disbursed, proceeds])


def _cures(ledger: Ledger, d: int) -> Postings:
    """A delinquent borrower settles all arrears at the branch."""
    a = ledger.a
    loans = np.flatnonzero(ledger.loan & (a.behaviour == DELINQUENT) & (a.cure_day == d) & (a.close_day > d))
    amount = np.minimum(ledger.missed[loans] * a.installment[loans], -ledger.balance[loans])
    loans, amount = loans[amount > 0], amount[amount > 0]
    return ledger.new(
        loans,
        ledger.seconds(len(loans), 10, 16),
        amount,
        "LOAN_REPAYMENT",
        "BRANCH",
        "Arrears payment",
        branch=a.branch[loans],
        **ledger.external_accounts(len(loans)),
    )


def schedule_reversals(ledger: Ledger, d: int, today: Postings) -> None:
    """Merchants refund some card purchases (same day or up to five days later); some fees are
    disputed by phone and refunded on the day of the call."""
    a, rng = ledger.a, ledger.rng
    purchase = (today.txn_type == txn_type("CARD_PURCHASE")) & (ledger.kind[today.account] == "CURRENT")
    refunds = today.take(np.flatnonzero(purchase & (rng.random(len(today)) < 0.003)))
    delay = rng.choice(6, len(refunds), p=np.array([3, 2, 2, 1, 1, 1]) / 10)
    later = np.minimum(refunds.second + rng.integers(600, 7200, len(refunds)), 22 * 3600 + 3599)
    delay = np.where((delay == 0) & (later <= refunds.second), 1, delay)
    at = np.where(delay == 0, later, daytime_seconds(ledger, len(refunds)))
    refund = ledger.new(
        refunds.account,
        at,
        -refunds.amount,
        "REVERSAL",
        "SYSTEM",
        "Merchant refund",
        reverses=refunds.number,
        counterparty=refunds.counterparty,
    )
    _schedule(ledger, d + delay, refund)

    fee = (today.txn_type == txn_type("FEE")) & ledger.deposit[today.account]
    disputed = today.take(np.flatnonzero(fee & (rng.random(len(today)) < 0.05)))
    call_day = d + rng.choice(3, len(disputed), p=[0.5, 0.3, 0.2])
    keep = call_day <= ledger.end
    disputed, call_day = disputed.take(np.flatnonzero(keep)), call_day[keep]
    refunded = (rng.random(len(disputed)) < 0.6) & (call_day < a.close_day[disputed.account])
    reversal = ledger.new(
        disputed.account[refunded],
        ledger.seconds(int(refunded.sum()), 17.5, 18),
        -disputed.amount[refunded],
        "REVERSAL",
        "SYSTEM",
        "Fee refund",
        reverses=disputed.number[refunded],
    )
    _schedule(ledger, call_day[refunded], reversal)
    ledger.disputes.append(Disputes(a.customer[disputed.account], disputed.number, call_day, refunded))


def _schedule(ledger: Ledger, days: np.ndarray, postings: Postings) -> None:
    keep = np.flatnonzero(days <= ledger.end)
    if len(keep):
        ledger.scheduled.append((np.asarray(days)[keep], postings.take(keep)))
