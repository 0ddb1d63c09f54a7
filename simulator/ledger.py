"""The core banking ledger, played day by day.

Each business day runs like a core system's day: the overnight batch (salaries, loan and
card auto-debits, fees) at 03:00-07:00, after the small hours that zones with daylight
saving skip or repeat, customer activity during the day (`activity`),
closures and month-end interest just before midnight. Every batch goes through
`affordable` (declined for insufficient funds), and the day ends with `chain`, so
`balance_after` chains exactly and end-of-day balances equal the last posting. Money is in
integer cents throughout; interest accrues daily on the end-of-day balance in exact integer
units and is booked at month end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from . import activity
from .accounts import DELINQUENT, FALLS_BEHIND, PAYS_IN_FULL, PAYS_MINIMUM, PERFORMING, Accounts
from .activity import Disputes
from .config import SimulationConfig
from .days import NEVER, day_of_month, epoch_day, is_month_end, month_index, next_anniversary
from .population import Customers
from .postings import NO_FLOOR, Postings, affordable, chain, channel, text, txn_type
from .randomness import stream
from .reference import BANKS, PRODUCTS

log = logging.getLogger(__name__)

ACCRUAL_UNITS = 10_000 * 365
"""Accrued interest is held in cents x basis points x days; this many units make a cent."""
PAYOUT_SHARE = 0.4
"""Time deposits whose holder takes the money at the first maturity in the period (principal
and interest to the current account, the deposit closed); the others roll over."""
MATURITY_SECOND = 6 * 3600 + 2700
"""Matured deposits are paid out at 06:45, after the night batch, before the day's spending."""


@dataclass
class DayBook:
    """What the core system delivers for one business day."""

    day: int
    postings: Postings
    balance_after: np.ndarray
    eod_account: np.ndarray
    eod_balance: np.ndarray
    eod_available: np.ndarray
    eod_accrued: np.ndarray
    loan_account: np.ndarray
    loan_outstanding: np.ndarray
    loan_dpd: np.ndarray


class Ledger:
    """Balances and loan states of every account, moved forward one business day at a time."""

    def __init__(
        self,
        config: SimulationConfig,
        customers: Customers,
        accounts: Accounts,
        online_since: np.ndarray,
        prefers_web: np.ndarray,
    ) -> None:
        self.rng = stream(config.seed, "ledger")
        self.c, self.a = customers, accounts
        self.churn = config.churn
        self.start, self.end = epoch_day(config.start), epoch_day(config.end)
        self.online_since = online_since
        kind = accounts.kind
        self.kind = kind
        self.deposit = np.isin(kind, ["CURRENT", "SAVINGS", "TIME_DEPOSIT"])
        self.card = kind == "CREDIT_CARD"
        self.loan = accounts.is_loan
        self.balance = accounts.opening.copy()
        self.accrued = np.zeros(len(accounts), np.int64)
        self.floor = np.where(self.card, -accounts.credit_limit, np.where(self.loan, NO_FLOOR, 0))
        self.statement = np.where(self.card, np.maximum(-self.balance, 0), 0)
        self.late_fee_day = np.full(len(accounts), NEVER, np.int64)
        period = np.where(accounts.frequency == "QUARTERLY", 3, 1)
        delinquent = accounts.behaviour == DELINQUENT
        self.oldest_due = np.where(delinquent, self.start - accounts.dpd_at_start, NEVER)
        self.missed = np.where(delinquent, -(-accounts.dpd_at_start // (30 * period)), 0)
        self.due_dom = np.minimum(day_of_month(accounts.open_day), 28)
        self.open_dom = day_of_month(accounts.open_day)
        self.open_month = month_index(accounts.open_day) % 12
        self.missed_today = np.zeros(len(accounts), bool)
        self.retired = pc.fill_null(pc.equal(customers.occupation, "Retired"), False).to_numpy(zero_copy_only=False)
        self.prefers_web = prefers_web
        self.sms_alerts = self.rng.random(len(accounts)) < 0.25
        self.employer_bank = self.rng.integers(0, len(BANKS), len(customers))
        self.current_of = _main_current(customers, accounts)
        self.has_debit_card = np.zeros(len(customers), bool)
        self.has_debit_card[accounts.customer[kind == "DEBIT_CARD"]] = True
        self.payout_day = _payouts(config, customers, accounts, self.current_of, self.start, self.end)
        self.next_number = 1
        self.scheduled: list[tuple[np.ndarray, Postings]] = []
        self.disputes: list[Disputes] = []
        self.declined = 0

    # -- helpers -------------------------------------------------------------------------

    def new(
        self,
        account: np.ndarray,
        at: np.ndarray | float,
        amount: np.ndarray | int,
        kind: str | np.ndarray,
        via: str | np.ndarray,
        about: str | np.ndarray,
        **extra: np.ndarray,
    ) -> Postings:
        """Postings numbered in creation order. `at` is seconds after midnight, or an hour of
        the day (a float) for postings of a batch job; codes may be names or arrays of codes."""
        n = len(account)
        number = self.next_number + np.arange(n, dtype=np.int64)
        self.next_number += n
        second = np.full(n, round(at * 3600)) if isinstance(at, float) else at

        def coded(value: str | np.ndarray | int, encode: Callable[[str], int]) -> np.ndarray:
            return np.broadcast_to(np.asarray(encode(value) if isinstance(value, str) else value, np.int64), (n,))

        columns = {
            "account": np.asarray(account, np.int64),
            "second": np.asarray(second, np.int64),
            "amount": coded(amount, int),
            "txn_type": coded(kind, txn_type),
            "channel": coded(via, channel),
            "description": coded(about, text),
            "branch": np.full(n, -1),
            "counterparty": np.full(n, -1),
            "external": np.full(n, -1),
            "bank": np.full(n, -1),
            "reverses": np.full(n, -1),
            "number": number,
        }
        for name, values in extra.items():
            columns[name] = np.asarray(values, np.int64)
        return Postings(**{name: np.array(values) for name, values in columns.items()})

    def external_accounts(self, n: int) -> dict[str, np.ndarray]:
        """Counterparty at another bank: a card-like account number and the bank."""
        return {
            "external": self.rng.integers(6_200_000_000_000_000, 6_299_999_999_999_999, n),
            "bank": self.rng.integers(0, len(BANKS), n),
        }

    def seconds(self, n: int, first_hour: float, last_hour: float) -> np.ndarray:
        return self.rng.integers(int(first_hour * 3600), int(last_hour * 3600), n)

    def book(self, batch: Postings) -> Postings:
        """Apply the affordability rule to a batch and move balances by what was booked."""
        keep = affordable(batch, self.balance, self.floor)
        self.declined += int((~keep).sum())
        booked = batch.take(keep)
        np.add.at(self.balance, booked.account, booked.amount)
        return booked

    def post(self, batch: Postings) -> Postings:
        """Book postings that cannot breach a floor (credits, loan legs) without a check."""
        np.add.at(self.balance, batch.account, batch.amount)
        return batch

    # -- the day -------------------------------------------------------------------------

    def take_disputes(self) -> Disputes:
        """The fee disputes scheduled since the last call (their calls are on later days)."""
        disputes, self.disputes = concat_disputes(self.disputes), []
        return disputes

    def day(self, d: int) -> DayBook:
        a = self.a
        opening = self.balance.copy()
        alive = (a.open_day <= d) & (a.close_day >= d)
        usable = alive & (a.status == "ACTIVE") & ~self.c.dormant[a.customer]
        batches = self.overnight(d, alive, usable)
        batches.append(self.maturities(d))
        batches.append(self.book(activity.daytime(self, d, usable)))
        batches.append(self.post(self.reversals(d, alive, batches)))
        batches.append(self.closures(d, alive))
        batches.append(self.interest(d, (a.open_day <= d) & (a.close_day > d)))
        self.loan_states(d, alive)
        postings, balance_after = chain(Postings.concat(batches), opening)
        return self.end_of_day(d, postings, balance_after)

    def overnight(self, d: int, alive: np.ndarray, usable: np.ndarray) -> list[Postings]:
        """The night batch: incomes, loan and card auto-debits, fees."""
        a = self.a
        dom = int(day_of_month(np.array([d]))[0])
        income = activity.incomes(self, d, dom, usable)
        due = self.loan & alive & (a.open_day < d) & (self.due_dom == dom)
        quarterly = a.frequency == "QUARTERLY"
        due &= ~quarterly | ((month_index(np.full(len(a), d)) - month_index(a.open_day)) % 3 == 0)
        pays = due & (
            (a.behaviour == PERFORMING)
            | ((a.behaviour == FALLS_BEHIND) & (d < a.fall_day))
            | ((a.behaviour == DELINQUENT) & (d > a.cure_day))
        )
        amount = np.minimum(a.installment, -self.balance)
        pays &= amount > 0
        self.missed_today = due & ~pays
        loans = np.flatnonzero(pays)
        payer = self.current_of[a.customer[loans]]
        via_current = payer >= 0
        via_current[via_current] = usable[payer[via_current]]
        loan_debits = self.new(
            payer[via_current],
            self.seconds(int(via_current.sum()), 3.5, 4.5),
            -amount[loans[via_current]],
            "TRANSFER_OUT",
            "SYSTEM",
            "Loan repayment",
            counterparty=loans[via_current],
        )

        cards = np.flatnonzero(self.card & alive & (self.statement > 0) & (dom == 20))
        owed = np.minimum(self.statement[cards], -self.balance[cards])
        minimum = np.minimum(np.maximum(owed // 10, 100_00), owed)
        payment = np.select(
            [a.card_payer[cards] == PAYS_IN_FULL, a.card_payer[cards] == PAYS_MINIMUM], [owed, minimum], 0
        )
        card_payer = self.current_of[a.customer[cards]]
        paying = (payment > 0) & (card_payer >= 0)
        paying[paying] = usable[card_payer[paying]]
        card_debits = self.new(
            card_payer[paying],
            self.seconds(int(paying.sum()), 4.5, 5.5),
            -payment[paying],
            "TRANSFER_OUT",
            "SYSTEM",
            "Credit card repayment",
            counterparty=cards[paying],
        )
        fees = activity.fees(self, d, dom, alive, usable)
        booked = [self.book(Postings.concat([income, loan_debits, card_debits, fees]))]

        # the other leg of every auto-debit that went through
        debits = booked[0]
        repaid = np.isin(debits.number, loan_debits.number)
        booked.append(
            self.post(
                self.new(
                    debits.counterparty[repaid],
                    debits.second[repaid] + 1,
                    -debits.amount[repaid],
                    "LOAN_REPAYMENT",
                    "SYSTEM",
                    "Loan repayment",
                    counterparty=debits.account[repaid],
                )
            )
        )
        # performing loans whose current account could not pay are paid from another bank
        declined = np.setdiff1d(loans, debits.counterparty[repaid])
        booked.append(
            self.post(
                self.new(
                    declined,
                    self.seconds(len(declined), 9, 20),
                    amount[declined],
                    "LOAN_REPAYMENT",
                    "ONLINE",
                    "Loan repayment",
                    **self.external_accounts(len(declined)),
                )
            )
        )
        card_paid = np.isin(debits.number, card_debits.number)
        booked.append(
            self.post(
                self.new(
                    debits.counterparty[card_paid],
                    debits.second[card_paid] + 1,
                    -debits.amount[card_paid],
                    "TRANSFER_IN",
                    "SYSTEM",
                    "Credit card repayment",
                    counterparty=debits.account[card_paid],
                )
            )
        )
        unpaid = np.setdiff1d(cards, debits.counterparty[card_paid])
        self.late_fee_day[unpaid] = d + 1
        return booked

    def maturities(self, d: int) -> Postings:
        """Time deposits paid out at maturity: the interest accrued so far is credited, then
        principal and interest move to the holder's current account; the deposit closes today."""
        due = np.flatnonzero(self.payout_day == d)
        interest = self.accrued[due] // ACCRUAL_UNITS
        self.accrued[due] = 0
        credited = self.post(
            self.new(
                due[interest > 0],
                np.full(int((interest > 0).sum()), MATURITY_SECOND),
                interest[interest > 0],
                "INTEREST_CREDIT",
                "SYSTEM",
                "Interest credit",
            )
        )
        paid = due[self.balance[due] > 0]
        amount = self.balance[paid].copy()
        current = self.current_of[self.a.customer[paid]]
        at = np.full(len(paid), MATURITY_SECOND + 1)
        about = "Time deposit maturity"
        out = self.post(self.new(paid, at, -amount, "TRANSFER_OUT", "SYSTEM", about, counterparty=current))
        into = self.post(self.new(current, at + 1, amount, "TRANSFER_IN", "SYSTEM", about, counterparty=paid))
        return Postings.concat([credited, out, into])

    def reversals(self, d: int, alive: np.ndarray, booked: list[Postings]) -> Postings:
        """Refunds and fee reversals due today, and new ones to schedule from today's postings."""
        today = Postings.concat(booked)
        activity.schedule_reversals(self, d, today)
        due = [p.take(np.flatnonzero(days == d)) for days, p in self.scheduled]
        self.scheduled = [
            (days[days > d], p.take(np.flatnonzero(days > d))) for days, p in self.scheduled if (days > d).any()
        ]
        if not due:
            return Postings.empty()
        batch = Postings.concat(due)
        return batch.take(np.flatnonzero(alive[batch.account]))

    def closures(self, d: int, alive: np.ndarray) -> Postings:
        """Churners' last day: interest paid out, balances moved away, debts settled."""
        closing = np.flatnonzero(alive & (self.a.close_day == d))
        payout = closing[self.deposit[closing] & (self.accrued[closing] >= ACCRUAL_UNITS)]
        interest = self.post(
            self.new(
                payout, 23.5, self.accrued[payout] // ACCRUAL_UNITS, "INTEREST_CREDIT", "SYSTEM", "Interest credit"
            )
        )
        self.accrued[closing] = 0
        deposits = closing[self.deposit[closing] & (self.balance[closing] > 0)]
        loans = closing[self.loan[closing] & (self.balance[closing] < 0)]
        cards = closing[self.card[closing] & (self.balance[closing] < 0)]
        settle = self.post(
            Postings.concat(
                [
                    self.new(
                        deposits,
                        23.51,
                        -self.balance[deposits],
                        "TRANSFER_OUT",
                        "BRANCH",
                        "Account closure transfer",
                        **self.external_accounts(len(deposits)),
                    ),
                    self.new(
                        loans,
                        23.51,
                        -self.balance[loans],
                        "LOAN_REPAYMENT",
                        "BRANCH",
                        "Loan repayment",
                        **self.external_accounts(len(loans)),
                    ),
                    self.new(
                        cards,
                        23.51,
                        -self.balance[cards],
                        "TRANSFER_IN",
                        "BRANCH",
                        "Card payoff",
                        **self.external_accounts(len(cards)),
                    ),
                ]
            )
        )
        return Postings.concat([interest, settle])

    def interest(self, d: int, open_tonight: np.ndarray) -> Postings:
        """Daily accrual on the closing balance; at month end the accrued interest is booked."""
        revolving = self.card & (self.a.card_payer != PAYS_IN_FULL)
        bearing = open_tonight & ((self.deposit & (self.balance > 0)) | ((self.loan | revolving) & (self.balance < 0)))
        self.accrued[bearing] += self.balance[bearing] * self.a.rate_bps[bearing]
        if not is_month_end(np.array([d]))[0]:
            return Postings.empty()
        whole = np.sign(self.accrued) * (np.abs(self.accrued) // ACCRUAL_UNITS)
        self.accrued[:] = 0
        credit, charge = np.flatnonzero(whole > 0), np.flatnonzero(whole < 0)
        batch = self.post(
            Postings.concat(
                [
                    self.new(credit, 23.99, whole[credit], "INTEREST_CREDIT", "SYSTEM", "Interest credit"),
                    self.new(charge, 23.99, whole[charge], "INTEREST_CHARGE", "SYSTEM", "Interest charge"),
                ]
            )
        )
        cards = self.card & open_tonight
        self.statement = np.where(cards, np.maximum(-self.balance, 0), 0)
        return batch

    def loan_states(self, d: int, alive: np.ndarray) -> None:
        """Missed instalments start (or extend) arrears; a cure pays them off; repaid loans close."""
        missed = self.missed_today & alive
        self.oldest_due[missed & (self.oldest_due == NEVER)] = d
        self.missed[missed] += 1
        cured = self.loan & (self.a.cure_day == d)
        self.oldest_due[cured] = NEVER
        self.missed[cured] = 0
        repaid = self.loan & alive & (self.balance == 0) & (self.a.close_day > d)
        self.a.close_day[repaid] = d

    def end_of_day(self, d: int, postings: Postings, balance_after: np.ndarray) -> DayBook:
        a = self.a
        eod = np.flatnonzero((a.open_day <= d) & (a.close_day > d))
        balance = self.balance[eod]
        available = np.select(
            [self.deposit[eod] & (a.status[eod] != "FROZEN"), self.card[eod]],
            [balance, np.maximum(a.credit_limit[eod] + balance, 0)],
            0,
        )
        accrued = np.sign(self.accrued[eod]) * (np.abs(self.accrued[eod]) // ACCRUAL_UNITS)
        loans = eod[self.loan[eod]]
        dpd = np.where(self.oldest_due[loans] == NEVER, 0, d - self.oldest_due[loans])
        return DayBook(
            d,
            postings,
            balance_after,
            eod,
            balance,
            available,
            accrued,
            loans,
            -self.balance[loans],
            np.maximum(dpd, 0),
        )


def _payouts(
    config: SimulationConfig, customers: Customers, accounts: Accounts, current_of: np.ndarray, start: int, end: int
) -> np.ndarray:
    """The day each time deposit paid out at maturity closes (NEVER for those that roll over).

    A share of the deposits held since before the period, by customers who stay and have a
    current account open by then, are paid out at their first maturity in the period; their
    close day is set here, as a churner's is, so the snapshots show them closed from then on.
    """
    rng = stream(config.seed, "maturities")
    term = np.array([p.term_months or 0 for p in PRODUCTS])[accounts.product]
    payout = np.full(len(accounts), NEVER, np.int64)
    deposit = np.flatnonzero(
        (accounts.kind == "TIME_DEPOSIT")
        & (term > 0)
        & (accounts.status == "ACTIVE")
        & (accounts.open_day < start)
        & (accounts.close_day == NEVER)
        & ~customers.churner[accounts.customer]
    )
    current = current_of[accounts.customer[deposit]]
    maturity = next_anniversary(accounts.open_day[deposit], term[deposit], start)
    chosen = rng.random(len(deposit)) < PAYOUT_SHARE
    eligible = (current >= 0) & (maturity <= end) & chosen
    eligible[eligible] &= accounts.open_day[current[eligible]] < maturity[eligible]
    eligible[eligible] &= accounts.close_day[current[eligible]] > maturity[eligible]
    payout[deposit[eligible]] = maturity[eligible]
    accounts.close_day[deposit[eligible]] = maturity[eligible]
    return payout


def _main_current(customers: Customers, accounts: Accounts) -> np.ndarray:
    """Each customer's first current account (where salaries land and auto-debits are taken)."""
    current = np.flatnonzero(accounts.kind == "CURRENT")
    owners, first = np.unique(accounts.customer[current], return_index=True)
    main = np.full(len(customers), -1, np.int64)
    main[owners] = current[first]
    return main


def concat_disputes(parts: list[Disputes]) -> Disputes:
    if not parts:
        empty = np.zeros(0, np.int64)
        return Disputes(empty, empty, empty, np.zeros(0, bool))
    return Disputes(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("customer", "fee_number", "call_day", "reversed"))
    )
