"""A small bank that is not the simulator's, written by hand the way a real core system delivers.

What it carries that the simulator does not (issue 13, "Tested on data that looks real"):

- postings of a day all stamped with the same time (the core's batch time) and written in an
  order that is not their id order: the ids are allocated in reverse of the booking order;
- end-of-day balances with 0.10 of rounding noise on a few account-days (`NOISY`);
- loans classified SPECIAL_MENTION from the first day past due (1 to 30 days), as most banks do;
- amounts in euros (the bank reports in EUR: setting `reporting_currency = "EUR"`);
- no relationship managers: `relationship_managers.csv` holds its header only;
- a call centre that falls silent for the last three business dates (`SILENT_DAYS`);
- accounts that never post (a savings account, a dormant current account);
- online banking with no events at all on some dates (the hour files are optional).

Every figure is computed here from a tiny ledger (`Ledger`), independently of the warehouse, so
that a test can say what the warehouse must find: e.g. `NOISY` lists the account-days whose
published balance is 0.10 off.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from extract.contract import load_agreement
from tests.conftest import write_delivery

START = date(2026, 10, 26)
DAYS = 6
CURRENCY = "EUR"
TIMEZONE = "Europe/Berlin"
OFFSET = "+01:00"
SILENT_DAYS = 3
"""The call centre delivers the first DAYS - SILENT_DAYS dates only."""
BATCH_TIME = "23:30:00"
"""The core books every posting of a day in one batch and stamps them all with its time."""
NOISE = Decimal("0.10")
NOISY = {("A003", START + timedelta(days=2)), ("S001", START + timedelta(days=4))}
"""Account-days whose delivered ledger balance is NOISE above the ledger's (rounding)."""
NEVER_POSTS = ("S002", "A006")
ROUNDED = {(5, 0): "-9.94"}
"""(day, posting) booked for more precision than delivered: the ledger moved by this amount, the
file's amount is rounded to the tenth (-9.90), so the day's chain and roll-forward of A002 are
0.04 off."""

BRANCHES = [
    ("BR01", "Berlin Mitte", "Berlin", "East", "FLAGSHIP", "2001-03-01"),
    ("BR02", "Leipzig", "Leipzig", "East", "STANDARD", "2008-06-02"),
]
PRODUCTS = [
    ("CUR", "Girokonto", "DEPOSIT", "CURRENT", "LIABILITY", "", "2001-03-01"),
    ("SAV", "Tagesgeld", "DEPOSIT", "SAVINGS", "LIABILITY", "", "2001-03-01"),
    ("MTG", "Baufinanzierung", "LOAN", "MORTGAGE", "ASSET", "240", "2001-03-01"),
    ("CON", "Ratenkredit", "LOAN", "CONSUMER_LOAN", "ASSET", "60", "2005-01-03"),
]
CUSTOMERS = [
    # customer_id, full name, national id, birth date, gender, phone, email, city
    ("K001", "Anna Schmidt", "T220001214", "1981-04-12", "F", "+49 30 1234567", "anna.schmidt@example.de", "Berlin"),
    ("K002", "Jonas Weber", "T220001222", "1975-09-30", "M", "030 7654321", "J.Weber@Example.de ", "Berlin"),
    ("K003", "Lea Fischer", "T220001230", "1990-01-05", "F", "+49 341 555123", "lea.fischer@example.de", "Leipzig"),
    ("K004", "Paul Wagner", "T220001248", "1968-11-21", "M", "0341 998877", "", "Leipzig"),
    ("K005", "Mia Becker", "T220001256", "1999-07-14", "F", "+49 30 2223334", "mia.becker@example.de", "Berlin"),
    ("K006", "Lukas Hoffmann", "", "1959-02-02", "M", "", "", "Berlin"),
]
# account_id, customer_id, product, opening balance (EUR, customer's point of view), interest rate
ACCOUNTS = [
    ("A001", "K001", "CUR", Decimal("2450.30"), Decimal("0.00")),
    ("A002", "K002", "CUR", Decimal("812.05"), Decimal("0.00")),
    ("A003", "K003", "CUR", Decimal("15230.77"), Decimal("0.00")),
    ("A004", "K004", "CUR", Decimal("-120.40"), Decimal("0.00")),
    ("A005", "K005", "CUR", Decimal("310.00"), Decimal("0.00")),
    ("A006", "K006", "CUR", Decimal("95.12"), Decimal("0.00")),
    ("S001", "K001", "SAV", Decimal("20000.00"), Decimal("1.75")),
    ("S002", "K003", "SAV", Decimal("5000.00"), Decimal("1.75")),
    ("L001", "K002", "MTG", Decimal("-180000.00"), Decimal("3.40")),
    ("L002", "K004", "CON", Decimal("-8200.00"), Decimal("6.90")),
    ("L003", "K005", "CON", Decimal("-4100.00"), Decimal("7.20")),
]
LOANS = {
    # account_id: principal, disbursement, maturity, days past due on START (grows while unpaid), classification
    "L001": (Decimal("250000.00"), "2015-05-04", "2035-05-04", 0),
    "L002": (Decimal("12000.00"), "2024-02-01", "2029-02-01", 3),
    "L003": (Decimal("6000.00"), "2025-03-01", "2030-03-01", 24),
}
"""L002 and L003 are in arrears of 3 and 24 days on START, 8 and 29 on the last date: special mention."""

# the day's postings: (account_id, amount, txn_type, channel); L001 repays on day 3
DAILY: list[list[tuple[str, str, str, str]]] = [
    [
        ("A001", "-23.90", "CARD_PURCHASE", "POS"),
        ("A001", "-4.10", "CARD_PURCHASE", "POS"),
        ("A003", "1250.00", "SALARY", "SYSTEM"),
        ("A003", "-80.00", "WITHDRAWAL", "ATM"),
    ],
    [
        ("A002", "-812.00", "TRANSFER_OUT", "ONLINE"),
        ("A002", "500.00", "TRANSFER_IN", "SYSTEM"),
        ("A004", "-15.00", "FEE", "SYSTEM"),
        ("A005", "-19.99", "BILL_PAYMENT", "MOBILE"),
    ],
    [
        ("A003", "-300.00", "TRANSFER_OUT", "MOBILE"),
        ("A003", "-45.60", "CARD_PURCHASE", "POS"),
        ("A003", "-12.35", "CARD_PURCHASE", "POS"),
        ("L001", "1100.00", "LOAN_REPAYMENT", "SYSTEM"),
        ("A002", "-1100.00", "TRANSFER_OUT", "SYSTEM"),
    ],
    [
        ("A001", "2900.00", "SALARY", "SYSTEM"),
        ("A001", "-60.00", "WITHDRAWAL", "ATM"),
        ("A005", "150.00", "DEPOSIT", "BRANCH"),
    ],
    [
        ("S001", "250.00", "TRANSFER_IN", "ONLINE"),
        ("A001", "-250.00", "TRANSFER_OUT", "ONLINE"),
        ("A004", "40.00", "DEPOSIT", "BRANCH"),
    ],
    [
        ("A002", "-9.90", "CARD_PURCHASE", "POS"),
        ("A002", "-9.99", "CARD_PURCHASE", "POS"),
        ("A003", "-70.00", "WITHDRAWAL", "ATM"),
    ],
]


def business_date(n: int) -> date:
    return START + timedelta(days=n)


@dataclass
class Ledger:
    """The bank's books: balances after each day, the postings with their balance_after."""

    balance: dict[str, Decimal] = field(default_factory=lambda: {a[0]: a[3] for a in ACCOUNTS})
    txn_number: int = 0

    def book(self, n: int) -> list[dict[str, str]]:
        """The day's postings in booking order, each with its balance after; ids in reverse order."""
        day = business_date(n)
        booked = []
        for number, (account_id, amount, txn_type, channel) in enumerate(DAILY[n]):
            self.balance[account_id] += Decimal(ROUNDED.get((n, number), amount))
            booked.append(
                {
                    "account_id": account_id,
                    "posting_date": day.isoformat(),
                    "txn_ts": f"{day}T{BATCH_TIME}{OFFSET}",
                    "amount": amount,
                    "currency": CURRENCY,
                    "txn_type": txn_type,
                    "channel": channel,
                    "branch_id": "BR01" if channel == "BRANCH" else "",
                    "counterparty_account": "",
                    "counterparty_bank": "",
                    "description": txn_type.replace("_", " ").title(),
                    "reversed_txn_id": "",
                    "balance_after": f"{self.balance[account_id]:.2f}",
                }
            )
        for offset, row in enumerate(reversed(booked)):  # the id order is the reverse of the booking order
            row["txn_id"] = f"TX{day:%y%m%d}{self.txn_number + offset:04d}"
        self.txn_number += len(booked)
        # the file lists the postings by account, not in booking order either
        return sorted(booked, key=lambda r: (r["account_id"], r["txn_id"]))


def _csv(header: list[str], rows: list[dict[str, str]] | list[tuple[str, ...]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return out.getvalue().encode("utf-8")


def _columns(system: str, name: str) -> list[str]:
    return load_agreement().file(system, name).column_names


def write_bank(landing: Path) -> None:
    """Every delivery of the bank into `landing`, with manifests (conftest.write_delivery)."""
    ledger = Ledger()
    for n in range(DAYS):
        day = business_date(n)
        postings = ledger.book(n)
        write_delivery(landing, "core_banking", day, _core(day, n, ledger, postings))
        write_delivery(landing, "online_banking", day, _online(day, n))
        if n < DAYS - SILENT_DAYS:
            write_delivery(landing, "call_center", day, _calls(day, n))


def _core(day: date, n: int, ledger: Ledger, postings: list[dict[str, str]]) -> dict[str, bytes]:
    customers = [
        {
            "customer_id": c[0],
            "customer_type": "INDIVIDUAL",
            "full_name": c[1],
            "national_id": c[2],
            "birth_date": c[3],
            "gender": c[4],
            "phone": c[5],
            "email": c[6],
            "address": f"Hauptstrasse {i + 3}",
            "city": c[7],
            "region": "East",
            "postal_code": "10115" if c[7] == "Berlin" else "04109",
            "annual_income": f"{38000 + 4000 * i}.00",
            "home_branch_id": "BR01" if c[7] == "Berlin" else "BR02",
            "kyc_risk_rating": "LOW",
            "onboarding_date": "2012-03-01",
            "status": "DORMANT" if c[0] == "K006" else "ACTIVE",
            "updated_at": "2024-01-15T10:00:00+01:00",
        }
        for i, c in enumerate(CUSTOMERS)
    ]
    accounts = [
        {
            "account_id": a[0],
            "customer_id": a[1],
            "product_code": a[2],
            "branch_id": "BR01",
            "currency": CURRENCY,
            "open_date": LOANS[a[0]][1] if a[0] in LOANS else "2012-03-01",
            "maturity_date": LOANS[a[0]][2] if a[0] in LOANS else "",
            "status": "DORMANT" if a[0] == "A006" else "ACTIVE",
            "interest_rate": f"{a[4]:.4f}",
            "credit_limit": "500.00" if a[0] == "A004" else "",
            "updated_at": "2024-01-15T10:00:00+01:00",
        }
        for a in ACCOUNTS
    ]
    parties = [{"account_id": a[0], "customer_id": a[1], "role": "PRIMARY"} for a in ACCOUNTS]
    balances = []
    for account_id, *_ in ACCOUNTS:
        ledger_balance = ledger.balance[account_id] + (NOISE if (account_id, day) in NOISY else 0)
        balances.append(
            {
                "business_date": day.isoformat(),
                "account_id": account_id,
                "currency": CURRENCY,
                "ledger_balance": f"{ledger_balance:.2f}",
                "available_balance": f"{max(ledger_balance, Decimal(0)):.2f}",
                "accrued_interest": "0.00",
            }
        )
    loans = []
    for account_id, (principal, disbursed, matures, dpd) in LOANS.items():
        past_due = dpd + n if dpd else 0
        loans.append(
            {
                "business_date": day.isoformat(),
                "account_id": account_id,
                "principal_amount": f"{principal:.2f}",
                "outstanding_principal": f"{-ledger.balance[account_id]:.2f}",
                "interest_rate": f"{next(a[4] for a in ACCOUNTS if a[0] == account_id):.2f}",
                "disbursement_date": disbursed,
                "maturity_date": matures,
                "repayment_frequency": "MONTHLY",
                "days_past_due": str(past_due),
                "classification": "SPECIAL_MENTION" if past_due else "NORMAL",
                "collateral_type": "REAL_ESTATE" if account_id == "L001" else "NONE",
                "collateral_value": "320000.00" if account_id == "L001" else "",
            }
        )
    return {
        "customers.csv": _csv(_columns("core_banking", "customers"), customers),
        "accounts.csv": _csv(_columns("core_banking", "accounts"), accounts),
        "account_parties.csv": _csv(_columns("core_banking", "account_parties"), parties),
        "products.csv": _csv(_columns("core_banking", "products"), PRODUCTS),
        "branches.csv": _csv(_columns("core_banking", "branches"), BRANCHES),
        "relationship_managers.csv": _csv(_columns("core_banking", "relationship_managers"), []),
        "balances.csv": _csv(_columns("core_banking", "balances"), balances),
        "transactions.csv": _csv(_columns("core_banking", "transactions"), postings),
        "loans.csv": _csv(_columns("core_banking", "loans"), loans),
    }


def _online(day: date, n: int) -> dict[str, bytes]:
    users = [
        {
            "user_id": "U01",
            "customer_id": "K001",
            "email": "anna.schmidt@example.de",
            "phone": "",
            "registered_at": "2019-05-02T18:00:00+02:00",
            "status": "ACTIVE",
        },
        {
            "user_id": "U02",
            "customer_id": "K003",
            "email": "",
            "phone": "+49341555123",
            "registered_at": "2021-01-10T09:30:00+01:00",
            "status": "ACTIVE",
        },
    ]
    files = {"users.csv": _csv(_columns("online_banking", "users"), users)}
    if n % 2 == 0:  # on the other days nobody logged in: no hour file at all
        events = [
            {
                "event_id": f"E{n}01",
                "event_ts": f"{day}T19:02:11{OFFSET}",
                "user_id": "U01",
                "session_id": f"S{n}1",
                "device": "WEB",
                "event_type": "LOGIN",
            },
            {
                "event_id": f"E{n}02",
                "event_ts": f"{day}T19:03:40{OFFSET}",
                "user_id": "U01",
                "session_id": f"S{n}1",
                "device": "WEB",
                "event_type": "BALANCE_INQUIRY",
            },
        ]
        lines = "".join(json.dumps(e) + "\n" for e in events)
        files["events-19.jsonl.gz"] = gzip.compress(lines.encode("utf-8"), mtime=0)
    return files


def _calls(day: date, n: int) -> dict[str, bytes]:
    agents = [("AG1", "Nina Krause", "SERVICE", "Leipzig", "2018-04-01")]
    calls = [
        {
            "call_id": f"CL{n}1",
            "direction": "INBOUND",
            "started_at": f"{day}T10:00:00{OFFSET}",
            "answered_at": f"{day}T10:00:45{OFFSET}",
            "ended_at": f"{day}T10:06:00{OFFSET}",
            "caller_number": "+49 30 1234567",
            "customer_id": "K001",
            "queue": "GENERAL",
            "agent_id": "AG1",
            "wait_seconds": "45",
            "talk_seconds": "315",
            "hold_seconds": "0",
            "transfer_count": "0",
            "reason_code": "BALANCE_QUERY",
            "outcome": "RESOLVED",
            "complaint_flag": "N",
            "csat_score": "5",
        }
    ]
    return {
        "agents.csv": _csv(_columns("call_center", "agents"), agents),
        "calls.csv": _csv(_columns("call_center", "calls"), calls),
    }
