"""Identity resolution: normalisation, every rule, ambiguous and look-alike cases, stable keys
across nights, and precision/recall of merges on a simulated bank against its answer key.

Rules are tested on small hand-built records (models.identity.rules.resolve on an in-memory
DuckDB); keys across nights on a hand-written lake read by the resolve step's own code; the
end-to-end part resolves a small simulated bank with the pipeline's resolve step and builds
the customer models with real dbt (by hand, too: it must leave the published identity alone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.warehouse import identity_build_path
from models.identity import normalise
from models.identity.evaluate import merge_quality, with_evidence
from models.identity.keys import MERGE_SCHEMA, KeyRegistry, assign_keys, new_key
from models.identity.normalise import register_udfs
from models.identity.probabilistic import IdentityConfig
from models.identity.records import RECORD_COLUMNS
from models.identity.resolve import IDENTITY_FILE, IDENTITY_FILES, identify, resolve_lake, write_identity
from models.identity.rules import resolve

# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+86 138-0013-8000", "138 0013 8000", "138-0013-8000", "+8613800138000", "0086 138 0013 8000"],
)
def test_every_way_staff_type_a_mobile_gives_one_e164(raw: str) -> None:
    assert normalise.phone_e164(raw, "CN") == "+8613800138000"


@pytest.mark.parametrize("raw", ["02165521234", "(021) 6552 1234", "021-65521234", "+86 21 6552 1234", "(021)65521234"])
def test_every_way_staff_type_a_landline_gives_one_e164(raw: str) -> None:
    assert normalise.phone_e164(raw, "CN") == "+862165521234"


def test_the_phone_region_setting_reads_numbers_without_country_code() -> None:
    assert normalise.phone_e164("6552 1234", "HK") == "+85265521234"
    assert normalise.phone_e164("+86 21 6552 1234", "HK") == "+862165521234"  # a country code wins


@pytest.mark.parametrize("raw", [None, "", "   ", "n/a", "12"])
def test_what_is_not_a_phone_number_is_no_evidence(raw: str | None) -> None:
    assert normalise.phone_e164(raw, "CN") is None


def test_emails_national_ids_and_names_normalise() -> None:
    assert normalise.email(" Fang.Wang12@QQ.com ") == "fang.wang12@qq.com"
    assert normalise.email("not-an-email") is None
    assert normalise.national_id("1101 0119-8001 01123x") == "11010119800101123X"
    assert normalise.national_id(" ") is None
    assert normalise.name("ZHÀNG  Wěi") == normalise.name("zhang wei") == "zhang wei"
    assert normalise.name("Zoë Müller") == "zoe muller"


def test_the_plugin_registers_the_same_functions_as_udfs() -> None:
    con = duckdb.connect()
    register_udfs(con, "CN")
    row = con.sql(
        "select bankdw_phone_e164('(021) 6552 1234'), bankdw_email(' A@B.cn'), bankdw_name_fold('LI  Ná'),"
        " bankdw_national_id('1-2 3'), bankdw_phone_e164(null)"
    ).fetchone()
    assert row == ("+862165521234", "a@b.cn", "li na", "123", None)


# ---------------------------------------------------------------- the rules, on hand-built records


def person(customer_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "customer_type": "INDIVIDUAL",
        "national_id": None,
        "full_name": "Li Na",
        "birth_date": date(1980, 1, 1),
        "gender": "F",
        "phone": None,
        "email": None,
        "address": None,
        "postal_code": None,
    }
    return {"customer_id": customer_id, **base, **fields}


def records(*rows: dict[str, Any]) -> pa.Table:
    """Raw records normalised the way int_customer_records_normalised does."""
    return pa.table(
        {
            "customer_id": [r["customer_id"] for r in rows],
            "customer_type": [r["customer_type"] for r in rows],
            "national_id": [normalise.national_id(r["national_id"]) for r in rows],
            "name_fold": [normalise.name(r["full_name"]) for r in rows],
            "birth_date": pa.array([r["birth_date"] for r in rows], pa.date32()),
            "gender": [r["gender"] for r in rows],
            "phone_e164": pa.array([normalise.phone_e164(r["phone"], "CN") for r in rows], pa.string()),
            "email": pa.array([normalise.email(r["email"]) for r in rows], pa.string()),
            "address_fold": pa.array([normalise.name(r["address"]) for r in rows], pa.string()),
            "postal_code": pa.array([r["postal_code"] for r in rows], pa.string()),
        }
    ).select(list(RECORD_COLUMNS))


RULES_ONLY = IdentityConfig(probabilistic=False)


def resolved(table: pa.Table, config: IdentityConfig = RULES_ONLY) -> dict[str, dict[str, Any]]:
    out = resolve(duckdb.connect(), table, config).to_pylist()
    return {row["customer_id"]: row for row in out}


def test_records_sharing_a_national_id_in_any_format_are_one_customer() -> None:
    got = resolved(
        records(
            person("C2", national_id="1101 0119-8001 01123x"),
            person("C1", national_id="110101198001011 23X", full_name="Li Na Wang"),
            person("C3", national_id="999"),
        )
    )
    assert got["C1"]["group_id"] == got["C2"]["group_id"] == "C1"
    assert got["C2"]["match_rule"] == "NATIONAL_ID" and got["C2"]["matched_customer_id"] == "C1"
    assert got["C3"]["group_id"] == "C3"


def test_a_record_without_national_id_joins_on_name_birth_date_and_phone() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000", email="li.na@qq.com"),
            person("C9", full_name="LÍ NA", phone="+86 138-0013-8000"),
        )
    )
    assert got["C9"]["group_id"] == "C1"
    assert got["C9"]["match_rule"] == "NAME_BIRTH_PHONE"
    assert got["C9"]["matched_customer_id"] == "C1"


def test_a_record_without_national_id_joins_on_name_birth_date_and_email() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000", email="li.na@qq.com"),
            person("C9", email=" Li.Na@QQ.com"),
        )
    )
    assert got["C9"]["group_id"] == "C1"
    assert got["C9"]["match_rule"] == "NAME_BIRTH_EMAIL"


def test_same_name_and_birth_date_alone_never_merges() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C2", national_id="X2", phone="13900139000"),
            person("C3", phone="13700137000"),
            person("C4"),
        ),
        IdentityConfig(),  # splink on too: it has nothing to learn from here and links nothing
    )
    assert {row["group_id"] for row in got.values()} == {"C1", "C2", "C3", "C4"}
    assert got["C4"]["match_rule"] == "OWN_RECORD"


def test_the_same_phone_without_the_same_name_and_birth_date_does_not_merge() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C2", full_name="Wang Wei", phone="13800138000"),  # a household's shared phone
            person("C3", birth_date=date(1981, 1, 1), phone="13800138000"),
        )
    )
    assert {row["group_id"] for row in got.values()} == {"C1", "C2", "C3"}


def test_a_record_matching_two_customers_is_ambiguous_and_stays_apart() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C2", national_id="X2", phone="13800138000"),  # same name, birth date and phone: twins?
            person("C9", phone="138 0013 8000"),
        )
    )
    assert got["C9"]["group_id"] == "C9"
    assert got["C9"]["match_rule"] == "OWN_RECORD_AMBIGUOUS"
    assert got["C9"]["n_candidates"] == 2
    assert got["C1"]["group_id"] != got["C2"]["group_id"]


def test_records_without_national_id_never_chain_two_national_ids_together() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C2", national_id="X2", email="li.na@qq.com"),
            person("C8", phone="13800138000"),  # matches only C1 ...
            person("C9", phone="13800138000", email="li.na@qq.com"),  # ... this one C1 and C2
        )
    )
    assert got["C1"]["group_id"] != got["C2"]["group_id"]
    assert got["C9"]["match_rule"] == "OWN_RECORD_AMBIGUOUS"


def test_two_legacy_records_of_one_person_join_its_customer() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C8", full_name="LI NA", phone="13800138000"),
            person("C9", full_name="LI NA", phone="+8613800138000"),
        )
    )
    assert got["C8"]["group_id"] == got["C9"]["group_id"] == "C1"


def test_a_company_and_a_person_never_merge() -> None:
    got = resolved(
        records(
            person("C1", national_id="X1", phone="13800138000"),
            person("C2", customer_type="CORPORATE", national_id="X1", phone="13800138000"),
            person("C3", customer_type="CORPORATE", phone="13800138000"),
        )
    )
    assert got["C1"]["group_id"] == "C1"
    assert got["C2"]["group_id"] == got["C3"]["group_id"] == "C2"


def training_bank(n: int = 60) -> list[dict[str, Any]]:
    """n persons each keyed twice with their national id (what splink learns m from)."""
    rows = []
    for i in range(n):
        base = {
            "national_id": f"ID{i:04d}",
            "full_name": f"Person {i}",
            "birth_date": date(1950 + i % 40, 1 + i % 12, 1 + i % 28),
            "gender": "MF"[i % 2],
            "phone": f"1380000{i:04d}",
            "email": f"p{i}@qq.com",
            "address": f"No. {i} Nanjing Road",
            "postal_code": f"{200000 + i}",
        }
        rows += [person(f"C{i:04d}A", **base), person(f"C{i:04d}B", **base)]
    return rows


def test_splink_links_a_legacy_record_without_phone_or_email_through_its_address() -> None:
    legacy = person(
        "C9999",
        full_name="PERSON 7",
        birth_date=date(1957, 8, 8),
        gender="F",
        address="no. 7 nanjing road",
        postal_code="200007",
    )
    got = resolved(records(*training_bank(), legacy), IdentityConfig())
    assert got["C9999"]["match_rule"] == "PROBABILISTIC"
    assert got["C9999"]["group_id"] == "C0007A"
    assert got["C9999"]["match_probability"] >= 0.99


def test_two_legacy_records_of_one_person_both_join_its_customer_through_splink() -> None:
    legacy = {
        "full_name": "PERSON 7",
        "birth_date": date(1957, 8, 8),
        "gender": "F",
        "address": "No. 7 Nanjing Road",
        "postal_code": "200007",
    }
    got = resolved(records(*training_bank(), person("C9998", **legacy), person("C9999", **legacy)), IdentityConfig())
    assert got["C9998"]["group_id"] == got["C9999"]["group_id"] == "C0007A"
    assert got["C9998"]["match_rule"] == got["C9999"]["match_rule"] == "PROBABILISTIC"


def test_splink_does_not_link_a_look_alike_that_only_shares_name_and_birth_date() -> None:
    look_alike = person(
        "C9999",
        full_name="Person 7",
        birth_date=date(1957, 8, 8),
        gender="F",
        address="No. 1 Other Street",
        postal_code="100001",
    )
    got = resolved(records(*training_bank(), look_alike), IdentityConfig())
    assert got["C9999"]["group_id"] == "C9999"
    assert got["C9999"]["match_rule"] == "OWN_RECORD"


def test_the_threshold_comes_from_configuration() -> None:
    legacy = person("C9999", full_name="PERSON 7", birth_date=date(1957, 8, 8), gender="M", postal_code="200007")
    strict = resolved(records(*training_bank(), legacy), IdentityConfig(match_threshold=0.999999999))
    assert strict["C9999"]["group_id"] == "C9999"


# ---------------------------------------------------------------- stable keys


def resolution(groups: dict[str, str]) -> pa.Table:
    ids = sorted(groups)
    return pa.table(
        {
            "customer_id": ids,
            "group_id": [groups[i] for i in ids],
            "match_rule": ["NATIONAL_ID"] * len(ids),
            "matched_customer_id": pa.nulls(len(ids), pa.string()),
            "match_probability": pa.nulls(len(ids), pa.float64()),
            "n_candidates": [0] * len(ids),
        }
    )


def keys_of(assignment_keys: pa.Table) -> dict[str, str]:
    return dict(zip(*(assignment_keys.column(c).to_pylist() for c in ("customer_id", "customer_key")), strict=True))


DAY1, DAY2, DAY3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def test_a_new_customer_is_keyed_by_its_smallest_customer_id() -> None:
    first = assign_keys(resolution({"C1": "C1", "C2": "C1", "C3": "C3"}), None, DAY1)
    assert keys_of(first.keys) == {"C1": new_key("C1"), "C2": new_key("C1"), "C3": new_key("C3")}
    assert first.merges.num_rows == 0


def test_keys_survive_a_new_record_with_a_smaller_id_joining() -> None:
    first = assign_keys(resolution({"C5": "C5", "C6": "C5"}), None, DAY1)
    second = assign_keys(resolution({"C1": "C1", "C5": "C1", "C6": "C1"}), first.registry, DAY2)
    assert set(keys_of(second.keys).values()) == {new_key("C5")}
    assert second.merges.num_rows == 0


def test_a_merge_keeps_the_oldest_key_and_is_recorded() -> None:
    day1 = assign_keys(resolution({"C7": "C7"}), None, DAY1)
    day2 = assign_keys(resolution({"C7": "C7", "C3": "C3"}), day1.registry, DAY2)
    # C3 is the smaller id but its key is younger: C7's key survives
    day3 = assign_keys(resolution({"C7": "C3", "C3": "C3"}), day2.registry, DAY3)
    assert set(keys_of(day3.keys).values()) == {new_key("C7")}
    assert day3.merges.to_pylist() == [
        {"retired_key": new_key("C3"), "surviving_key": new_key("C7"), "merged_on": DAY3, "n_records_moved": 1}
    ]


def test_keys_are_the_same_whatever_the_order_of_the_records() -> None:
    registry = assign_keys(resolution({"C1": "C1", "C2": "C2", "C3": "C3"}), None, DAY1).registry
    merged = resolution({"C1": "C1", "C2": "C1", "C3": "C1"})
    a = assign_keys(merged, registry, DAY2)
    b = assign_keys(merged.take(pa.array([2, 0, 1])), registry.take(pa.array([1, 2, 0])), DAY2)
    assert keys_of(a.keys) == keys_of(b.keys)
    assert a.merges.equals(b.merges)


def test_a_split_leaves_the_key_with_the_group_of_its_first_record() -> None:
    day1 = assign_keys(resolution({"C1": "C1", "C2": "C1"}), None, DAY1)
    day2 = assign_keys(resolution({"C1": "C1", "C2": "C2"}), day1.registry, DAY2)
    keys = keys_of(day2.keys)
    assert keys["C1"] == new_key("C1")
    assert keys["C2"] not in {new_key("C1")}


def test_the_registry_an_identity_directory_holds_keys_the_next_run(tmp_path: Path) -> None:
    # given a first run's identity written as a directory
    table = records(person("C1", national_id="X1"), person("C2", national_id="X2"))
    first = identify(table, KeyRegistry(tmp_path / "a"), DAY1, RULES_ONLY)
    write_identity(first, tmp_path / "a")
    # when the next run keys the same records from it
    again = identify(table, KeyRegistry(tmp_path / "a"), DAY2, RULES_ONLY)
    # then the keys are the same, no merge is found, and every file of the directory is there
    assert first.keyed.column("customer_key").equals(again.keyed.column("customer_key"))
    assert again.merge_log.schema.equals(MERGE_SCHEMA) and again.merge_log.num_rows == 0
    registry, _ = KeyRegistry(tmp_path / "a").load()
    assert registry is not None and registry.num_rows == 2
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(IDENTITY_FILES)


# ---------------------------------------------------------------- keys across nights, from a lake


def write_snapshot(lake: Path, business_date: date, *rows: dict[str, Any]) -> None:
    """A core customers snapshot in the lake, as commit writes it (the columns resolution reads)."""
    folder = lake / "core_banking" / "customers" / f"business_date={business_date}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in ("customer_id", "customer_type", "full_name")},
            "national_id": pa.array([r["national_id"] for r in rows], pa.string()),
            "birth_date": pa.array([r["birth_date"] for r in rows], pa.date32()),
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in ("gender", "phone", "email", "address")},
            "postal_code": pa.array([r["postal_code"] for r in rows], pa.string()),
            "updated_at": pa.array([None] * len(rows), pa.timestamp("us", tz="UTC")),
            "_business_date": pa.array([business_date] * len(rows), pa.date32()),
        }
    )
    pq.write_table(table, folder / "customers.parquet")


def keys_in(directory: Path) -> dict[str, str]:
    table = pq.read_table(directory / IDENTITY_FILE)
    return dict(zip(table.column("customer_id").to_pylist(), table.column("customer_key").to_pylist(), strict=True))


def test_keys_are_stable_across_nights_when_the_lake_changes(tmp_path: Path) -> None:
    # given a first night: C5 and C6 one customer by national id, C7 another, C8 a legacy record alone
    lake = tmp_path / "lake"
    write_snapshot(
        lake,
        DAY1,
        person("C5", national_id="X5", phone="13800000005"),
        person("C6", national_id="X5"),
        person("C7", national_id="X7", full_name="Wang Wei", phone="13800000007"),
        person("C8", full_name="Zhao Lei", birth_date=date(1990, 2, 2), phone="13800000008"),
    )
    night_1 = resolve_lake(lake, tmp_path / "published", tmp_path / "night_1", "CN", RULES_ONLY)
    first = keys_in(tmp_path / "night_1")
    # when the next night's snapshot brings C1, a record with a smaller id, to C5's customer; a
    # new customer C9; and C8 corrected to C7's name and birth date: C7 and C8 become one customer
    write_snapshot(
        lake,
        DAY2,
        person("C1", national_id="x 5"),
        person("C5", national_id="X5", phone="13800000005"),
        person("C6", national_id="X5"),
        person("C7", national_id="X7", full_name="Wang Wei", phone="13800000007"),
        person("C8", full_name="WANG WEI", phone="138 0000 0007"),
        person("C9", national_id="X9"),
    )
    night_2 = resolve_lake(lake, tmp_path / "night_1", tmp_path / "night_2", "CN", RULES_ONLY)
    second = keys_in(tmp_path / "night_2")
    # then every customer of the first night keeps its key, the smaller id included ...
    assert first["C5"] == first["C6"] == second["C1"] == second["C5"] == second["C6"] == new_key("C5")
    assert second["C7"] == second["C8"] == first["C7"]
    assert second["C9"] == new_key("C9")
    # ... the merge is logged (same day: the smaller key survives), and the first night's
    # identity directory, the registry this night keyed from, is as it was
    assert night_2.merge_log.to_pylist() == [
        {
            "retired_key": max(first["C7"], first["C8"]),
            "surviving_key": min(first["C7"], first["C8"]),
            "merged_on": DAY2,
            "n_records_moved": 1,
        }
    ]
    assert keys_in(tmp_path / "night_1") == first and night_1.merge_log.num_rows == 0
    # and nothing was written where the registry would be published
    assert not (tmp_path / "published").exists()


# ---------------------------------------------------------------- a simulated bank, built by dbt


CUSTOMER_MODELS = "+int_customer_versions +int_customer_xref int_customers_current audit_customer_key_merges"


def dbt_by_hand(settings: Settings, target: Path) -> None:
    """`dbt run` of the customer models as a data engineer runs it in dbt_project/: only the
    lake and the dev file named, so the identity read is the default, the published one. In
    a subprocess: dbt keeps its connection to the file open in its process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKDW_")}
    env |= {"BANKDW_DBT_PATH": str(target)}
    paths = ["--target-path", str(settings.root / "dbt" / "target"), "--log-path", str(settings.root / "dbt" / "logs")]
    lake = ["--vars", json.dumps({"lake_dir": str(settings.lake_dir), "identity_dir": str(settings.identity_dir)})]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", CUSTOMER_MODELS, "--quiet", *paths, *lake],
        cwd=PROJECT_ROOT / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def table_of(path: Path, name: str, schema: str = "intermediate") -> pa.Table:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"select * from {schema}.{name}").to_arrow_table()
    finally:
        con.close()


def files_of(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


@dataclass
class Bank:
    settings: Settings
    build: Path  # the customer models, built by hand on the published identity
    published_before: dict[str, tuple[bytes, int]]  # <lake>/_identity before the build by hand
    candidate: Path  # the identity the resolve step wrote for its run


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    """A simulated bank loaded and resolved by the pipeline's steps, its identity installed as
    publish installs it, then the customer models built by hand on it."""
    from bankdw.pipeline import commit_step, gate_step, resolve_step, stage_step
    from simulator import SimulationConfig, simulate

    settings = load_settings(data_dir=tmp_path_factory.mktemp("identity") / "data")
    # default defect rates; big enough for each defect to occur (unknown callers are rare at this
    # size: seed 16 has two, where seed 11 had one and then, with the churners of the simulator
    # drawing more calls, none)
    simulate(SimulationConfig(out=settings.landing_dir, customers=400, days=5, start=date(2026, 11, 10), seed=16))
    report = stage_step(settings, None)
    gate_step(settings, report.run_id)
    commit_step(settings, report.run_id)
    assert resolve_step(settings, report.run_id).resolved
    candidate = identity_build_path(settings)
    shutil.copytree(candidate, settings.identity_dir)
    before = files_of(settings.identity_dir)
    target = settings.root / "warehouse" / "dev.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    dbt_by_hand(settings, target)
    return Bank(settings, target, before, candidate)


def test_merges_are_precise_and_complete_against_the_answer_key(bank: Bank) -> None:
    settings, xref = bank.settings, table_of(bank.build, "int_customer_xref")
    truth = settings.landing_dir.parent / "_truth"
    everything = merge_quality(xref, truth / "persons.csv")
    on_evidence = merge_quality(with_evidence(xref, truth / "defects.csv"), truth / "persons.csv")
    figures = "\n".join(["all records:", *everything.lines(), "records with evidence:", *on_evidence.lines()])
    assert everything.precision >= 0.995, figures
    assert everything.recall >= 0.98, figures
    assert on_evidence.recall >= 0.99, figures
    core = merge_quality(xref, truth / "persons.csv", ("customers",))
    assert core.precision >= 0.995 and core.recall >= 0.98


def test_every_rule_fires_on_the_simulated_bank(bank: Bank) -> None:
    con = duckdb.connect()
    con.register("xref", table_of(bank.build, "int_customer_xref"))
    counts = con.sql("select source_table, match_rule, count(*) from xref group by all").fetchall()
    by_rule = {(t, r): n for t, r, n in counts}
    for expected in [
        ("customers", "NATIONAL_ID"),
        ("customers", "NAME_BIRTH_PHONE"),
        ("users", "LINKED_CUSTOMER_ID"),
        ("users", "UNRESOLVED"),  # prospects
        ("calls", "IVR_CUSTOMER_ID"),
        ("calls", "UNIQUE_CALLER_NUMBER"),
        ("calls", "AMBIGUOUS"),  # household phones
    ]:
        assert by_rule.get(expected, 0) > 0, expected
    # a call from a number no record holds is placed by the IVR, by what authenticated calls
    # from that number said, or not at all; never by a record's phone
    truth = bank.settings.landing_dir.parent / "_truth"
    unknown = con.sql(
        """select x.match_rule, count(*) from xref x
           join read_csv(?, all_varchar = true) d on d.key = x.source_key and d.kind = 'unknown_caller'
           where x.source_table = 'calls' group by all""",
        params=[str(truth / "defects.csv")],
    ).fetchall()
    assert unknown and {rule for rule, _ in unknown} <= {"IVR_CUSTOMER_ID", "LEARNED_CALLER_NUMBER", "UNRESOLVED"}
    unresolved = con.sql(
        "select count(*) from xref where (customer_key is null) <> (match_rule in ('AMBIGUOUS', 'UNRESOLVED'))"
    ).fetchone()
    assert unresolved == (0,)


def test_a_dbt_build_by_hand_reads_the_published_identity_and_never_writes_it(bank: Bank) -> None:
    # given the published identity (installed in the fixture) and a dbt run by hand on it
    published = bank.settings.identity_dir
    # then every file of <lake>/_identity is as it was, byte for byte and untouched (mtimes), none added
    assert files_of(published) == bank.published_before
    # and the build's keys and merge log are the published ones
    keys = table_of(bank.build, "int_customer_identity").select(["customer_id", "customer_key"])
    assert keys.sort_by("customer_id").equals(
        pq.read_table(published / IDENTITY_FILE).select(["customer_id", "customer_key"]).sort_by("customer_id")
    )
    merges = table_of(bank.build, "customer_key_merges", "audit")
    assert merges.num_rows == pq.read_table(published / "customer_key_merges.parquet").num_rows


def test_the_records_resolved_are_dbts_last_known_state_of_every_record(bank: Bank) -> None:
    # given the resolve step's records (read by int_customer_records_normalised) and dbt's own
    # last known state of the core customers (int_customers_current), built from the same lake
    con = duckdb.connect()
    con.register("records", table_of(bank.build, "int_customer_records_normalised"))
    con.register("current", table_of(bank.build, "int_customers_current"))
    # then they are the same rows: the same records, each in the state of the same snapshot
    columns = "customer_id, customer_type, birth_date, gender, updated_at, snapshot_date"
    for a, b in (("records", "current"), ("current", "records")):
        assert con.sql(
            f"select count(*) from (select {columns} from {a} except all select {columns} from {b})"
        ).fetchone() == (0,)
    # and normalised by the same functions dbt's UDFs are
    register_udfs(con, bank.settings.phone_region)
    assert con.sql(
        """select count(*) from records r join current c using (customer_id)
           where r.national_id is distinct from bankdw_national_id(c.national_id)
              or r.name_fold is distinct from bankdw_name_fold(c.full_name)
              or r.phone_e164 is distinct from bankdw_phone_e164(c.phone)
              or r.email is distinct from bankdw_email(c.email)
              or r.address_fold is distinct from bankdw_name_fold(c.address)
              or r.postal_code is distinct from nullif(trim(c.postal_code), '')"""
    ).fetchone() == (0,)


def test_the_history_has_one_current_version_and_no_gaps_or_idle_versions(bank: Bank) -> None:
    con = duckdb.connect()
    con.register("versions", table_of(bank.build, "int_customer_versions"))
    assert con.sql("select count(*) from versions").fetchone()[0] > 0  # type: ignore[index]
    # one current version per customer, and it is the last one
    assert con.sql(
        """select count(*) from (select customer_key from versions group by 1
           having count(*) filter (where is_current) <> 1
               or max(valid_from) <> max(valid_from) filter (where is_current))"""
    ).fetchone() == (0,)
    # each version ends where the next begins
    assert con.sql(
        """select count(*) from (select valid_to, lead(valid_from) over (partition by customer_key
           order by valid_from) as next_from from versions) where valid_to is distinct from next_from"""
    ).fetchone() == (0,)
    # a version exists only because something tracked changed
    assert con.sql(
        """select count(*) from (select row(customer_type, full_name, birth_date, gender, city, region,
               home_branch_id, rm_id, kyc_risk_rating, onboarding_date, status, n_source_records) as attrs,
               lag(row(customer_type, full_name, birth_date, gender, city, region, home_branch_id, rm_id,
               kyc_risk_rating, onboarding_date, status, n_source_records))
               over (partition by customer_key order by valid_from) as previous
           from versions) where attrs is not distinct from previous"""
    ).fetchone() == (0,)
