"""A synthetic bank that delivers the three source feeds of the interface agreement.

`simulate(SimulationConfig(...))` writes one delivery per system per business date to a
landing root (`core_banking/`, `online_banking/`, `call_center/`), exactly in the formats
of `extract/feeds/feeds.yml`, and an answer key to `_truth/` beside it. The bank is
coherent (balances chain, snapshots refer to what exists, loans are classified by days
past due) and carries the defects of real deliveries at the rates of `Defects`; the same
seed gives the same bytes.

Modules, in the order a run uses them: `population` (persons and customer records),
`accounts`, `online` (users, sessions), `ledger` with `activity` and `postings` (the day
by day core system), `weblog` (event delivery), `calls`, the `feed_*` renderers, `writer`
(CSV, JSON lines, manifests) and `truth` (the answer key); `run` ties them together.
"""

from typing import TYPE_CHECKING, Any

from .config import Defects, SimulationConfig, SimulationSummary

if TYPE_CHECKING:
    from .run import simulate

__all__ = ["Defects", "SimulationConfig", "SimulationSummary", "simulate"]


def __getattr__(name: str) -> Any:
    """`simulate` is imported on first use: the CLI reads `Defects` without loading NumPy and Arrow."""
    if name == "simulate":
        from .run import simulate

        return simulate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
