"""Identity resolution: normalisation, every rule, ambiguous and look-alike cases, stable keys,
and precision/recall of merges on a simulated bank against its answer key.

Rules are tested on small hand-built records (models.identity.resolve on an in-memory DuckDB);
the end-to-end part builds the customer models of a small simulated bank with real dbt.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from bankdw.config import Settings, load_settings
from bankdw.warehouse import run_dbt
from models import identity_normalise as normalise
from models.identity import (
    MERGE_SCHEMA,
    RECORD_COLUMNS,
    IdentityConfig,
    KeyRegistry,
    assign_keys,
    new_key,
    resolve,
    run,
)
from models.identity_eval import merge_quality, with_evidence
from models.identity_plugin import register

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
    register(con, "CN")
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


def test_the_registry_persists_across_runs(tmp_path: Path) -> None:
    table = records(person("C1", national_id="X1"), person("C2", national_id="X2"))
    first, _ = run(table, tmp_path, DAY1, RULES_ONLY)
    again, merges = run(table, tmp_path, DAY2, RULES_ONLY)
    assert first.column("customer_key").equals(again.column("customer_key"))
    assert merges.schema.equals(MERGE_SCHEMA) and merges.num_rows == 0
    registry, _ = KeyRegistry(tmp_path).load()
    assert registry is not None and registry.num_rows == 2


# ---------------------------------------------------------------- a simulated bank, built by dbt


def build_customers(settings: Settings) -> Path:
    """dbt run of the customer models (and their upstream) into a file of the data dir; their
    data tests run in every pipeline build (tests/test_pipeline.py). In a subprocess: dbt
    keeps its connection to the file open in its process, which could then not read it."""
    target = settings.root / "identity.duckdb"
    target.unlink(missing_ok=True)
    done = run_dbt(
        settings, target, "run", "--select", "+int_customer_versions +int_customer_xref", "--quiet", capture=True
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return target


def table_of(path: Path, name: str) -> pa.Table:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"select * from intermediate.{name}").to_arrow_table()
    finally:
        con.close()


Bank = tuple[Settings, pa.Table, pa.Table, pa.Table]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    """(settings, xref of a first build, xref of a second build, customer versions)."""
    from bankdw.pipeline import commit_step, gate_step, stage_step
    from simulator import SimulationConfig, simulate

    settings = load_settings(data_dir=tmp_path_factory.mktemp("identity") / "data")
    # default defect rates; big enough for each defect to occur several times
    simulate(SimulationConfig(out=settings.landing_dir, customers=400, days=5, start=date(2026, 11, 10), seed=11))
    report = stage_step(settings, None)
    gate_step(settings, report.run_id)
    commit_step(settings, report.run_id)
    first_build = build_customers(settings)
    first = table_of(first_build, "int_customer_xref")
    versions = table_of(first_build, "int_customer_versions")
    second = table_of(build_customers(settings), "int_customer_xref")
    return settings, first, second, versions


def test_merges_are_precise_and_complete_against_the_answer_key(bank: Bank) -> None:
    settings, xref, _, _ = bank
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
    con.register("xref", bank[1])
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
    truth = bank[0].landing_dir.parent / "_truth"
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


def test_keys_are_stable_from_one_build_to_the_next(bank: Bank) -> None:
    settings, first, second, _ = bank
    assert first.sort_by("source_key").equals(second.sort_by("source_key"))
    assert (settings.lake_dir / "_identity" / "customer_keys.parquet").exists()


def test_the_history_has_one_current_version_and_no_gaps_or_idle_versions(bank: Bank) -> None:
    con = duckdb.connect()
    con.register("versions", bank[3])
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
