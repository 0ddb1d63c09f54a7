"""The core banking system's daily delivery, rendered from the simulated bank.

Master data (customers, accounts, account_parties, products, branches, relationship
managers) is a full snapshot as of the end of each day: every record ever known by then,
closed ones with status CLOSED. Balances, transactions and loans are the day's ledger.
Static columns are rendered once; only what changes from day to day is rendered per day.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .accounts import Accounts, Parties
from .days import DAY, NEVER, next_anniversary, to_date
from .formats import constant, dates, fixed, integers, money, money_total, names, numbered, replace_at, text, timestamps
from .ledger import DayBook
from .population import Customers, RelationshipManagers
from .postings import CHANNELS, DESCRIPTIONS, TXN_TYPES, Postings
from .reference import BANKS, BRANCHES, CITIES, PRODUCTS
from .writer import LandedFile, Snapshot, chunked_csv_file, csv_file, csv_lines, feed_table

SYSTEM = "core_banking"
CURRENCY = "CNY"
CLOSING_SECOND = 23 * 3600 + 2700
"""Master-data records are closed at 23:45, after the day's last postings."""
CLASSIFICATION = ("NORMAL", "SPECIAL_MENTION", "SUBSTANDARD", "DOUBTFUL", "LOSS")
BRANCH_IDS = tuple(b.branch_id for b in BRANCHES)


def classification(dpd: np.ndarray) -> np.ndarray:
    """Five-tier loan classification (index into CLASSIFICATION) from days past due, as most
    banks classify (and the regulator's floors allow, expectations/gates.toml): NORMAL when
    current, SPECIAL_MENTION from the first day in arrears to 90, SUBSTANDARD 91-180, DOUBTFUL
    181-360, LOSS above 360."""
    return np.searchsorted(np.array([0, 90, 180, 360]), dpd, side="left")


def _take(values: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    taken = values.take(pa.array(np.where(index >= 0, index, 0)))
    keep = index >= 0 if valid is None else (index >= 0) & valid
    return pc.if_else(pa.array(keep), taken, pa.scalar(None, pa.string()))


class CoreFeed:
    def __init__(
        self,
        customers: Customers,
        accounts: Accounts,
        parties: Parties,
        rms: RelationshipManagers,
        tz: ZoneInfo,
    ) -> None:
        self.c, self.a, self.parties, self.tz = customers, accounts, parties, tz
        self.rm_ids = rms.rm_id
        self.reference = [
            csv_file(SYSTEM, "products", _products()),
            csv_file(SYSTEM, "branches", _branches()),
            csv_file(SYSTEM, "relationship_managers", _relationship_managers(rms)),
        ]
        self.customers = Snapshot(
            SYSTEM, "customers", lambda rows, state: self._customer_columns(rows, bool(state)), len(customers)
        )
        self.maturity = np.where(accounts.is_loan, accounts.maturity_day, NEVER)
        self.accounts = Snapshot(
            SYSTEM,
            "accounts",
            lambda rows, state: self._account_columns(rows, bool(state), self.maturity[rows]),
            len(accounts),
        )
        self.parties_file = Snapshot(
            SYSTEM, "account_parties", lambda rows, _: self._party_columns(rows), len(parties.account)
        )
        term = np.array([p.term_months or 0 for p in PRODUCTS])[accounts.product]
        self.rolling = (accounts.kind == "TIME_DEPOSIT") & (term > 0)
        self.term = term
        self.rolling_slot = np.cumsum(self.rolling) - 1
        n_rolling = int(self.rolling.sum())
        self.rolling_cache = (
            pa.nulls(n_rolling, pa.string()),
            np.full(n_rolling, -1, np.int64),
            np.zeros(n_rolling, bool),
        )

    def files(self, book: DayBook) -> list[LandedFile]:
        day = book.day
        return [
            self._customers(day),
            self._accounts(day),
            self.parties_file.file(np.flatnonzero(self.a.open_day[self.parties.account] <= day)),
            *self.reference,
            self._balances(book),
            self._transactions(book),
            self._loans(book),
        ]

    def _customer_columns(self, rows: np.ndarray, closed: bool) -> dict[str, pa.Array]:
        """Customer records as delivered while open (ACTIVE or DORMANT) or once CLOSED."""
        c = self.c
        take = pa.array(rows)
        has_closed = c.closed_day[rows] != NEVER
        return {
            "customer_id": c.customer_id.take(take),
            "customer_type": text(np.where(c.corporate[rows], "CORPORATE", "INDIVIDUAL")),
            "full_name": c.full_name.take(take),
            "national_id": c.national_id.take(take),
            "birth_date": dates(c.birth_day[rows]),
            "gender": c.gender.take(take),
            "phone": c.phone.take(take),
            "email": c.email.take(take),
            "address": c.address.take(take),
            "city": names([x.name for x in CITIES], c.city[rows]),
            "region": names([x.region for x in CITIES], c.city[rows]),
            "postal_code": c.postal_code.take(take),
            "occupation": c.occupation.take(take),
            "industry_code": c.industry_code.take(take),
            "annual_income": money(np.maximum(c.income[rows], 0), c.income[rows] >= 0),
            "home_branch_id": names(BRANCH_IDS, c.branch[rows]),
            "rm_id": _take(self.rm_ids, c.rm[rows]),
            "kyc_risk_rating": text(c.kyc[rows]),
            "onboarding_date": dates(c.onboard_day[rows]),
            "status": text(np.where(c.dormant[rows], "DORMANT", "ACTIVE"))
            if not closed
            else constant("CLOSED", len(rows)),
            "closed_date": dates(c.closed_day[rows], has_closed & closed),
            "updated_at": timestamps(c.closed_day[rows] * DAY + CLOSING_SECOND, self.tz, has_closed)
            if closed
            else timestamps(c.updated_wall[rows], self.tz),
        }

    def _customers(self, day: int) -> LandedFile:
        c = self.c
        rows = np.flatnonzero(c.onboard_day <= day)
        return self.customers.file(rows, c.closed_day[rows] <= day)

    def _account_columns(self, rows: np.ndarray, closed: bool, maturity: np.ndarray) -> dict[str, pa.Array]:
        """Accounts as delivered while open (with the given maturity dates) or once CLOSED."""
        a = self.a
        take = pa.array(rows)
        has_closed = a.close_day[rows] != NEVER
        return {
            "account_id": a.account_id.take(take),
            "customer_id": self.c.customer_id.take(pa.array(a.customer[rows])),
            "product_code": names([p.code for p in PRODUCTS], a.product[rows]),
            "branch_id": names(BRANCH_IDS, a.branch[rows]),
            "currency": constant(CURRENCY, len(rows)),
            "open_date": dates(a.open_day[rows]),
            "maturity_date": dates(maturity, maturity != NEVER),
            "close_date": dates(a.close_day[rows], has_closed & closed),
            "status": constant("CLOSED", len(rows)) if closed else text(a.status[rows].astype(str)),
            "interest_rate": fixed(a.rate_bps[rows]),
            "credit_limit": money(np.maximum(a.credit_limit[rows], 0), a.credit_limit[rows] >= 0),
            "rm_id": _take(self.rm_ids, a.rm[rows]),
            "updated_at": timestamps(a.close_day[rows] * DAY + CLOSING_SECOND, self.tz, has_closed)
            if closed
            else timestamps(a.open_wall[rows], self.tz),
        }

    def _accounts(self, day: int) -> LandedFile:
        a = self.a
        rows = np.flatnonzero(a.open_day <= day)
        closed = a.close_day[rows] <= day
        patch = None
        # time deposits roll over: their maturity date moves on at each anniversary, so their
        # lines are rendered again when it does (the last rendering of each is kept)
        rolling = np.flatnonzero(self.rolling[rows])
        if len(rolling):
            deposits, state = rows[rolling], closed[rolling]
            maturity = next_anniversary(
                a.open_day[deposits], self.term[deposits], np.minimum(day, a.close_day[deposits])
            )
            # one tuple read and one written: workers rendering two days at once keep a
            # consistent cache (a lost update only means rendering a line again)
            cached, shown_maturity, shown_closed = self.rolling_cache
            slot = self.rolling_slot[deposits]
            changed = (shown_maturity[slot] != maturity) | (shown_closed[slot] != state)
            if changed.any():
                fresh = [
                    csv_lines(
                        feed_table(SYSTEM, "accounts", self._account_columns(deposits[m], s, maturity[m])),
                        self.accounts.plain,
                    )
                    for s in (False, True)
                    for m in [changed & (state == s)]
                ]
                order = np.flatnonzero(changed)[np.argsort(state[changed], kind="stable")]
                cached = replace_at(cached, slot[order], pa.concat_arrays(fresh))
                shown_maturity, shown_closed = shown_maturity.copy(), shown_closed.copy()
                shown_maturity[slot], shown_closed[slot] = maturity, state
                self.rolling_cache = (cached, shown_maturity, shown_closed)
            patch = (rolling, cached.take(pa.array(slot)))
        return self.accounts.file(rows, closed, patch)

    def _party_columns(self, rows: np.ndarray) -> dict[str, pa.Array]:
        p = self.parties
        return {
            "account_id": self.a.account_id.take(pa.array(p.account[rows])),
            "customer_id": self.c.customer_id.take(pa.array(p.customer[rows])),
            "role": text(p.role[rows]),
        }

    def _balances(self, book: DayBook) -> LandedFile:
        def columns(i: np.ndarray) -> dict[str, pa.Array | str]:
            return {
                "business_date": to_date(book.day).isoformat(),
                "account_id": self.a.account_id.take(pa.array(book.eod_account[i])),
                "currency": CURRENCY,
                "ledger_balance": money(book.eod_balance[i]),
                "available_balance": money(book.eod_available[i]),
                "accrued_interest": money(book.eod_accrued[i]),
            }

        generated = frozenset(("account_id", "currency"))
        return chunked_csv_file(SYSTEM, "balances", len(book.eod_account), columns, None, generated)

    def _transactions(self, book: DayBook) -> LandedFile:
        order = np.lexsort((book.postings.number, book.postings.second))

        def columns(i: np.ndarray) -> dict[str, pa.Array | str]:
            p: Postings = book.postings.take(order[i])
            internal = p.counterparty >= 0
            counterparty = pc.if_else(
                pa.array(internal),
                _take(self.a.account_id, p.counterparty),
                integers(p.external, p.external >= 0),
            )
            reverses = p.reverses >= 0
            return {
                "txn_id": numbered("TX", p.number, 12),
                "account_id": self.a.account_id.take(pa.array(p.account)),
                "posting_date": to_date(book.day).isoformat(),
                "txn_ts": timestamps(book.day * DAY + p.second, self.tz),
                "amount": money(p.amount),
                "currency": CURRENCY,
                "txn_type": names(TXN_TYPES, p.txn_type),
                "channel": names(CHANNELS, p.channel),
                "branch_id": names(BRANCH_IDS, p.branch),
                "counterparty_account": counterparty,
                "counterparty_bank": names(BANKS, p.bank),
                "description": names(DESCRIPTIONS, p.description),
                "reversed_txn_id": pc.if_else(
                    pa.array(reverses), numbered("TX", np.maximum(p.reverses, 0), 12), pa.scalar(None, pa.string())
                ),
                "balance_after": money(book.balance_after[order[i]]),
            }

        generated = frozenset(
            ("txn_id", "account_id", "currency", "branch_id", "counterparty_account", "reversed_txn_id")
        )
        totals = {"amount": money_total(book.postings.amount)}
        return chunked_csv_file(SYSTEM, "transactions", len(order), columns, totals, generated)

    def _loans(self, book: DayBook) -> LandedFile:
        a = self.a

        def columns(i: np.ndarray) -> dict[str, pa.Array | str]:
            idx, dpd = book.loan_account[i], book.loan_dpd[i]
            collateral_value = a.collateral_value[idx]
            return {
                "business_date": to_date(book.day).isoformat(),
                "account_id": a.account_id.take(pa.array(idx)),
                "principal_amount": money(a.principal[idx]),
                "outstanding_principal": money(book.loan_outstanding[i]),
                "interest_rate": fixed(a.rate_bps[idx]),
                "disbursement_date": dates(a.open_day[idx]),
                "maturity_date": dates(a.maturity_day[idx]),
                "repayment_frequency": text(a.frequency[idx].astype(str)),
                "days_past_due": integers(dpd),
                "classification": names(CLASSIFICATION, classification(dpd)),
                "collateral_type": text(a.collateral[idx].astype(str)),
                "collateral_value": money(np.maximum(collateral_value, 0), collateral_value >= 0),
            }

        generated = frozenset(("account_id", "repayment_frequency", "collateral_type"))
        return chunked_csv_file(SYSTEM, "loans", len(book.loan_account), columns, None, generated)


def _relationship_managers(rms: RelationshipManagers) -> dict[str, pa.Array]:
    region_of = {c.name: c.region for c in CITIES}
    team = np.asarray(["TM-" + region_of[b.city].replace(" China", "").upper() for b in BRANCHES])[rms.branch]
    return {
        "rm_id": rms.rm_id,
        "full_name": rms.full_name,
        "branch_id": names(BRANCH_IDS, rms.branch),
        "team_id": text(team),
        "grade": text(rms.grade),
        "hire_date": dates(rms.hire_day),
        "leave_date": dates(rms.leave_day, rms.leave_day != NEVER),
    }


def _products() -> dict[str, pa.Array]:
    return {
        "product_code": text([p.code for p in PRODUCTS]),
        "product_name": text([p.name for p in PRODUCTS]),
        "product_family": text([p.family for p in PRODUCTS]),
        "product_type": text([p.product_type for p in PRODUCTS]),
        "balance_side": text([p.balance_side for p in PRODUCTS]),
        "term_months": integers(
            np.array([p.term_months or 0 for p in PRODUCTS]), np.array([p.term_months is not None for p in PRODUCTS])
        ),
        "launched_date": text([p.launched.isoformat() for p in PRODUCTS]),
    }


def _branches() -> dict[str, pa.Array]:
    region = {c.name: c.region for c in CITIES}
    return {
        "branch_id": text([b.branch_id for b in BRANCHES]),
        "branch_name": text([b.name for b in BRANCHES]),
        "city": text([b.city for b in BRANCHES]),
        "region": text([region[b.city] for b in BRANCHES]),
        "branch_type": text([b.branch_type for b in BRANCHES]),
        "opened_date": text([b.opened.isoformat() for b in BRANCHES]),
    }
