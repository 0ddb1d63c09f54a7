"""What a run writes for people to read is safe to open and holds no whole key sets (issue 19):
values from the data are escaped in the run page and the GX Data Docs (a delivered `<script>`
never runs in a reader's browser), and the Data Docs list a few examples and counts, never
every account or customer id of the bank.

Small deliveries of two systems, staged and gated once for the module (no build), by a
caller whose umask lets everyone read: the pages are owner-only all the same.
"""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest

from bankdw.config import load_settings
from bankdw.pipeline import GateFailed, gate_step, stage_step
from extract.contract import load_agreement
from tests.conftest import HOLD_THE_RUN, gates_toml, write_delivery
from tests.test_bad_input import AGENT, AGENTS_HEADER, CALL, CALLS_HEADER, lines
from tests.test_impossible_dates import core_delivery, customer

AGREEMENT = load_agreement()
D = date(2026, 11, 20)
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"


def bad_calls() -> dict[str, bytes]:
    """A call whose direction and reason code carry markup, and an agent named with a script."""
    bad = CALL.replace("K1,", "K2,", 1).replace("INBOUND", SCRIPT).replace(",CARD_LOST,", f",{IMAGE},")
    agents = lines(AGENTS_HEADER, AGENT, f'AG2,"{SCRIPT}",Cards,Shanghai,2020-01-06')
    return {"agents.csv": agents, "calls.csv": lines(CALLS_HEADER, CALL, bad)}


def many_keys() -> dict[str, bytes]:
    """A core delivery of 40 customers and 40 accounts, one pointing at a customer that does not exist."""
    customers = [customer(f"CUST{n:04d}", "1980-01-01", "2020-01-01") for n in range(40)]
    accounts_header = ",".join(AGREEMENT.file("core_banking", "accounts").column_names)
    account = "ACCT{0},CUST{0},SAV01,B1,CNY,2020-01-01,,,ACTIVE,0.35,,,2026-11-20T08:00:00+08:00"
    accounts = [account.format(f"{n:04d}") for n in [*range(40), 9999]]
    return core_delivery(lines(customer_header(), *customers)) | {"accounts.csv": lines(accounts_header, *accounts)}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The HTML the run wrote (run page, Data Docs) by name, after staging and gating both
    deliveries (the direction is not of the agreement's enum: a blocking failure), with a Data
    Docs page for every feed file (`data_docs = "all"`: the agents file passes, and by default
    only files with a failure get a page)."""
    root = tmp_path_factory.mktemp("reports")
    # the whole run stops at the blocking failure, so that the gate step raises as it writes the pages
    gates = gates_toml(root / "gates.toml", ('data_docs = "problems"', 'data_docs = "all"'), HOLD_THE_RUN)
    settings = load_settings(data_dir=root / "data", gates_config=gates)
    write_delivery(settings.landing_dir, "call_center", D, bad_calls())
    write_delivery(settings.landing_dir, "core_banking", D, many_keys())
    previous = os.umask(0)
    try:
        report = stage_step(settings, run_id="R1")
        with pytest.raises(GateFailed):
            gate_step(settings, report.run_id)
    finally:
        os.umask(previous)
    written = sorted(settings.runs_dir.rglob("*"))
    loose = [f"{p.name} {stat.filemode(p.stat().st_mode)}" for p in written if p.stat().st_mode & 0o077]
    assert loose == []  # owner-only whatever the umask (test_data_access checks the lake)
    return {p.name: p.read_text(encoding="utf-8") for p in written if p.suffix == ".html"}


def test_values_from_a_delivery_are_escaped_in_the_run_page_and_the_data_docs(pages: dict[str, str]) -> None:
    # then no page holds the markup as markup, and the calls page shows it as text
    assert {"report.html", "call_center.calls.html", "call_center.agents.html"} <= set(pages)
    assert [name for name, html in pages.items() if SCRIPT in html or IMAGE in html] == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["call_center.calls.html"]


def test_data_docs_list_a_few_keys_and_a_count_never_the_whole_key_set(pages: dict[str, str]) -> None:
    # then the accounts page names none of the 40 customer ids it checked against (the reference
    # check is an anti-join in DuckDB, not a GX value set), and names the one that failed
    page = pages["core_banking.accounts.html"]
    assert [n for n in range(40) if f"CUST{n:04d}" in page] == []
    assert "CUST9999" in page


def customer_header() -> str:
    return ",".join(AGREEMENT.file("core_banking", "customers").column_names)
