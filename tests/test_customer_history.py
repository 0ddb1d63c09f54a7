"""The customer history built incrementally (issue 6, "History"), end to end with real dbt.

A small simulated bank is loaded night by night through the real extract path (stage, gates,
commit), and after each night the customer models are built incrementally on a copy of the
previous night's file, as the nightly build does. On the way the deliveries are edited: an
attribute change, a late corrected re-delivery of an older date and one that undoes it, and a
record corrected to another customer's national id, so that two customers merge. At the end one full
refresh of the same lake must give the same history, row for row.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bankdw.config import Settings, load_settings
from bankdw.pipeline import commit_step, gate_step, stage_step
from extract.landing import MANIFEST_NAME, Manifest
from models.identity.resolve import resolve_lake
from tests.conftest import BANK_START, copy_deliveries, dbt_on, write_manifest

pytestmark = pytest.mark.slow
START, DAYS = BANK_START, 6
CUSTOMER_MODELS = "+dim_customer_history +dim_customer"
TRACKED = (
    "customer_type, full_name, birth_date, gender, city, region, home_branch_id, rm_id,"
    " kyc_risk_rating, onboarding_date, status, n_source_records"
)


def day(n: int) -> date:
    return START + timedelta(days=n)


def customers_csv(folder: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (folder / "customers.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def edit_customers(folder: Path, customer_id: str, **values: str) -> None:
    """Change one record of a delivery's customer snapshot and write a manifest that matches."""
    header, rows = customers_csv(folder)
    hits = [row for row in rows if row["customer_id"] == customer_id]
    assert len(hits) == 1, customer_id
    hits[0].update(values)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "customers.csv").write_text(out.getvalue(), encoding="utf-8")
    write_manifest(folder)


def deliver(source: Path, settings: Settings, n: int, extracted_at: str | None = None) -> None:
    """The core system's delivery of day n into the landing area (again, when re-delivered)."""
    folder = settings.landing_dir / "core_banking" / day(n).isoformat()
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source / "core_banking" / day(n).isoformat(), folder)
    if extracted_at:  # a re-delivery of files already sent once: a new manifest
        manifest = Manifest.model_validate_json((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        manifest.model_copy(update={"extracted_at": extracted_at}).write(folder)


def load(settings: Settings) -> None:
    report = stage_step(settings, None)
    gate_step(settings, report.run_id)
    commit_step(settings, report.run_id)


def build(settings: Settings, target: Path, previous: Path | None) -> Path:
    """The customer models on a copy of the previous night's file (a full build without one);
    `target` is named bank.duckdb (`dbt_on`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        shutil.copyfile(previous, target)
    extra = () if previous is not None else ("--full-refresh",)
    # the night's identity, keyed from and installed as the published one (as publish would)
    identity = settings.identity_dir
    resolve_lake(settings.lake_dir, identity, identity, settings.phone_region)
    done = dbt_on(settings, target, "run", "--select", CUSTOMER_MODELS, "--quiet", *extra)
    assert done.returncode == 0, done.stdout[-4000:]
    return target


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def history(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "select * from marts.dim_customer_history order by customer_key, valid_from")


def current(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "select * from marts.dim_customer order by customer_key")


def key_of(path: Path, customer_id: str) -> str:
    return str(
        query(path, f"select customer_key from intermediate.int_customer_identity where customer_id = '{customer_id}'")[
            0
        ][0]
    )


def versions_of(path: Path, key: str) -> list[tuple[Any, ...]]:
    return query(
        path,
        "select version_number, valid_from, valid_to, is_current, city, n_source_records"
        f" from marts.dim_customer_history where customer_key = '{key}' order by valid_from",
    )


def newest_load(path: Path) -> str:
    return str(query(path, "select max(load_id) from intermediate.int_customer_history_dates")[0][0])


def stamped_keys(path: Path) -> set[str]:
    """Customers with a version (re)written by the night's newest load."""
    rows = query(
        path,
        "select distinct customer_key from intermediate.int_customer_versions where load_id ="
        " (select max(load_id) from intermediate.int_customer_history_dates)",
    )
    return {str(r[0]) for r in rows}


def changed_keys(before: Path, after: Path) -> set[str]:
    """Customers whose history, as the mart shows it, differs between two files."""
    old, new = history(before), history(after)
    by_key: dict[str, set[tuple[Any, ...]]] = {}
    for row in old:
        by_key.setdefault(row[1], set()).add(("old", *row))
    for row in new:
        by_key.setdefault(row[1], set()).add(("new", *row))
    return {
        k
        for k, rows in by_key.items()
        if {r[1:] for r in rows if r[0] == "old"} != {r[1:] for r in rows if r[0] == "new"}
    }


@pytest.fixture(scope="module")
def bank(bank_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("history")
    source = root / "source"  # the core system's first DAYS deliveries of the shared bank, edited below
    copy_deliveries(bank_landing, source, [day(n) for n in range(DAYS)], systems=["core_banking"])
    settings = load_settings(data_dir=root / "data")
    facts: dict[str, Any] = {"settings": settings}
    folder = {n: source / "core_banking" / day(n).isoformat() for n in range(DAYS)}

    # night 1: three days in one pass, no warehouse yet (a full build)
    for n in range(3):
        deliver(source, settings, n)
    load(settings)
    night1 = build(settings, root / "night1" / "bank.duckdb", None)
    facts["night1"] = night1

    # the records the edits are made on, picked on the first night's identity
    _, rows = customers_csv(folder[2])
    records = {r["customer_id"]: r for r in rows}
    rules = dict(query(night1, "select customer_id, match_rule from intermediate.int_customer_identity"))
    members = dict(query(night1, "select customer_key, count(*) from intermediate.int_customer_identity group by 1"))
    alone = sorted(
        cid
        for cid, r in records.items()
        if rules.get(cid) == "NATIONAL_ID" and members[key_of(night1, cid)] == 1 and r["customer_type"] == "INDIVIDUAL"
    )
    assert len(alone) >= 4, len(alone)
    mover, corrected, merged_into, joiner = alone[:4]
    facts.update(mover=mover, corrected=corrected, merged_into=merged_into, joiner=joiner)
    facts["keys_before_merge"] = (key_of(night1, merged_into), key_of(night1, joiner))

    # night 2: day 3, on which one customer moves city (and stays there)
    for n in range(3, DAYS):
        edit_customers(folder[n], mover, city="Testville")
    deliver(source, settings, 3)
    load(settings)
    facts["night2"] = build(settings, root / "night2" / "bank.duckdb", night1)

    # night 3: day 4, and day 1 re-delivered corrected: another customer lived elsewhere that day
    original_day1 = (folder[1] / "customers.csv").read_bytes(), (folder[1] / MANIFEST_NAME).read_bytes()
    edit_customers(folder[1], corrected, city="Correctville")
    deliver(source, settings, 4)
    deliver(source, settings, 1, extracted_at="2026-11-25T01:00:00+08:00")
    load(settings)
    facts["night3"] = build(settings, root / "night3" / "bank.duckdb", facts["night2"])

    # night 4: day 5, on which a record is corrected to the national id of another customer
    # (the two are found to be one), and day 1 re-delivered again, undoing the correction
    edit_customers(folder[5], joiner, national_id=records[merged_into]["national_id"])
    (folder[1] / "customers.csv").write_bytes(original_day1[0])
    (folder[1] / MANIFEST_NAME).write_bytes(original_day1[1])
    deliver(source, settings, 5)
    deliver(source, settings, 1, extracted_at="2026-11-26T01:00:00+08:00")
    load(settings)
    facts["night4"] = build(settings, root / "night4" / "bank.duckdb", facts["night3"])

    # the same lake, one full refresh
    facts["full"] = build(settings, root / "full" / "bank.duckdb", None)
    return facts


def test_the_incremental_history_equals_a_full_refresh(bank: dict[str, Any]) -> None:
    night4, full = bank["night4"], bank["full"]
    assert len(history(full)) > len(current(full)) > 50
    assert history(night4) == history(full)
    assert current(night4) == current(full)
    daily = "select * from intermediate.int_customers_unified_daily order by customer_key, snapshot_date"
    assert query(night4, daily) == query(full, daily)
    versions = f"select customer_key, version_number, valid_from, valid_to, is_current, last_seen_date, {TRACKED}"
    versions += " from intermediate.int_customer_versions order by customer_key, valid_from"
    assert query(night4, versions) == query(full, versions)


def test_an_attribute_change_opens_a_version_and_an_unchanged_day_does_not(bank: dict[str, Any]) -> None:
    key = key_of(bank["night4"], bank["mover"])
    cities = [(v[0], v[1], v[4]) for v in versions_of(bank["night4"], key)]
    assert [c for c in cities if c[2] == "Testville"] == [(cities[-1][0], day(3), "Testville")]
    # night 2 opened the version; nights 3 and 4 (days 4 and 5, unchanged) only extended it
    assert versions_of(bank["night2"], key)[-1][1:4] == (day(3), None, True)
    assert query(
        bank["night4"],
        f"select last_seen_date from intermediate.int_customer_versions where customer_key = '{key}' and is_current",
    ) == [(day(5),)]


def test_a_late_correction_opens_versions_and_its_undo_merges_them_back(bank: dict[str, Any]) -> None:
    key = key_of(bank["night4"], bank["corrected"])
    corrected = versions_of(bank["night3"], key)
    at = [v[1] for v in corrected]
    assert [v[4] for v in corrected if v[1] == day(1)] == ["Correctville"]
    assert day(1) in at and day(2) in at  # the corrected day is a version of its own
    undone = versions_of(bank["night4"], key)
    assert "Correctville" not in [v[4] for v in undone]
    assert undone == versions_of(bank["full"], key)
    assert [v[0] for v in undone] == list(range(1, len(undone) + 1))


def test_a_merge_rebuilds_the_history_under_the_surviving_key(bank: dict[str, Any]) -> None:
    night4 = bank["night4"]
    old_keys = set(bank["keys_before_merge"])
    assert len(old_keys) == 2
    surviving = key_of(night4, bank["merged_into"])
    assert key_of(night4, bank["joiner"]) == surviving and surviving in old_keys
    retired = (old_keys - {surviving}).pop()
    assert query(night4, f"select count(*) from marts.dim_customer_history where customer_key = '{retired}'") == [(0,)]
    assert query(night4, f"select count(*) from marts.dim_customer where customer_key = '{retired}'") == [(0,)]
    # every day of both records now counts under one customer: two records from the first day
    first = versions_of(night4, surviving)[0]
    assert first[1] == day(0) and first[5] == 2


def test_versions_are_contiguous_with_one_current_version(bank: dict[str, Any]) -> None:
    for name in ("night1", "night2", "night3", "night4"):
        path = bank[name]
        assert query(
            path,
            """select count(*) from (
                   select customer_key, version_number, valid_to, is_current,
                       lead(valid_from) over w as next_from,
                       row_number() over w as expected_number
                   from marts.dim_customer_history
                   window w as (partition by customer_key order by valid_from))
               where valid_to is distinct from next_from or is_current <> (next_from is null)
                   or version_number <> expected_number""",
        ) == [(0,)], name
        assert query(
            path,
            f"""select count(*) from (
                   select row({TRACKED}) as attrs,
                       lag(row({TRACKED})) over (partition by customer_key order by valid_from) as previous
                   from marts.dim_customer_history)
               where attrs is not distinct from previous""",
        ) == [(0,)], name
        assert query(path, "select count(*) from marts.dim_customer_history where is_current") == query(
            path, "select count(*) from marts.dim_customer"
        ), name


def test_a_night_rewrites_only_the_customers_whose_history_changed(bank: dict[str, Any]) -> None:
    for before, after in (("night1", "night2"), ("night2", "night3"), ("night3", "night4")):
        changed = changed_keys(bank[before], bank[after])
        stamped = stamped_keys(bank[after])
        assert changed, after
        # a customer whose history did not change keeps the versions an earlier night wrote
        assert stamped <= changed | set(bank["keys_before_merge"]), after
        assert len(stamped) < len(current(bank[after])) / 2, after
    # the day rows of a date nobody re-delivered keep the load they came in
    loads = query(
        bank["night4"],
        "select snapshot_date, count(distinct load_id) from intermediate.int_customers_unified_daily group by 1 order by 1",
    )
    assert [n for _, n in loads] == [1] * DAYS
    assert newest_load(bank["night4"]) > newest_load(bank["night3"]) > newest_load(bank["night2"])
