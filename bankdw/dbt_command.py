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
"""`gc.set_threshold`: a pass over the young objects every 50,000 allocations, over the older
ones every 20 such passes, over all every 100 of those (Python's defaults: 700, 10, 10). dbt
allocates millions of small objects a command (nodes, Jinja contexts, events), so with the
defaults the collector keeps walking them; what this saves: docs/performance.md, item 7."""


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
