"""`dbt` as its own command line, with the cycle collector of a night's dbt session.

`python -m bankdw.dbt_command build ...` is `dbt build ...`. The dbt commands that run in a
process of their own (outside a night's session, `bankdw.dbt_session`: the scheduler's tasks,
the docs, a test's own command) start through it, so that Python's cycle collector passes over
dbt's objects as seldom as in the session's worker (`COLLECTOR_THRESHOLDS`).
"""

from __future__ import annotations

import gc
import sys

COLLECTOR_THRESHOLDS = (50_000, 20, 100)
"""A pass over the young objects every 50,000 allocations (Python's default is 700), each tenth
of those over the middle-aged ones, as Python's defaults do. dbt allocates millions of small
objects a command (nodes, Jinja contexts, events): with the defaults the collector spends a
tenth of a small bank's build walking them (measured: `bankdw.dbt_session._collect_less`)."""


def command_line() -> list[str]:
    """The start of the command line of one dbt command; its arguments follow."""
    return [sys.executable, "-m", "bankdw.dbt_command"]


def main() -> None:
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    from dbt.cli.main import cli

    # the program's name in dbt's messages and log ("Command `dbt build` succeeded"): click would
    # otherwise derive one from `python -m`
    sys.exit(cli(prog_name="dbt"))


if __name__ == "__main__":
    main()
