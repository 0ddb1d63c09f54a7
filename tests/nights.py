"""The shared bank's next nights, published while BI tools read: what several modules prove on.

`publish_nights` (called once per test session by the `published_nights` fixture of
tests/conftest.py) starts from a copy of the published bank (history up to LAST) and, while a
reader in a second process opens a new connection for every query (`fresh`) and another holds
one connection open since the start (`held`), publishes night 1, rolls it back, and publishes
night 2 (incremental, on the rolled-back history) through `bankdw run`, keeping what it printed
(test_run_output reads it). Night 1's customers snapshot carries a household change
(`move_household_member`): the member of a household whom the old rule took its key from moves
out, and a newcomer moves in with the one who stays.

Everything is written to files under the root, so that every xdist worker reads the same
nights (`load_nights`): the data dir, the readers' answers, what each build showed a reader,
the households as night 1 published them, and the published identity (registry, keys, files)
before night 1, after it and after the rollback (`identity_of`).

A night of the pipeline on a small bank costs a minute or more; test_publish
(write-audit-publish, readers, rollback), test_pipeline (the next night loads only its own
deliveries) and test_customer_value (the household key survives a nightly build) all need one
such night, so they share these.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow.parquet as pq

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.publish import IDENTITY_MARKER, identity_version_path, published_state_path
from bankdw.reporting.run_report import RunReport
from models.identity.keys import REGISTRY_FILE
from tests.conftest import PUBLISHED_DAYS, bank_date, copy_deliveries, write_manifest

if TYPE_CHECKING:
    from tests.conftest import PublishedBank

LAST = bank_date(PUBLISHED_DAYS - 1)
NIGHT_1, NIGHT_2, PENDING = (bank_date(PUBLISHED_DAYS + n) for n in range(3))
NIGHT_2_OUTPUT = "night_2_terminal.json"
"""What `bankdw run` printed for night 2: returncode, stdout, stderr."""
NEWCOMER = "C999999999"
"""The customer record night 1 adds to a household (a larger customer_id than any simulated)."""


@dataclass(frozen=True)
class HouseholdMove:
    household_key: str
    """The household, as the published history keys it."""
    link_type: str
    """What its members share: SHARED_PHONE or SHARED_ADDRESS, and nothing else."""
    leaver: str
    """The member (customer_key) with the smallest key, who moves out on night 1."""
    stayer: str
    """The member who stays and whom the newcomer joins."""


@dataclass
class Nights:
    settings: Settings
    runs: list[RunReport]
    """History, night 1, night 2 (after a rollback)."""
    published_after: list[str]
    """The build stamp of the published file after each change."""
    answers: list[dict[str, object]]
    """What the reader processes saw."""
    states: dict[str, list[object]]
    """Run id -> what a reader must see of that build."""
    household: HouseholdMove
    households_after_night_1: list[tuple[str, str, str | None]]
    """(household_key, customer_key, core customer_id) of every household member, as night 1
    published them."""
    night_2_terminal: dict[str, Any]
    """What `bankdw run` printed for night 2 (returncode, stdout, stderr)."""
    identities: dict[str, dict[str, Any]]
    """The published identity (`identity_of`) before night 1 ("history"), after it ("night_1")
    and after the rollback ("rolled_back", with "kept": the files history's version kept)."""


def stamp(settings: Settings) -> list[object]:
    from tests.warehouse_reader import answer

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return answer(con)


def wait_for(answers: Path, run_id: str, timeout: float = 60) -> None:
    """Until the reader's new connections answer from build `run_id`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        lines = answers.read_text(encoding="utf-8").splitlines() if answers.exists() else []
        last = json.loads(lines[-1]) if lines else None
        if last and last.get("fresh", [None])[0] == run_id:
            return
        time.sleep(0.2)
    raise AssertionError(f"the reader never saw build {run_id}; last answer: {last}")


def move_household_member(settings: Settings, night: date) -> HouseholdMove:
    """In `night`'s pending customers snapshot, the member of a household around one phone or
    address with the smallest key moves out (a new phone or address), and a new customer
    (NEWCOMER) moves in with the one who stays."""
    # the intermediate models are in the published version's whole build, not in what readers open
    with duckdb.connect(str(published_state_path(settings)), read_only=True) as con:
        household = con.sql(
            """
            with members as (
                select customer_key_a as customer_key, link_type, shared_value
                from intermediate.int_customer_household_links
                union all
                select customer_key_b, link_type, shared_value from intermediate.int_customer_household_links
            ),
            single_anchor as (
                select households.household_key
                from intermediate.int_customer_households as households
                inner join members on households.customer_key = members.customer_key
                group by households.household_key
                having count(distinct members.link_type || members.shared_value) = 1
                    and any_value(members.link_type) in ('SHARED_PHONE', 'SHARED_ADDRESS')
            )
            select single_anchor.household_key, any_value(members.link_type),
                list(distinct households.customer_key order by households.customer_key)
            from single_anchor
            inner join intermediate.int_customer_households as households
                on single_anchor.household_key = households.household_key
            inner join members on households.customer_key = members.customer_key
            group by single_anchor.household_key
            order by single_anchor.household_key
            limit 1
            """
        ).fetchone()
        assert household is not None, "the shared bank has no household around one phone or address"
        key, link_type, members = household
        move = HouseholdMove(key, link_type, leaver=members[0], stayer=members[-1])
        records = dict(
            con.sql(
                "select source_key, customer_key from marts.customer_xref where source_table = 'customers'"
                " and customer_key in (?, ?)",
                params=[move.leaver, move.stayer],
            ).fetchall()
        )
    shared = ["phone"] if link_type == "SHARED_PHONE" else ["address", "postal_code"]
    elsewhere = {"phone": "13912345678", "address": "88 Far Away Road", "postal_code": "999999"}
    delivery = settings.landing_dir / "core_banking" / night.isoformat()
    path = delivery / "customers.csv"
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    rows = list(reader)
    assert reader.fieldnames is not None
    stayer_row = next(r for r in rows if records.get(r["customer_id"]) == move.stayer)
    for row in rows:
        if records.get(row["customer_id"]) == move.leaver:
            row |= {column: elsewhere[column] for column in shared}
    newcomer = dict(stayer_row) | {
        "customer_id": NEWCOMER,
        "full_name": "Newcomer Test",
        "national_id": "110101199001011234",
        "birth_date": "1990-01-01",
        "email": "",
    }
    rows.append(newcomer)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    write_manifest(delivery)
    return move


def households_of(settings: Settings) -> list[tuple[str, str, str | None]]:
    with duckdb.connect(str(published_state_path(settings)), read_only=True) as con:
        return [
            (key, customer, source)
            for key, customer, source in con.sql(
                """
                select households.household_key, households.customer_key, xref.source_key
                from intermediate.int_customer_households as households
                left join marts.customer_xref as xref
                    on xref.customer_key = households.customer_key and xref.source_table = 'customers'
                order by all
                """
            ).fetchall()
        ]


def identity_files(directory: Path) -> dict[str, str]:
    """File name -> sha256 of every file of an identity folder but its publication marker."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != IDENTITY_MARKER
    }


def published_keys(settings: Settings) -> dict[str, str]:
    """customer_id -> customer_key as the published version's whole build gave them (its intermediate schema)."""
    with duckdb.connect(str(published_state_path(settings)), read_only=True) as con:
        return dict(con.sql("select customer_id, customer_key from intermediate.int_customer_identity").fetchall())


def registry_keys(directory: Path) -> dict[str, str]:
    """customer_id -> customer_key as the key registry in `directory` holds them."""
    table = pq.read_table(directory / REGISTRY_FILE, columns=["customer_id", "customer_key"])
    return dict(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


def identity_of(settings: Settings) -> dict[str, Any]:
    """The published identity: its files, its marker (the run that published it), the registry's
    keys and the keys the published build gave."""
    published = settings.identity_dir
    return {
        "files": identity_files(published),
        "marker": json.loads((published / IDENTITY_MARKER).read_text(encoding="utf-8")),
        "registry": registry_keys(published),
        "published_keys": published_keys(settings),
    }


def publish_nights(published_bank: PublishedBank, bank_landing: Path, root: Path) -> None:
    """History (a copy of the shared published bank), then, while two readers read: night 1
    published, a rollback, night 2 published (keeping two versions). PENDING's deliveries wait
    in the landing area. Written under `root` for `load_nights`."""
    from bankdw.pipeline import DateSelection, run
    from bankdw.publish import rollback

    assert published_bank.last_date == LAST
    settings = published_bank.copy(root / "data", keep_versions=2)
    copy_deliveries(bank_landing, settings.landing_dir, [NIGHT_2, PENDING])
    household = move_household_member(settings, NIGHT_1)
    runs = [published_bank.report]
    states = {runs[0].run_id: stamp(settings)}
    answers, held, stop = root / "fresh.jsonl", root / "held.jsonl", root / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.warehouse_reader", mode, str(settings.warehouse_path), str(out), str(stop)],
            cwd=PROJECT_ROOT,
        )
        for mode, out in (("fresh", answers), ("held", held))
    ]
    published_after = [runs[0].run_id]
    identities = {"history": identity_of(settings)}
    try:
        wait_for(answers, runs[0].run_id)
        runs.append(run(settings, DateSelection(last=NIGHT_1)))
        states[runs[1].run_id] = stamp(settings)
        after_night_1 = households_of(settings)
        identities["night_1"] = identity_of(settings)
        published_after.append(runs[1].run_id)
        wait_for(answers, runs[1].run_id)
        published_after.append(rollback(settings).run_id)
        identities["rolled_back"] = identity_of(settings)
        identities["rolled_back"]["kept"] = identity_files(identity_version_path(settings, runs[0].run_id))
        wait_for(answers, runs[0].run_id)
        # night 2 as a person runs it (`bankdw run` in a terminal that is a pipe): test_run_output
        # reads what it printed (NIGHT_2_OUTPUT) instead of running a night of its own
        terminal = subprocess.run(
            [str(Path(sys.executable).with_name("bankdw")), "run", "--to", NIGHT_2.isoformat()],
            env=os.environ | {"BANKDW_DATA_DIR": str(settings.root), "BANKDW_KEEP_VERSIONS": "2"},
            capture_output=True,
            text=True,
            check=False,
        )
        (root / NIGHT_2_OUTPUT).write_text(
            json.dumps({"returncode": terminal.returncode, "stdout": terminal.stdout, "stderr": terminal.stderr}),
            encoding="utf-8",
        )
        latest = RunReport.latest(settings)
        assert latest is not None and latest.run_id != runs[1].run_id, terminal.stdout + terminal.stderr
        runs.append(latest)
        states[runs[2].run_id] = stamp(settings)
        published_after.append(runs[2].run_id)
        wait_for(answers, runs[2].run_id)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    facts = {
        "runs": [r.run_id for r in runs],
        "published_after": published_after,
        "states": states,
        "household": household.__dict__,
        "households_after_night_1": after_night_1,
        "identities": identities,
    }
    (root / "nights.json").write_text(json.dumps(facts), encoding="utf-8")


def load_nights(root: Path) -> Nights:
    facts: dict[str, Any] = json.loads((root / "nights.json").read_text(encoding="utf-8"))
    settings = load_settings(data_dir=root / "data", keep_versions=2)
    lines = [
        line
        for name in ("fresh.jsonl", "held.jsonl")
        for line in (root / name).read_text(encoding="utf-8").splitlines()
    ]
    return Nights(
        settings=settings,
        runs=[RunReport.load(settings, run_id) for run_id in facts["runs"]],
        published_after=facts["published_after"],
        answers=[json.loads(line) for line in lines],
        states=facts["states"],
        household=HouseholdMove(**facts["household"]),
        households_after_night_1=[tuple(row) for row in facts["households_after_night_1"]],
        night_2_terminal=json.loads((root / NIGHT_2_OUTPUT).read_text(encoding="utf-8")),
        identities=facts["identities"],
    )
