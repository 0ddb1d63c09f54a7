"""Ledger postings as arrays, and the two rules that keep a ledger coherent.

`affordable` declines debits that would take an account below its floor (zero for a
deposit, minus the limit for a card), the way a core system declines a payment for
insufficient funds; `chain` orders a day's postings per account by time and computes
`balance_after`, so that balances chain exactly from one posting to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from extract.contract import load_agreement

from .reference import BILLERS, MERCHANTS

_TXN = load_agreement().file("core_banking", "transactions")
TXN_TYPES: tuple[str, ...] = _TXN.column("txn_type").values
CHANNELS: tuple[str, ...] = _TXN.column("channel").values


def txn_type(name: str) -> int:
    return TXN_TYPES.index(name)


def channel(name: str) -> int:
    return CHANNELS.index(name)


TEXTS: tuple[str, ...] = (
    "Salary", "Pension", "Family transfer", "Business income", "Loan repayment",
    "Credit card repayment", "Account maintenance fee", "SMS alert fee", "Corporate account fee",
    "Card annual fee", "Card late payment fee", "Transfer out", "Transfer in", "ATM withdrawal",
    "Cash withdrawal", "Cash deposit", "Initial deposit", "Loan disbursement", "Interest credit",
    "Interest charge", "Payroll", "Customer receipt", "Supplier payment",
    "Transfer to own account at another bank", "Account closure transfer", "Card payoff",
    "Fee refund", "Merchant refund", "Savings deposit", "Arrears payment", "Time deposit maturity",
)  # fmt: skip
DESCRIPTIONS: tuple[str, ...] = TEXTS + MERCHANTS + BILLERS
"""Every description a posting may carry; postings hold an index into this tuple."""
FIRST_MERCHANT = len(TEXTS)
FIRST_BILLER = len(TEXTS) + len(MERCHANTS)


def text(name: str) -> int:
    return TEXTS.index(name)


NO_FLOOR = np.iinfo(np.int64).min // 4


@dataclass
class Postings:
    """A batch of postings; integer codes index TXN_TYPES, CHANNELS, DESCRIPTIONS and BANKS."""

    account: np.ndarray
    second: np.ndarray
    """Seconds after local midnight of the posting date."""
    amount: np.ndarray
    """Cents, signed from the customer's point of view."""
    txn_type: np.ndarray
    channel: np.ndarray
    branch: np.ndarray
    counterparty: np.ndarray
    """Index of the counterparty account at this bank, -1 if none."""
    external: np.ndarray
    """Counterparty account number at another bank, -1 if none."""
    bank: np.ndarray
    description: np.ndarray
    reverses: np.ndarray
    """Transaction number of the posting a REVERSAL cancels, -1 otherwise."""
    number: np.ndarray
    """Transaction number (txn_id), unique over the whole period."""

    def __len__(self) -> int:
        return len(self.account)

    def take(self, index: np.ndarray) -> Postings:
        return Postings(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(batches: list[Postings]) -> Postings:
        return Postings(**{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(Postings)})

    @staticmethod
    def empty() -> Postings:
        return Postings(**{f.name: np.zeros(0, np.int64) for f in fields(Postings)})


def group_cumsum(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of `values` restarting at every change of `keys` (which must be sorted)."""
    if len(keys) == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.r_[True, keys[1:] != keys[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
    return total - total[first] + values[first]


def _chain_order(p: Postings) -> np.ndarray:
    return np.lexsort((p.number, p.second, p.account))


def affordable(p: Postings, balance: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Which postings the core books: debits that would breach the account's floor are declined.

    Declining every debit whose running balance falls below the floor is enough: without
    them every later running balance only rises, so no kept posting ends below the floor.
    """
    order = _chain_order(p)
    account = p.account[order]
    running = balance[account] + group_cumsum(account, p.amount[order])
    declined = (p.amount[order] < 0) & (running < floor[account])
    keep = np.ones(len(p), bool)
    keep[order[declined]] = False
    return keep


def chain(p: Postings, balance: np.ndarray) -> tuple[Postings, np.ndarray]:
    """The day's postings in posting order with strictly increasing seconds per account, and
    `balance_after` of each, starting from each account's `balance` at the start of the day."""
    p = p.take(_chain_order(p))
    if len(p):
        # two postings of one account in the same second: move the later one on by a second
        starts = np.r_[True, p.account[1:] != p.account[:-1]]
        rank = np.arange(len(p)) - np.maximum.accumulate(np.where(starts, np.arange(len(p)), 0))
        spread = p.second - rank + p.account * (10 * 86_400)
        p.second = np.maximum.accumulate(spread) - p.account * (10 * 86_400) + rank
    return p, balance[p.account] + group_cumsum(p.account, p.amount)
