"""The served warehouse: the public marts in a real PostgreSQL server, with logins and roles.

`bankdw serve` runs PostgreSQL from the `pgserver` wheel (the server's binaries ship inside
the package: no system install, nothing downloaded) on 127.0.0.1:`serve_port`, in the
foreground until stopped, with its cluster under `<data>/serve/pgdata/`. It loads the marts
from the Parquet exports (`bankdw.exports`) and loads them again whenever a newer export is
published (it watches the export's build id, `WATCH_SECONDS`).

Who sees what (docs/serving.md):

- `analyst`: every public mart; the columns the dbt project tags PII masked (`exports.mask_sql`).
- `steward`: every public mart, unmasked.
- `rm_<rm_id>`: every public mart, but of the customer-level ones only the rows of the RM's own
  customers (`bridge_customer_relationship_manager`), their households, their leads and their
  own scorecards: row-level security on the tables, which no query of theirs can get around.

How: the marts' tables are loaded into a schema of their own per build (`w_<build>`), owned by a
role that is not a superuser (`bankdw_owner`, so that its row-level security policies apply:
`FORCE ROW LEVEL SECURITY`), to which no login has any privilege. Readers query the views of
schema `marts` (owned by `bankdw_owner`; they mask by membership of `bankdw_masked`), which read
those tables through the policies, evaluated for the user who queries (`current_user`). The
tables keep no planner statistics (autovacuum off, never analysed): an estimate could otherwise
hint at a value an RM may not read.

A refresh loads the new build into new schemas (`w_<build>`, views in `marts_<build>`), then in
one short transaction renames `marts` away and the new views' schema to `marts`; the old schemas
are dropped afterwards (waiting for queries still reading them). A query therefore reads one
build or the other, never a mix.

Passwords (SCRAM) come from the settings, or are generated on first use into
`<data>/serve/credentials.toml` (mode 0600). The server's own administrator `bankdw_admin` logs in
only through the server's Unix socket, in a folder only the server's user may open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql
from pydantic import SecretStr

from bankdw.config import Settings
from bankdw.exports import MANIFEST, STEWARD, current_export, exports_link, mask_sql
from bankdw.postgres import Server
from extract.sql import literal, path_pattern

log = logging.getLogger(__name__)

ADMIN = "bankdw_admin"
OWNER = "bankdw_owner"
READER = "bankdw_reader"
ALL_CUSTOMERS = "bankdw_all_customers"
MASKED = "bankdw_masked"
RM_GROUP = "bankdw_rm"
DATABASE = "bank"
WATCH_SECONDS = 5.0
"""How often the server looks for a newer export."""
RM_MAP = "rm_customers"
"""In each build's schema: customer_key, household_key, rm_id, login: whose customers each RM login sees."""
NO_RLS = ("dim_relationship_manager",)
"""Customer-free marts that name RMs: the RM directory, which every reader may see."""

_LOGIN = re.compile(r"^[A-Za-z0-9_]+$")


def serve_dir(settings: Settings) -> Path:
    return settings.root / "serve"


def credentials_path(settings: Settings) -> Path:
    return serve_dir(settings) / "credentials.toml"


def rm_login(rm_id: str) -> str:
    login = f"rm_{rm_id}"
    if not _LOGIN.match(login):
        raise ValueError(f"RM id {rm_id!r} makes no plain login name (letters, digits and _ only)")
    return login


def _given(settings: Settings) -> dict[str, SecretStr | None]:
    """The passwords the settings give, by login."""
    given = {"analyst": settings.serve_analyst_password, "steward": settings.serve_steward_password}
    return given | {rm_login(rm): secret for rm, secret in settings.serve_rm_passwords.items()}


def _stored(settings: Settings) -> dict[str, str]:
    path = credentials_path(settings)
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def password(settings: Settings, login: str) -> str | None:
    """The password of `login` as the server has it: the setting, else `credentials.toml`;
    None when neither holds it (the server generates it when it first starts: `credentials`).

    What a client of the served warehouse (the dashboards) logs in with; never generates one.
    """
    secret = _given(settings).get(login)
    if secret is not None:
        return secret.get_secret_value()
    return _stored(settings).get(login)


def credentials(settings: Settings, rm_ids: list[str]) -> dict[str, str]:
    """The password of every login: from the settings, else from `credentials.toml`, else a new
    one (written there, mode 0600)."""
    path = credentials_path(settings)
    stored, given = _stored(settings), _given(settings)
    wanted = ["analyst", "steward", *(rm_login(rm) for rm in sorted(rm_ids))]
    passwords, generated = {}, {}
    for login in wanted:
        secret = given.get(login)
        if secret is not None:
            passwords[login] = secret.get_secret_value()
        elif login in stored:
            passwords[login] = stored[login]
        else:
            passwords[login] = generated[login] = secrets.token_urlsafe(18)
    if generated:
        keep = {**stored, **generated}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Passwords of the served warehouse's logins (bankdw serve; docs/serving.md)\n")
            handle.writelines(f"{login} = {json.dumps(secret)}\n" for login, secret in sorted(keep.items()))
        partial.replace(path)
        log.info("generated passwords for %s into %s", ", ".join(sorted(generated)), path)
    return passwords


# ---------------------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """The served warehouse's PostgreSQL cluster under `<data>/serve/pgdata/`, running in a child
    process (`bankdw.postgres.Server`): its administrator by the private socket only, readers by
    password on 127.0.0.1."""

    settings: Settings
    port: int
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        serve = serve_dir(self.settings)
        self.server = Server(
            pgdata=serve / "pgdata",
            socket_dir=serve / "socket",
            port=self.port,
            admin=ADMIN,
            hba=(
                "# bankdw serve: the administrator by the private socket only; readers by password on 127.0.0.1\n"
                f"host {DATABASE} analyst,steward,+{RM_GROUP} 127.0.0.1/32 scram-sha-256\n"
                "host all all 0.0.0.0/0 reject\nhost all all ::/0 reject\n"
            ),
            log_file=serve / "postgres.log",
            options=("password_encryption=scram-sha-256", "autovacuum=off", "log_min_messages=warning"),
        )

    @property
    def pgdata(self) -> Path:
        return self.server.pgdata

    @property
    def socket_dir(self) -> Path:
        return self.server.socket_dir

    def start(self) -> None:
        self.server.start()

    def admin(self, dbname: str = DATABASE) -> psycopg.Connection[Any]:
        return self.server.connect(dbname)

    def stop(self) -> None:
        self.server.stop()


# ---------------------------------------------------------------------------------------- loading

_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "HUGEINT": "numeric",
}


def _pg_type(duck: str) -> str:
    if duck.startswith("DECIMAL"):
        return duck.replace("DECIMAL", "numeric")
    if duck.endswith("[]"):
        return "text"  # a list arrives as its text
    return _TYPES.get(duck, "text")


def _files(export: Path, mart: str) -> str:
    steward = export / STEWARD / mart
    folder = steward if steward.is_dir() else export / mart
    return literal(path_pattern(folder, "**/*.parquet"))


def _setup_roles(con: psycopg.Connection[Any], passwords: dict[str, str]) -> None:
    existing = {row[0] for row in con.execute("select rolname from pg_roles").fetchall()}
    for role in (OWNER, READER, ALL_CUSTOMERS, MASKED, RM_GROUP):
        if role not in existing:
            con.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    con.execute(sql.SQL("alter database {} owner to {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER)))
    con.execute("revoke all on schema public from public")
    con.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(DATABASE)))
    con.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(DATABASE), sql.Identifier(READER)))
    groups = {"analyst": [ALL_CUSTOMERS, MASKED], "steward": [ALL_CUSTOMERS]}
    for login, secret in passwords.items():
        verb = "alter" if login in existing else "create"
        con.execute(sql.SQL(verb + " role {} login password {}").format(sql.Identifier(login), sql.Literal(secret)))
        for role in [READER, *groups.get(login, [RM_GROUP])]:
            # inherit the role's rights, but never `set role` to it: a login stays who it is
            con.execute(
                sql.SQL("grant {} to {} with inherit true, set false").format(
                    sql.Identifier(role), sql.Identifier(login)
                )
            )


def load(cluster: Cluster, export: Path, passwords: dict[str, str] | None = None) -> str:
    """Load the export at `export` into new schemas and swap them in as `marts`; returns the build id."""
    manifest = json.loads((export / MANIFEST).read_text(encoding="utf-8"))
    build = str(manifest["build_id"])
    suffix = re.sub(r"[^a-z0-9]", "_", build.lower())
    tables, views = f"w_{suffix}", f"marts_{suffix}"
    rm_ids = _rm_ids(export)
    passwords = passwords or credentials(cluster.settings, rm_ids)
    with cluster.admin("postgres") as con:
        if not con.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone():
            con.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    with cluster.admin() as con:
        _setup_roles(con, passwords)
        con.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(tables)))
        con.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(views)))
        con.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(tables), sql.Identifier(OWNER)))
        con.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(views), sql.Identifier(OWNER)))
        con.execute(sql.SQL("set role {}").format(sql.Identifier(OWNER)))
        duck = duckdb.connect()
        try:
            for mart in manifest["marts"]:
                _load_table(con, duck, tables, mart, _files(export, mart))
            _load_rm_map(con, tables)
            for mart, info in manifest["marts"].items():
                _secure(con, tables, mart, info["columns"])
                _view(con, tables, views, mart, info["columns"], info.get("pii", {}))
        finally:
            duck.close()
        con.execute("reset role")
        con.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(views), sql.Identifier(READER)))
        con.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(
                sql.Identifier(views), sql.Identifier(READER)
            )
        )
        old = [
            row[0] for row in con.execute("select nspname from pg_namespace where nspname ~ '^(w|marts)_'").fetchall()
        ]
        with con.transaction():  # the swap: readers resolve `marts` to one build or the other
            if con.execute("select 1 from pg_namespace where nspname = 'marts'").fetchone():
                con.execute(sql.SQL("alter schema marts rename to {}").format(sql.Identifier(f"{views}_old")))
            con.execute(sql.SQL("alter schema {} rename to marts").format(sql.Identifier(views)))
        for schema in [*(s for s in old if s not in (tables, views)), f"{views}_old"]:
            con.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    log.info("serving build %s (%d marts)", build, len(manifest["marts"]))
    return build


def _rm_ids(export: Path) -> list[str]:
    files = _files(export, "bridge_customer_relationship_manager")
    with duckdb.connect() as duck:
        rows = duck.sql(f"select distinct rm_id from read_parquet({files}) where rm_id is not null").fetchall()
    return sorted(str(row[0]) for row in rows)


def _load_table(
    con: psycopg.Connection[Any], duck: duckdb.DuckDBPyConnection, schema: str, mart: str, files: str
) -> None:
    source = f"read_parquet({files}, hive_partitioning = false)"
    described = duck.sql(f"describe select * from {source}").fetchall()
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c[0]), sql.SQL(_pg_type(c[1]))) for c in described
    )
    con.execute(
        sql.SQL("create table {}.{} ({}) with (autovacuum_enabled = false)").format(
            sql.Identifier(schema), sql.Identifier(mart), columns
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "rows.csv"
        duck.execute(f"copy (select * from {source}) to '{csv}' (format csv, header false)")
        copy = sql.SQL("copy {}.{} from stdin (format csv)").format(sql.Identifier(schema), sql.Identifier(mart))
        with con.cursor().copy(copy) as target, csv.open("rb") as rows:
            while chunk := rows.read(1 << 20):
                target.write(chunk)


def _load_rm_map(con: psycopg.Connection[Any], schema: str) -> None:
    con.execute(
        sql.SQL(
            "create table {s}.{m} with (autovacuum_enabled = false) as "
            "select bridge.customer_key, customer.household_key, bridge.rm_id, 'rm_' || bridge.rm_id as login "
            "from {s}.bridge_customer_relationship_manager as bridge "
            "left join {s}.customer_360 as customer using (customer_key)"
        ).format(s=sql.Identifier(schema), m=sql.Identifier(RM_MAP))
    )


def _secure(con: psycopg.Connection[Any], schema: str, mart: str, columns: list[str]) -> None:
    """Row-level security on a customer-level mart: all rows for members of ALL_CUSTOMERS, else
    the rows of the login's own customers (or households, or its own RM rows)."""
    mine = []
    if "customer_key" in columns:
        mine.append("customer_key in (select customer_key from {s}.{m} where login = current_user)")
    elif "household_key" in columns:
        mine.append("household_key in (select household_key from {s}.{m} where login = current_user)")
    if "rm_id" in columns and mart not in NO_RLS:
        mine.append("'rm_' || rm_id = current_user")
    if not mine:
        return
    table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(mart))
    con.execute(sql.SQL("alter table {} enable row level security").format(table))
    con.execute(sql.SQL("alter table {} force row level security").format(table))  # for the views' owner too
    rule = " or ".join([f"pg_has_role(current_user, '{ALL_CUSTOMERS}', 'usage')", *mine])
    con.execute(
        sql.SQL("create policy readers on {} for select using (" + rule + ")").format(
            table, s=sql.Identifier(schema), m=sql.Identifier(RM_MAP)
        )
    )


def _view(
    con: psycopg.Connection[Any], tables: str, views: str, mart: str, columns: list[str], pii: dict[str, str]
) -> None:
    masked = f"pg_has_role(current_user, '{MASKED}', 'usage')"
    select = ", ".join(
        f'case when {masked} then {mask_sql(c, pii[c])} else "{c}" end as "{c}"' if c in pii else f'"{c}"'
        for c in columns
    )
    con.execute(
        sql.SQL("create view {}.{} with (security_barrier) as select " + select + " from {}.{}").format(
            sql.Identifier(views), sql.Identifier(mart), sql.Identifier(tables), sql.Identifier(mart)
        )
    )


# ---------------------------------------------------------------------------------------- serving


@contextlib.contextmanager
def running(settings: Settings, port: int | None = None) -> Iterator[Cluster]:
    """A started server with the current export loaded; stopped when the block ends."""
    cluster = Cluster(settings, port or settings.serve_port)
    cluster.start()
    try:
        export = current_export(settings)
        if export is None:
            raise FileNotFoundError(f"no export at {exports_link(settings)}: run `bankdw run` first")
        load(cluster, export.path)
        yield cluster
    finally:
        cluster.stop()


def refresh_if_newer(cluster: Cluster, served: str) -> str:
    """Load the current export if its build is not the one served; returns the build served."""
    export = current_export(cluster.settings)
    if export is None or export.run_id == served:
        return served
    return load(cluster, export.path)


def serve(settings: Settings, port: int | None = None) -> None:
    """`bankdw serve`: serve until interrupted, loading every newer export as it is published."""
    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    with running(settings, port) as cluster:
        export = current_export(settings)
        served = export.run_id if export else ""
        log.info("serving on 127.0.0.1:%d; passwords in %s", cluster.port, credentials_path(settings))
        try:
            while not stop:
                time.sleep(WATCH_SECONDS)
                served = refresh_if_newer(cluster, served)
        except KeyboardInterrupt:
            pass


def remove(settings: Settings) -> None:
    """Remove the served warehouse's cluster (it is loaded again from the exports on the next start)."""
    shutil.rmtree(serve_dir(settings) / "pgdata", ignore_errors=True)
