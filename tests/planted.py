"""What a real delivery carries that the shared bank's few days do not, planted in a pending
delivery of the landing area: reversals of a posting of an earlier night, and a customer record
whose new national id makes it one customer with another (a key merged away). Planted as the
source system would send them (the feed agreement, `../shared/feeds`): the day's end-of-day
balance follows from the postings, the manifest counts and totals the files as they are now.

The shared bank's deliveries already hold web events that arrive days late and events sent twice
(the agreement: at least once, may arrive days after event_ts): nothing to plant there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from tests.conftest import read_csv, write_csv, write_manifest

REVERSALS = ("TX999999999998", "TX999999999999")
"""The planted reversals, both of one posting (more than one is a source defect: warned, kept);
the first by posting date and id, TX...998, is the one that cancelled it."""
CENT = Decimal("0.01")
REVERSIBLE = ("TRANSFER_IN", "TRANSFER_OUT", "WITHDRAWAL", "BILL_PAYMENT", "CARD_PURCHASE")
"""What a planted reversal cancels: a plain posting (not a fee, interest or salary, which the
ledger reconciliations and the salary events would count differently)."""


@dataclass(frozen=True)
class PlantedReversal:
    reversed_txn_id: str
    account_id: str
    reversed_posting_date: date
    amount: Decimal
    """The reversed posting's amount (each reversal posts its negation)."""


@dataclass(frozen=True)
class PlantedMerge:
    customer_id: str
    """The record that now shares a national id with `joins`."""
    joins: str
    """The record it joins (a customer of its own until then)."""
    keys: tuple[str, str]
    """The keys the two held before (one survives the merge, the other is retired)."""


def plant_reversals(delivery: Path, lake_dir: Path, timezone: str) -> PlantedReversal:
    """In the core banking delivery `delivery` (a pending date's folder), two reversals (REVERSALS)
    of the lake's first plain posting of its oldest date whose account the delivery's balances
    hold, booked last that day (in the bank's time zone, `timezone`), each balance_after following
    from the one before; the account's end-of-day balance moved by them; the manifest written again."""
    day = date.fromisoformat(delivery.name)
    fields, postings = read_csv(delivery / "transactions.csv")
    balance_fields, balances = read_csv(delivery / "balances.csv")
    held = {row["account_id"]: row for row in balances}
    oldest = min((lake_dir / "core_banking" / "transactions").glob("business_date=*"))
    [(txn_id, account_id, posting_date, amount, currency)] = duckdb.execute(
        "select txn_id, account_id, posting_date, amount, currency from read_parquet(?) "
        "where txn_type in (select unnest(?)) and account_id in (select unnest(?)) order by txn_id limit 1",
        [f"{oldest}/*.parquet", list(REVERSIBLE), sorted(held)],
    ).fetchall()
    amount = amount.quantize(CENT)  # the lake keeps four places; the feed writes two
    balance = Decimal(held[account_id]["ledger_balance"])
    moved = Decimal(0)
    for n, reversal_id in enumerate(REVERSALS):
        moved -= amount
        postings.append(
            dict.fromkeys(fields, "")
            | {
                "txn_id": reversal_id,
                "account_id": account_id,
                "posting_date": day.isoformat(),
                "txn_ts": datetime.combine(day, time(23, 59, 58 + n), ZoneInfo(timezone)).isoformat(),
                "amount": str(-amount),
                "currency": currency,
                "txn_type": "REVERSAL",
                "channel": "SYSTEM",
                "description": "Reversal",
                "reversed_txn_id": txn_id,
                "balance_after": str(balance + moved),
            }
        )
    for column in ("ledger_balance", "available_balance"):
        held[account_id][column] = str(Decimal(held[account_id][column]) + moved)
    write_csv(delivery / "transactions.csv", fields, postings)
    write_csv(delivery / "balances.csv", balance_fields, balances)
    write_manifest(delivery)
    return PlantedReversal(txn_id, account_id, posting_date, amount)


def plant_merge(delivery: Path, identity: Path, online_delivery: Path) -> PlantedMerge:
    """In the core banking delivery `delivery`, the first individual customer of its own (in the
    published identity `identity`, customer_identity.parquet) with an account and a web user
    (in `online_delivery`'s users) takes the national id of the next such customer: the night
    resolves them to one customer, and the facts of its accounts and sessions to one key."""
    fields, customers = read_csv(delivery / "customers.csv")
    _, users = read_csv(online_delivery / "users.csv")
    _, parties = read_csv(delivery / "account_parties.csv")
    keyed = {
        customer_id: key
        for customer_id, key in duckdb.execute(
            "select customer_id, customer_key from read_parquet(?) where customer_key in "
            "(select customer_key from read_parquet(?) group by customer_key having count(*) = 1)",
            [str(identity), str(identity)],
        ).fetchall()
    }
    with_users = {row["customer_id"] for row in users if row.get("customer_id")}
    with_accounts = {row["customer_id"] for row in parties}
    alone = sorted(
        row["customer_id"]
        for row in customers
        if row["customer_type"] == "INDIVIDUAL"
        and row["national_id"]
        and row["customer_id"] in keyed
        and row["customer_id"] in with_users
        and row["customer_id"] in with_accounts
    )
    merged, joins = alone[0], alone[1]
    national_id = next(row["national_id"] for row in customers if row["customer_id"] == joins)
    for row in customers:
        if row["customer_id"] == merged:
            row["national_id"] = national_id
    write_csv(delivery / "customers.csv", fields, customers)
    write_manifest(delivery)
    return PlantedMerge(merged, joins, (keyed[merged], keyed[joins]))
