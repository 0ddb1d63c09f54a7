"""Bank rules the gates check beyond what `extract/feeds/feeds.yml` writes down.

The agreement says which columns exist, their types, keys and allowed values; it does not
say which values are plausible or which columns point at other files. (Loan classification
against days past due is the bank's policy bounded by regulatory floors: configuration, in
gates.toml's [rules.loan_classification], checked by `bank_rules`.) Those rules live
here, beside the suites they generate, so that a reviewer can read every range and every
reference in one place. `check_rules` ties them to the agreement: a rule naming a file or
column the agreement does not have fails generation instead of silently checking nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from extract.contract import FeedAgreement

Severity = Literal["blocking", "warning"]
"""blocking: the batch may not enter the warehouse. warning: reported, the batch loads."""


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; None means unbounded on that side."""

    min: float | None = None
    max: float | None = None


# Bounds for every `date` and `timestamp` column: anything outside is a keying error or a
# sentinel (0001-01-01, 9999-12-31) that would poison age, tenure and maturity buckets.
# Written as datetimes, not dates, on purpose: GX parses "1900-01-01" into a `date`, and
# pandas refuses to compare a datetime64 column with a `date` (it does compare with a datetime).
DATE_RANGE = (datetime(1900, 1, 1), datetime(2100, 12, 31))
TIMESTAMP_RANGE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC))

AT_LEAST_ONCE = frozenset({"online_banking.events"})
"""Feeds delivered at least once (the agreement says so): a repeated key is expected and
deduplicated in the warehouse, so the gate only reports it."""

SNAPSHOT_DATE = "_business_date"
"""A snapshot file repeats every key once per business date: its key is unique per date."""

NON_NEGATIVE = Range(min=0)
INTEREST_RATE = Range(min=-5, max=100)
"""Percent per year: negative rates exist (some deposit markets), above 100 is a keying error."""

RANGES: dict[str, dict[str, Range]] = {
    "core_banking.customers": {"annual_income": NON_NEGATIVE},
    "core_banking.accounts": {"interest_rate": INTEREST_RATE, "credit_limit": NON_NEGATIVE},
    "core_banking.products": {"term_months": NON_NEGATIVE},
    "core_banking.loans": {
        "principal_amount": NON_NEGATIVE,
        "outstanding_principal": NON_NEGATIVE,
        "interest_rate": INTEREST_RATE,
        "days_past_due": NON_NEGATIVE,
        "collateral_value": NON_NEGATIVE,
    },
    "call_center.calls": {
        "wait_seconds": NON_NEGATIVE,
        "talk_seconds": NON_NEGATIVE,
        "hold_seconds": NON_NEGATIVE,
        "transfer_count": NON_NEGATIVE,
        "csat_score": Range(min=1, max=5),
    },
}
"""Plausible values per feed file and column (balances and amounts are signed: no range)."""

REFERENCES: dict[str, dict[str, str]] = {
    "core_banking.accounts": {"customer_id": "core_banking.customers.customer_id"},
    "core_banking.account_parties": {
        "account_id": "core_banking.accounts.account_id",
        "customer_id": "core_banking.customers.customer_id",
    },
    "core_banking.transactions": {"account_id": "core_banking.accounts.account_id"},
    "core_banking.balances": {"account_id": "core_banking.accounts.account_id"},
    "core_banking.loans": {"account_id": "core_banking.accounts.account_id"},
}
"""Columns whose every value must exist in another file's key (`system.file.column`).
A row pointing at an account or customer the bank does not have would vanish from every
join in the marts, so these are blocking."""


def check_rules(agreement: FeedAgreement) -> None:
    """Fail if a rule names a feed file or column that the agreement does not have."""
    columns = {f.qualified_name: set(f.column_names) for f in agreement.files}

    def require(feed: str, column: str) -> None:
        if column not in columns.get(feed, set()):
            raise ValueError(f"expectations.rules names {feed}.{column}, which feeds.yml does not have")

    for feed, ranges in RANGES.items():
        for column in ranges:
            require(feed, column)
    for feed, refs in REFERENCES.items():
        for column, target in refs.items():
            require(feed, column)
            require(*target.rsplit(".", 1))
