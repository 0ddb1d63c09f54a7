"""Benchmark of identity resolution: quality on a simulated bank, speed on a million records.

    .venv/bin/python bench/bench_identity.py                      # both parts, defaults below
    .venv/bin/python bench/bench_identity.py --records 0          # quality part only
    .venv/bin/python bench/bench_identity.py --bank-customers 0   # scale part only

Part 1 (quality): simulates a bank with the default defect rates, loads it into a lake with
the pipeline's own stage/gate/commit/resolve steps, builds the customer models with dbt and prints
precision and recall of merges against the answer key (`_truth/persons.csv`), the web users
and calls left unresolved (and how many of them ambiguous), and the time of each step.

Part 2 (scale): N customer records generated straight into Arrow by vectorised numpy (the
simulator builds a whole bank around each customer and is far too slow for a million):
persons with names drawn from a pool of 40,000 (so tens of thousands share a name and hundreds
a name and birth date: look-alikes), 3% keyed a second time, half of those legacy records
without national id or e-mail and with the name in upper case, phones typed in six formats,
e-mails in mixed case with spaces, households sharing a phone. Then the same steps as the
warehouse: normalisation through the DuckDB UDFs, rules, splink, key assignment against
the registry (twice: a first run and a run that finds the registry), precision and recall.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models.identity.evaluate import merge_quality, with_evidence
from models.identity.keys import KeyRegistry
from models.identity.normalise import register_udfs
from models.identity.probabilistic import IdentityConfig
from models.identity.resolve import identify, write_identity

FAMILY = [f"Fam{i}" for i in range(100)]
GIVEN = [f"Given{i}" for i in range(400)]


def generated_records(n: int, seed: int = 1) -> tuple[pa.Table, np.ndarray]:
    """`n` raw customer records (the feed's identifying columns) and each one's person."""
    rng = np.random.default_rng(seed)
    n_extra = int(n * 0.03)
    n_persons = n - n_extra
    person = np.concatenate([np.arange(n_persons), rng.choice(n_persons, n_extra)])
    legacy = np.concatenate([np.zeros(n_persons, bool), rng.random(n_extra) < 0.5])

    family = np.asarray(FAMILY)[rng.integers(0, len(FAMILY), n_persons)]
    given = np.asarray(GIVEN)[rng.integers(0, len(GIVEN), n_persons)]
    names = pa.array(np.char.add(np.char.add(family, " "), given))
    birth = rng.integers(-7000, 14000, n_persons)  # days since 1970
    nid = pa.array(np.char.add("ID", np.arange(n_persons).astype(str)))
    mobile = 13000000000 + rng.permutation(n_persons)[:n_persons] * 7 % 999999999
    # households: 2% of persons share the phone of the person before them
    share = rng.random(n_persons) < 0.02
    share[0] = False
    mobile = np.where(share, np.roll(mobile, 1), mobile)
    has_phone = rng.random(n_persons) < 0.97
    has_email = rng.random(n_persons) < 0.65
    email = pa.array(np.char.add(np.char.add("p", np.arange(n_persons).astype(str)), "@qq.com"))
    address = pa.array(np.char.add("No. ", np.arange(n_persons).astype(str)))
    postal = pa.array(rng.integers(100000, 999999, n_persons).astype(str))

    take = pa.array(person)
    digits = pc.cast(pa.array(mobile[person]), pa.string())
    head, mid, tail = (pc.utf8_slice_codeunits(digits, a, b) for a, b in ((0, 3), (3, 7), (7, 11)))
    formats = [
        digits,
        pc.binary_join_element_wise("+86 ", head, "-", mid, "-", tail, ""),
        pc.binary_join_element_wise(head, " ", mid, " ", tail, ""),
        pc.binary_join_element_wise(head, "-", mid, "-", tail, ""),
        pc.binary_join_element_wise("+86", digits, ""),
        pc.binary_join_element_wise("0086 ", head, " ", mid, " ", tail, ""),
    ]
    variant = np.where(rng.random(n) < 0.35, rng.integers(1, 6, n), 0).astype(np.int8)
    phone = pc.choose(pa.array(variant), *formats)
    phone = pc.if_else(pa.array(has_phone[person]), phone, pa.scalar(None, pa.string()))
    mail = email.take(take)
    mail_variant = np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0).astype(np.int8)
    mail = pc.choose(
        pa.array(mail_variant),
        mail,
        pc.utf8_upper(mail),
        pc.utf8_title(mail),
        pc.binary_join_element_wise(" ", mail, ""),
    )
    mail = pc.if_else(pa.array(has_email[person] & ~legacy), mail, pa.scalar(None, pa.string()))
    name = names.take(take)
    name = pc.if_else(pa.array(legacy), pc.utf8_upper(name), name)
    table = pa.table(
        {
            "customer_id": pa.array(np.char.add("C", (100_000_000 + rng.permutation(n)).astype(str))),
            "customer_type": pa.array(["INDIVIDUAL"] * n),
            "national_id": pc.if_else(pa.array(legacy), pa.scalar(None, pa.string()), nid.take(take)),
            "full_name": name,
            "birth_date": pa.array(birth[person].astype("datetime64[D]")).cast(pa.date32()),
            "gender": pa.array(np.where(person % 2 == 0, "M", "F")),
            "phone": phone,
            "email": mail,
            "address": address.take(take),
            "postal_code": postal.take(take),
        }
    )
    return table, person


def scale(n: int, phone_region: str) -> None:
    t0 = time.perf_counter()
    raw, person = generated_records(n)
    print(f"generated {n:,} records in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    con = duckdb.connect()
    register_udfs(con, phone_region)
    con.register("raw", raw)
    records = con.sql(
        """
        select customer_id, customer_type, bankdw_national_id(national_id) as national_id,
               bankdw_name_fold(full_name) as name_fold, birth_date, gender,
               bankdw_phone_e164(phone) as phone_e164, bankdw_email(email) as email,
               bankdw_name_fold(address) as address_fold, postal_code
        from raw
        """
    ).to_arrow_table()
    normalise_s = time.perf_counter() - t0
    print(f"normalised (DuckDB UDFs: phonenumbers, e-mail, names) in {normalise_s:.1f}s")

    with tempfile.TemporaryDirectory() as state:
        t0 = time.perf_counter()
        first = identify(records, KeyRegistry(Path(state)), date(2026, 11, 21), IdentityConfig())
        write_identity(first, Path(state))
        keyed = first.keyed
        first_s = time.perf_counter() - t0
        print(f"resolved and keyed (first run, empty registry) in {first_s:.1f}s")
        t0 = time.perf_counter()
        again = identify(records, KeyRegistry(Path(state)), date(2026, 11, 22), IdentityConfig()).keyed
        second_s = time.perf_counter() - t0
        print(f"resolved and keyed (next run, registry of {n:,} records) in {second_s:.1f}s")
        assert again.column("customer_key").equals(keyed.column("customer_key")), "keys moved between runs"

    truth_path = Path(tempfile.mkdtemp()) / "persons.csv"
    ids = raw.column("customer_id")
    con.register(
        "truth",
        pa.table(
            {
                "source_system": pa.array(["core_banking"] * n),
                "source_table": pa.array(["customers"] * n),
                "source_key": ids,
                "person_id": pa.array(person.astype(str)),
            }
        ),
    )
    con.execute(f"copy truth to '{truth_path}' (header)")
    xref = pa.table(
        {
            "source_system": pa.array(["core_banking"] * n),
            "source_table": pa.array(["customers"] * n),
            "source_key": keyed.column("customer_id"),
            "customer_key": keyed.column("customer_key"),
            "match_rule": keyed.column("match_rule"),
        }
    )
    quality = merge_quality(xref, truth_path)
    rules = con.sql("select match_rule, count(*) from xref group by 1 order by 1").fetchall()
    print("\n".join(quality.lines()[:2]))
    print("rules: " + ", ".join(f"{r} {c:,}" for r, c in rules))
    total = normalise_s + first_s
    print(f"TOTAL {n:,} records: normalise + resolve + key {total:.1f}s ({total / 60:.1f} min)")


def bank_quality(customers: int, days: int) -> None:
    from bankdw.config import load_settings
    from bankdw.pipeline import commit_step, gate_step, resolve_step, stage_step
    from bankdw.warehouse import run_dbt
    from simulator import SimulationConfig, simulate

    settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-identity-")) / "data")
    t0 = time.perf_counter()
    simulate(SimulationConfig(out=settings.landing_dir, customers=customers, days=days))
    report = stage_step(settings, None)
    gate_step(settings, report.run_id)
    commit_step(settings, report.run_id)
    print(
        f"simulated and loaded a bank of {customers:,} customer records, {days} days in {time.perf_counter() - t0:.1f}s"
    )

    t0 = time.perf_counter()
    resolve_step(settings, report.run_id)
    print(f"resolve step (read and normalise the records, resolve, key) in {time.perf_counter() - t0:.1f}s")
    target = settings.root / "identity.duckdb"
    t0 = time.perf_counter()
    if run_dbt(settings, target, "run", "--select", "+int_customer_xref", "--quiet", build_area=True).returncode:
        raise SystemExit("dbt run of the customer models failed")
    print(f"dbt run of the customer models (web users, calls, xref) in {time.perf_counter() - t0:.1f}s")
    con = duckdb.connect(str(target), read_only=True)
    xref = con.sql("select * from intermediate.int_customer_xref").to_arrow_table()
    truth = settings.landing_dir.parent / "_truth"
    everything = merge_quality(xref, truth / "persons.csv")
    evidence = merge_quality(with_evidence(xref, truth / "defects.csv"), truth / "persons.csv")
    core = merge_quality(xref, truth / "persons.csv", ("customers",))
    print("all records (core customers, web users, calls):")
    print("\n".join("  " + line for line in everything.lines()))
    print("without the calls that carry no evidence by construction (unknown or shared numbers, no IVR):")
    print("\n".join("  " + line for line in evidence.lines()[:2]))
    print("core customer records only:")
    print("\n".join("  " + line for line in core.lines()[:2]))
    rules = con.sql("select source_table, match_rule, count(*) from xref group by all order by all").fetchall()
    print("rules: " + ", ".join(f"{t}/{r} {c:,}" for t, r, c in rules))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bank-customers", type=int, default=3000, help="simulated bank for quality (0: skip)")
    parser.add_argument("--bank-days", type=int, default=30)
    parser.add_argument("--records", type=int, default=1_000_000, help="generated records for speed (0: skip)")
    parser.add_argument("--phone-region", default="CN")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("models.identity").setLevel(logging.INFO)  # and its modules
    if args.bank_customers:
        bank_quality(args.bank_customers, args.bank_days)
    if args.records:
        scale(args.records, args.phone_region)


if __name__ == "__main__":
    main()
