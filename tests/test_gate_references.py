"""Reference checks (a row's account or customer must exist) run as DuckDB anti-joins, not as GX
value sets: the same verdict and rows, in the same place of the report, and a Data Docs page
that names the failing values without listing every key of the bank (issue 20)."""

from __future__ import annotations

from pathlib import Path

from expectations.gates import run_gates
from tests.test_gates import clean, deliver, failure

ACCOUNTS = 300
IN_SET = "expect_column_values_to_be_in_set"


def test_unknown_accounts_are_counted_and_named_and_the_page_lists_no_keys(tmp_path: Path) -> None:
    # given: 300 accounts; transactions post on accounts A7 (known), X2 and X3 (unknown)
    rows = clean()
    account = rows["core_banking.accounts"][0]
    rows["core_banking.accounts"] = [{**account, "account_id": f"A{n}"} for n in range(1, ACCOUNTS + 1)]
    postings = rows["core_banking.transactions"]
    postings[0]["account_id"], postings[1]["account_id"], postings[2]["account_id"] = "A7", "X2", "X3"

    # when
    report = run_gates(
        deliver(rows, "arrow_dtype", only=("core_banking.accounts", "core_banking.transactions")),
        docs_dir=tmp_path / "docs",
    )

    # then both unknown accounts block, named by file and row, in the suite's order of checks
    unknown = failure(report, "core_banking.transactions", IN_SET, "account_id")
    assert (unknown.severity, unknown.unexpected_count) == ("blocking", 2)
    assert [e["account_id"] for e in unknown.examples] == ["X2", "X3"]
    assert all(e["_source_file"].endswith("transactions.csv") and e["_source_row"] for e in unknown.examples)
    checks = [(r.expectation, r.column) for r in report.results if r.feed == "core_banking.transactions"]
    assert checks.index((IN_SET, "account_id")) < checks.index((IN_SET, "txn_type"))
    # and the page shows the failing values, not the 300 account ids they were checked against
    page = (tmp_path / "docs" / "core_banking.transactions.html").read_text(encoding="utf-8")
    assert "X2" in page and "X3" in page
    assert "A250" not in page and "A7<" not in page
