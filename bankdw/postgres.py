"""A PostgreSQL server run from the `pgserver` wheel (server binaries inside the package: no
system install, nothing downloaded), in a child process we start and stop.

Two users: `bankdw serve` (the served warehouse, `bankdw.serve.Cluster`) and the test that
runs the nightly DAG with Airflow's metadata database on PostgreSQL (tests/test_dag_postgres.py).
pgserver's own `get_server` is not used: it shares one server between every process that opens
the same data dir and stops it when the last one exits, while both users here need a server on
a port of their choosing, with their own `pg_hba.conf`, stopped when they say.

The server's administrator logs in only through the server's Unix socket (`trust`), in a folder
only the server's user may open; every other login is what the caller writes into `hba`.
PostgreSQL refuses to run as root: when root, the server runs as `SYSTEM_USER`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

SYSTEM_USER = "pgserver"
"""PostgreSQL refuses to run as root: when root, the server runs as this user (pgserver's own choice)."""
START_SECONDS = 30
"""How long a starting server may take to answer."""


def pg_bin(name: str) -> str:
    """The path of one of the wheel's PostgreSQL programs (`postgres`, `initdb`, `psql`...)."""
    with warnings.catch_warnings():  # pgserver's own server class looks for a runtime dir we do not use
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():  # importing pgserver looks for a runtime dir we do not use
        warnings.simplefilter("ignore")
        from pgserver.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


@dataclass
class Server:
    """A PostgreSQL cluster in `pgdata`, served on 127.0.0.1:`port` and by a socket in `socket_dir`."""

    pgdata: Path
    socket_dir: Path
    port: int
    admin: str
    """The superuser initdb creates; it logs in by the socket only."""
    hba: str
    """The `pg_hba.conf` lines after the administrator's own (written on every start)."""
    log_file: Path
    options: tuple[str, ...] = ()
    """Server settings as `name=value`, passed as `-c name=value`."""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        user = _system_user()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        for folder in (self.pgdata, self.socket_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if user is not None:
            from pgserver.utils import ensure_prefix_permissions

            entry = pwd.getpwnam(user)
            ensure_prefix_permissions(self.pgdata)  # the server's user must reach its folders
            for path in (self.pgdata, self.socket_dir, *self.pgdata.rglob("*")):  # a copied data dir: root's
                os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        if not (self.pgdata / "PG_VERSION").exists():
            subprocess.run(
                [pg_bin("initdb"), "-D", str(self.pgdata), "-U", self.admin, "--auth-local=trust",
                 "--auth-host=reject", "--encoding=UTF8", "--no-instructions"],
                check=True, capture_output=True, user=user,
            )  # fmt: skip
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(f"local all {self.admin} trust\n{self.hba}", encoding="utf-8")
        if user is not None:
            os.chown(hba, pwd.getpwnam(user).pw_uid, -1)
        settings = ["listen_addresses=127.0.0.1", "unix_socket_permissions=0700", *self.options]
        self.process = subprocess.Popen(
            [pg_bin("postgres"), "-D", str(self.pgdata), "-p", str(self.port), "-k", str(self.socket_dir),
             *(arg for setting in settings for arg in ("-c", setting))],
            stdout=self.log_file.open("ab"), stderr=subprocess.STDOUT, user=user,
        )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL stopped as it started (port {self.port}): see {self.log_file}")
            with contextlib.suppress(psycopg.OperationalError):
                self.connect().close()
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PostgreSQL did not answer within {START_SECONDS} s: see {self.log_file}")
            time.sleep(0.2)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """A connection of the administrator, by the socket, in autocommit."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=self.admin, dbname=dbname, autocommit=True
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: end sessions, checkpoint
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
