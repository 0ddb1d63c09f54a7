"""`make dashboards`: the dashboards on http://127.0.0.1:`dashboards_port` over the served warehouse.

Uses the served warehouse when one answers on `BANKDW_SERVE_PORT` (`make serve` in another
terminal); otherwise starts `bankdw serve` itself for as long as the dashboards run. Reads as
the login `--login` (default: the setting `dashboards_login`, `analyst`): `rm_<rm_id>` shows
that RM's customers and leads only. Stays in the foreground until Ctrl-C or SIGTERM, and then
stops what it started.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from warehouse import connect

from bankdw.config import Settings, load_settings
from bankdw.serve import credentials_path, password

log = logging.getLogger("dashboards")
HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120.0


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _answers(port):
        if process.poll() is not None:
            raise SystemExit(f"{what} stopped before it answered on port {port} (exit {process.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not answer on port {port} within {STARTUP_SECONDS:.0f} s")
        time.sleep(0.5)


def _wait_for_marts(settings: Settings, process: subprocess.Popen[bytes] | None) -> None:
    """The server listens before it has loaded the marts: wait until the login can read them."""
    deadline = time.monotonic() + STARTUP_SECONDS
    login = settings.dashboards_login
    while True:
        if password(settings, login) is None and credentials_path(settings).exists():
            # the server writes every login's password at once, when it loads the marts
            raise SystemExit(
                f"the served warehouse has no login {login}: its logins are in {credentials_path(settings)}"
            )
        try:
            with connect(settings, connect_timeout=5) as con:
                con.execute("select 1 from marts.dim_date limit 1")
                return
        except psycopg.Error as exc:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise SystemExit(f"bankdw serve did not serve the marts within {STARTUP_SECONDS:.0f} s: {exc}") from exc
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="the dashboards' port on 127.0.0.1 (setting dashboards_port)")
    parser.add_argument("--login", help="the served warehouse's login they read as (setting dashboards_login)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    overrides = {"dashboards_port": args.port, "dashboards_login": args.login}
    try:
        settings = load_settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValueError as exc:  # pydantic's, naming the setting (as bankdw's commands say it)
        raise SystemExit(f"invalid configuration: {exc}") from None
    port = settings.dashboards_port
    children: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if _answers(settings.serve_port):
            log.info("using the served warehouse on 127.0.0.1:%d", settings.serve_port)
            _wait_for_marts(settings, None)
        else:
            log.info("starting the served warehouse on 127.0.0.1:%d (bankdw serve)", settings.serve_port)
            children.append(subprocess.Popen([BIN / "bankdw", "serve"]))
            _wait_for(settings.serve_port, children[-1], "bankdw serve")
            _wait_for_marts(settings, children[-1])
        app = subprocess.Popen(
            [BIN / "streamlit", "run", HERE / "app.py", "--server.address", "127.0.0.1", "--server.port",
             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--theme.base", "light", "--client.toolbarMode", "viewer",
             "--runner.magicEnabled", "false"],
            env={**os.environ, "BANKDW_DASHBOARDS_LOGIN": settings.dashboards_login},  # the pages load the settings
        )  # fmt: skip
        children.append(app)
        _wait_for(port, app, "streamlit")
        log.info("dashboards on http://127.0.0.1:%d/ as %s (Ctrl-C stops them)", port, settings.dashboards_login)
        app.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()


if __name__ == "__main__":
    main()
