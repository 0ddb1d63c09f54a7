"""What readers may see: the published file, the Parquet exports and the served warehouse.

Readers, and what each may see of a column the dbt project tags `meta: {pii: true}`:
- the analyst: the login `analyst` of the served warehouse and the exports' mart folders
  (`<data>/exports/<mart>/`): masked;
- the steward: the login `steward`, the published DuckDB file and `<data>/exports/_steward/`: unmasked;
- a relationship manager (`rm_<rm_id>`): their own customers only, unmasked.

The server is a real PostgreSQL (the `pgserver` wheel's), started by this module on a free
port over a copy of the shared published bank; it is queried with psycopg and the `psql` the
wheel ships.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from bankdw.config import Settings, load_settings
from bankdw.exports import (
    MANIFEST,
    STEWARD,
    by_month,
    current_export,
    day_columns,
    exports_store,
    month_columns,
    month_sql,
    part_digests,
    pii_columns,
    switch_to,
    write_exports,
)
from bankdw.postgres import pg_bin
from bankdw.publish import published_state_path, version_path
from bankdw.serve import Cluster, credentials, credentials_path, refresh_if_newer, running
from bankdw.serve import password as served_password
from tests.conftest import PublishedBank, free_port

PII_NAME = re.compile(r"national|phone|e_?mail|address|birth|full_name|first_name|last_name")
"""Column names that say PII: each such column of a public mart must be tagged (but the RM's
own name, dim_relationship_manager.full_name: staff, not customers)."""
STAFF = {("dim_relationship_manager", "full_name")}


@pytest.fixture(scope="module")
def served(
    published_bank: PublishedBank, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Cluster]]:
    settings = published_bank.copy(tmp_path_factory.mktemp("served") / "data")
    with running(settings, free_port()) as cluster:
        yield settings, cluster


def _connect(cluster: Cluster, login: str, password: str | None = None) -> psycopg.Connection[Any]:
    if password is None:
        password = served_password(cluster.settings, login)
    return psycopg.connect(
        host="127.0.0.1", port=cluster.port, user=login, password=password, dbname="bank", autocommit=True
    )


def _passwords(cluster: Cluster) -> dict[str, str]:
    import tomllib

    return tomllib.loads(credentials_path(cluster.settings).read_text(encoding="utf-8"))


def _published(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(query).fetchall()


def _rms(settings: Settings) -> dict[str, set[str]]:
    rows = _published(settings, "select rm_id, customer_key from marts.bridge_customer_relationship_manager")
    mine: dict[str, set[str]] = {}
    for rm, key in rows:
        mine.setdefault(rm, set()).add(key)
    return mine


# ---------------------------------------------------------------------------------------- the files


def test_the_published_file_holds_what_readers_may_see(published_bank: PublishedBank) -> None:
    settings = published_bank.settings
    schemas = {row[0] for row in _published(settings, "select schema_name from duckdb_tables()")}
    views = _published(settings, "select view_name from duckdb_views() where not internal")
    assert schemas == {"marts", "audit", "assumptions"}
    assert views == []  # no staging view naming the lake's paths
    comments = _published(settings, "select comment from duckdb_tables() where table_name = 'dim_customer'")
    assert comments[0][0]  # the marts' documentation travels with them
    # the whole build, which the next build starts from, is kept beside it and never published
    state = published_state_path(settings)
    assert state != settings.warehouse_path and not state.samefile(settings.warehouse_path)
    with duckdb.connect(str(state), read_only=True) as con:
        inside = {row[0] for row in con.sql("select schema_name from duckdb_tables()").fetchall()}
    assert {"intermediate", "marts"} <= inside


def test_every_pii_column_of_a_mart_is_tagged_and_masked_in_the_analysts_exports(published_bank: PublishedBank) -> None:
    settings = published_bank.settings
    tagged = pii_columns(settings.root / "dbt" / "target" / "manifest.json")
    columns = _published(
        settings,
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts' and data_type <> 'BOOLEAN'",
    )
    looks_pii = {(t, c) for t, c in columns if PII_NAME.search(c)} - STAFF
    assert looks_pii and looks_pii <= {(t, c) for t, cols in tagged.items() for c in cols}
    export = current_export(settings)
    assert export is not None
    for mart, masks in tagged.items():
        with duckdb.connect() as con:
            for column, mask in masks.items():
                analyst = f"read_parquet('{export.path / mart}/**/*.parquet', hive_partitioning = false)"
                steward = f"read_parquet('{export.path / STEWARD / mart}/**/*.parquet', hive_partitioning = false)"
                seen = {row[0] for row in con.sql(f'select distinct "{column}" from {analyst}').fetchall()}
                raw = {row[0] for row in con.sql(f'select distinct "{column}" from {steward}').fetchall()}
                if mask == "year":
                    assert all(v is None or (v.month, v.day) == (1, 1) for v in seen)
                    assert any(v is not None and (v.month, v.day) != (1, 1) for v in raw)
                else:
                    assert seen <= {"***", None} and len(raw) > 2


def test_the_exports_hold_every_mart_with_its_rows_and_build(published_bank: PublishedBank) -> None:
    settings = published_bank.settings
    export = current_export(settings)
    assert export is not None and export.run_id == published_bank.report.run_id
    assert (settings.root / "exports").is_symlink()
    counts = dict(
        _published(settings, "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'")
    )
    assert set(export.manifest["marts"]) == set(counts)
    split = month_columns(settings.root / "dbt" / "target" / "manifest.json")
    assert split["fct_account_balance_daily"] == "business_date" and split["fct_churn_scores"] == "score_date"
    with duckdb.connect() as con:
        for mart, info in export.manifest["marts"].items():
            files = f"read_parquet('{export.path / mart}/**/*.parquet', hive_partitioning = false)"
            assert con.sql(f"select count(*) from {files}").fetchone() == (info["rows"],)
            assert _published(settings, f"select count(*) from marts.{mart}")[0][0] == info["rows"]
            if mart.endswith("_monthly") or mart in split:
                assert info["partitioned_by"] == "month" and info["month_column"] == split.get(mart, "month_start")
                months = {p.name for p in (export.path / mart).iterdir()}
                if info["rows"]:  # one folder a month; a mart without rows: one file of its columns
                    assert months and all(re.fullmatch(r"month=\d{4}-\d{2}", m) for m in months), months
                else:
                    assert months == {"data_0.parquet"}


def test_a_dated_mart_is_exported_a_file_a_day_and_an_export_writes_the_days_that_changed(
    published_bank: PublishedBank, tmp_path: Path
) -> None:
    # given a copy of the shared bank's published file, exported with its dated marts a file a day
    settings = published_bank.copy(tmp_path / "data")
    manifest = settings.root / "dbt" / "target" / "manifest.json"
    pii, split, days = pii_columns(manifest), month_columns(manifest), day_columns(manifest)
    warehouse = tmp_path / "bank.duckdb"
    shutil.copyfile(version_path(settings, published_bank.report.run_id), warehouse)
    warehouse.chmod(0o600)
    first = write_exports(settings, "20991230T000000000000Z", warehouse, pii, split, days=days)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        query = "select distinct cast(business_date as varchar) from marts.fct_transactions order by 1"
        dates = [day for (day,) in con.sql(query).fetchall()]
    postings = first.path / "fct_transactions"
    assert len(dates) > 2 and first.manifest["marts"]["fct_transactions"]["day_column"] == "business_date"
    assert sorted(path.relative_to(postings).as_posix() for path in postings.rglob("*.parquet")) == [
        f"month={day[:7]}/data_{day}.parquet" for day in dates
    ]
    # (the recent balances, exported whole, a file a day in their own folder)
    recent = {path.name for path in (first.path / "fct_account_balance_daily_recent").iterdir()}
    assert recent and all(re.fullmatch(r"data_\d{4}-\d{2}-\d{2}\.parquet", name) for name in recent), recent
    files = {path.relative_to(first.path): path.stat().st_ino for path in first.path.rglob("*.parquet")}
    # when one posting of the day before the latest is corrected, and the warehouse exported again
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_transactions set amount = amount + 1 where txn_id = (select max(txn_id) "
            f"from marts.fct_transactions where business_date = date '{dates[-2]}')"
        )
        [(total,)] = con.sql("select sum(amount) from marts.fct_transactions").fetchall()
        monthly = part_digests(con, "marts.fct_transactions", month_sql("business_date"))
    second = write_exports(settings, "20991231T000000000000Z", warehouse, pii, split, days=days)
    # then only that day's file was written again: every other is the first export's
    again = {path.relative_to(second.path): path.stat().st_ino for path in second.path.rglob("*.parquet")}
    assert again.keys() == files.keys()
    written = {path.as_posix() for path in again if again[path] != files[path]}
    assert written == {f"fct_transactions/month={dates[-2][:7]}/data_{dates[-2]}.parquet"}, written
    # and the export holds the corrected posting, each month's digest the sum of its days' (as a
    # month measured whole)
    with duckdb.connect() as con:
        exported = con.sql(f"select sum(amount) from read_parquet('{second.path}/fct_transactions/**/*.parquet')")
        assert exported.fetchall() == [(total,)]
    info = second.manifest["marts"]["fct_transactions"]
    assert info["parts"] == by_month(info["days"], True) == monthly


def test_an_export_writes_again_only_the_months_that_changed(published_bank: PublishedBank, tmp_path: Path) -> None:
    # given a copy of the shared bank (its days all in November) whose first day's postings were
    # dated a month earlier, exported
    settings = published_bank.copy(tmp_path / "data")
    manifest = settings.root / "dbt" / "target" / "manifest.json"
    pii, split = pii_columns(manifest), month_columns(manifest)
    warehouse = tmp_path / "bank.duckdb"
    shutil.copyfile(version_path(settings, published_bank.report.run_id), warehouse)
    warehouse.chmod(0o600)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_transactions set business_date = cast(business_date - interval 1 month as date) "
            "where business_date = (select min(business_date) from marts.fct_transactions)"
        )
    first = write_exports(settings, "20991230T000000000000Z", warehouse, pii, split)
    assert sorted(p.name for p in (first.path / "fct_transactions").iterdir()) == ["month=2026-10", "month=2026-11"]
    files = {path.relative_to(first.path): path.stat().st_ino for path in first.path.rglob("*.parquet")}
    # when one posting of November is corrected, and the warehouse exported again
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_transactions set amount = amount + 1 where txn_id = "
            "(select max(txn_id) from marts.fct_transactions where business_date >= date '2026-11-01')"
        )
        [(total,)] = con.sql("select sum(amount) from marts.fct_transactions").fetchall()
    second = write_exports(settings, "20991231T000000000000Z", warehouse, pii, split)
    # then only November's postings were written again: October's, and every other mart's files,
    # are the first export's
    again = {path.relative_to(second.path): path.stat().st_ino for path in second.path.rglob("*.parquet")}
    assert again.keys() == files.keys()
    written = {str(path) for path in again if again[path] != files[path]}
    assert written and all(path.endswith("fct_transactions/month=2026-11/data_0.parquet") for path in written), written
    # and they hold the corrected posting
    with duckdb.connect() as con:
        exported = con.sql(f"select sum(amount) from read_parquet('{second.path}/fct_transactions/**/*.parquet')")
        assert exported.fetchall() == [(total,)]
    assert second.manifest["marts"]["fct_transactions"]["parts"].keys() == {"2026-10", "2026-11"}
    # and a folder of the export before whose file is gone is written again, not linked
    (second.path / "dim_branch" / "data_0.parquet").unlink()
    third = write_exports(settings, "20991231T000000000001Z", warehouse, pii, split)
    with duckdb.connect() as con:
        rows = con.sql(f"select count(*) from '{third.path}/dim_branch/data_0.parquet'").fetchall()
    assert rows == [(third.manifest["marts"]["dim_branch"]["rows"],)] and rows[0][0] > 0


# ---------------------------------------------------------------------------------------- the server


def test_credentials_are_generated_once_owner_only(served: tuple[Settings, Cluster]) -> None:
    settings, _ = served
    path = credentials_path(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    stored = _passwords(served[1])
    assert {"analyst", "steward"} | {f"rm_{rm}" for rm in _rms(settings)} <= set(stored)
    assert credentials(settings, sorted(_rms(settings))) == {
        k: stored[k] for k in credentials(settings, sorted(_rms(settings)))
    }


def test_a_logins_password_is_the_setting_else_the_generated_one(tmp_path: Path) -> None:
    # given a data dir whose server generated its passwords, one RM's given by the settings
    settings = load_settings(data_dir=tmp_path / "data", serve_rm_passwords={"RM0002": "given"})
    assert served_password(settings, "analyst") is None  # nothing generated yet, and it generates nothing
    generated = credentials(settings, ["RM0001", "RM0002"])
    # when / then a client reads each login's password as the server has it
    assert served_password(settings, "analyst") == generated["analyst"]
    assert served_password(settings, "rm_RM0001") == generated["rm_RM0001"]
    assert served_password(settings, "rm_RM0002") == generated["rm_RM0002"] == "given"
    assert served_password(settings, "rm_RM0003") is None
    assert served_password(load_settings(data_dir=settings.root, serve_analyst_password="set"), "analyst") == "set"


def test_a_wrong_password_or_an_unknown_login_is_refused(served: tuple[Settings, Cluster]) -> None:
    _, cluster = served
    for login, password in (("analyst", "wrong"), ("steward", ""), ("postgres", "x"), ("bankdw_admin", "x")):
        with pytest.raises(psycopg.OperationalError):
            _connect(cluster, login, password or "nothing")


def test_the_steward_sees_every_mart_unmasked(served: tuple[Settings, Cluster]) -> None:
    settings, cluster = served
    with _connect(cluster, "steward") as con:
        for mart in ("dim_customer", "fct_transactions", "fct_leads", "dim_branch"):
            assert (
                con.execute(f"select count(*) from marts.{mart}").fetchone()
                == _published(settings, f"select count(*) from marts.{mart}")[0]
            )
        names = con.execute("select customer_key, full_name, birth_date from marts.dim_customer").fetchall()
    assert sorted(names) == sorted(
        _published(settings, "select customer_key, full_name, birth_date from marts.dim_customer")
    )


def test_the_analyst_sees_every_row_with_pii_masked(served: tuple[Settings, Cluster]) -> None:
    settings, cluster = served
    with _connect(cluster, "analyst") as con:
        rows = con.execute("select customer_key, full_name, birth_date from marts.customer_360").fetchall()
        amounts = con.execute("select sum(contribution) from marts.fct_customer_profitability_monthly").fetchone()
    expected = _published(settings, "select customer_key, birth_date from marts.customer_360")
    assert len(rows) == len(expected)
    born = dict(expected)
    for key, name, birth in rows:
        assert name in ("***", None)
        assert birth == (None if born[key] is None else date(born[key].year, 1, 1))
    assert amounts == _published(settings, "select sum(contribution) from marts.fct_customer_profitability_monthly")[0]


def _rls_marts(settings: Settings) -> list[tuple[str, str]]:
    """(mart, column) of every customer-level mart: by customer or by household."""
    rows = _published(
        settings,
        "select table_name, list(column_name) from duckdb_columns() where schema_name = 'marts' group by all",
    )
    return [
        (t, "customer_key" if "customer_key" in cols else "household_key")
        for t, cols in rows
        if "customer_key" in cols or "household_key" in cols
    ]


def test_an_rm_sees_only_their_customers_in_every_customer_level_mart(served: tuple[Settings, Cluster]) -> None:
    settings, cluster = served
    rms = _rms(settings)
    rm, mine = max(rms.items(), key=lambda item: len(item[1]))
    households = {
        row[0]
        for row in _published(settings, "select household_key, customer_key from marts.customer_360")
        if row[1] in mine
    }
    with _connect(cluster, f"rm_{rm}") as con:
        for mart, column in _rls_marts(settings):
            seen = con.execute(f"select {column}, count(*) from marts.{mart} group by 1").fetchall()
            allowed = mine if column == "customer_key" else households
            columns = [r[0] for r in _published(settings, f"describe marts.{mart}")]
            own = f"or rm_id = '{rm}'" if "rm_id" in columns else ""
            keys = ", ".join(f"'{k}'" for k in allowed) or "null"
            expected = _published(
                settings, f"select {column}, count(*) from marts.{mart} where {column} in ({keys}) {own} group by 1"
            )
            assert sorted(seen, key=str) == sorted(expected, key=str), mart
        # their leads: every lead of their customers or assigned to them, and no other
        leads = con.execute("select count(*) from marts.fct_leads").fetchone()
        assert (
            leads
            == _published(
                settings,
                f"select count(*) from marts.fct_leads where rm_id = '{rm}' or customer_key in ({keys})",
            )[0]
        )
        # the full names of their own customers, unmasked
        names = con.execute("select full_name from marts.dim_customer where full_name is not null").fetchall()
        assert names and all(n[0] != "***" for n in names)


def test_an_rm_cannot_read_another_rms_customer_by_any_query(served: tuple[Settings, Cluster]) -> None:
    settings, cluster = served
    rms = _rms(settings)
    rm, mine = next(iter(sorted(rms.items())))
    theirs = sorted(set().union(*(keys for other, keys in rms.items() if other != rm)) - mine)
    assert theirs
    other = theirs[0]
    other_name = _published(settings, f"select full_name from marts.dim_customer where customer_key = '{other}'")[0][0]
    own_name = _published(
        settings, f"select full_name from marts.dim_customer where customer_key = '{sorted(mine)[0]}'"
    )[0][0]
    with _connect(cluster, f"rm_{rm}") as con:
        # a direct select, a join, an aggregate, a subquery through an unrestricted mart
        assert con.execute("select * from marts.dim_customer where customer_key = %s", [other]).fetchall() == []
        assert con.execute(
            "select count(*) from marts.dim_account a join marts.fct_transactions t using (account_id)"
            " where a.customer_key = %s or t.customer_key = %s",
            [other, other],
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from marts.bridge_customer_relationship_manager where rm_id <> %s", [rm]
        ).fetchone() == (0,)
        # a predicate that fails on the row it looks for: it never sees another RM's row, so never fails
        for column, value in (("customer_key", other), ("full_name", other_name)):
            probe = f"select count(*) from marts.dim_customer where case when {column} = %s then 1 / (length({column}) - length({column})) else 1 end = 1"
            assert con.execute(probe, [value]).fetchone() == (len(mine),)
        with pytest.raises(psycopg.errors.DivisionByZero):  # as it does on a row the RM may read
            con.execute(probe, [sorted(mine)[0] if column == "customer_key" else own_name])
        # the tables under the views, the map of customers, the statistics, other roles
        schemas = [r[0] for r in con.execute("select nspname from pg_namespace where nspname like 'w\\_%'").fetchall()]
        assert schemas
        for query in (
            f"select * from {schemas[0]}.dim_customer",
            f"select * from {schemas[0]}.rm_customers",
            "set role analyst",
            "set role bankdw_all_customers",
            "set role bankdw_owner",
            "create table public.x (a int)",
            "create function pg_temp.leak(text) returns boolean language sql as 'select true'",
            "create temporary table mine (a int)",
            "create schema mine",
            f"alter view marts.dim_customer owner to rm_{rm}",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(query)
        stats = con.execute("select count(*) from pg_stats where schemaname like 'w\\_%' or schemaname = 'marts'")
        assert stats.fetchone() == (0,)


def test_psql_logs_in_as_each_role(served: tuple[Settings, Cluster]) -> None:
    settings, cluster = served
    passwords = _passwords(cluster)
    rm = sorted(_rms(settings))[0]

    def psql(login: str, password: str, query: str) -> subprocess.CompletedProcess[str]:
        url = f"postgresql://{login}@127.0.0.1:{cluster.port}/bank"
        return subprocess.run(
            [pg_bin("psql"), url, "-AtX", "-c", query],
            env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )

    count = "select count(*) from marts.dim_customer"
    total = _published(settings, count)[0][0]
    assert psql("analyst", passwords["analyst"], count).stdout.strip() == str(total)
    assert psql("steward", passwords["steward"], count).stdout.strip() == str(total)
    assert psql(f"rm_{rm}", passwords[f"rm_{rm}"], count).stdout.strip() == str(len(_rms(settings)[rm]))
    refused = psql("analyst", "wrong", count)
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr


def test_a_query_during_a_refresh_answers_from_one_version(served: tuple[Settings, Cluster], tmp_path: Path) -> None:
    settings, cluster = served
    export = current_export(settings)
    assert export is not None
    # given a second export: the same build without half its customers, in two marts
    second = exports_store(settings) / "second"
    shutil.copytree(export.path, second)
    with duckdb.connect() as con:
        for mart in ("dim_customer", "customer_360"):
            for folder in (second / mart, second / STEWARD / mart):
                half = tmp_path / "half.parquet"
                con.execute(
                    f"copy (select * from read_parquet('{folder}/*.parquet') where hash(customer_key) % 2 = 0)"
                    f" to '{half}' (format parquet)"
                )
                shutil.rmtree(folder)
                folder.mkdir()
                half.replace(folder / "data_0.parquet")
    manifest = json.loads((second / MANIFEST).read_text(encoding="utf-8"))
    manifest["build_id"] = "second"
    (second / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    query = "select (select count(*) from marts.dim_customer), (select count(*) from marts.customer_360)"
    with _connect(cluster, "analyst") as pg:
        before = pg.execute(query).fetchone()
    # when it is published (the exports' link switched) and the server, watching, loads it while a
    # reader queries both marts in one statement, again and again
    answers: list[tuple[Any, ...] | None] = []
    errors: list[psycopg.Error] = []
    done = threading.Event()

    def reader() -> None:
        try:
            with _connect(cluster, "analyst") as reading:
                while not done.is_set():
                    answers.append(reading.execute(query).fetchone())
        except psycopg.Error as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert switch_to(settings, "second") is not None
        assert refresh_if_newer(cluster, export.run_id) == "second"
        with _connect(cluster, "analyst") as pg:
            after = pg.execute(query).fetchone()
    finally:
        done.set()
        thread.join()
        switch_to(settings, export.run_id)  # the module's other tests read the published build
        assert refresh_if_newer(cluster, "second") == export.run_id
    # then every answer is one version's, whole
    assert errors == []
    assert before is not None and after is not None and before != after
    assert before[0] == before[1] and after[0] == after[1]
    assert set(answers) <= {before, after} and before in answers
