"""What to simulate (`SimulationConfig`, `Defects`) and what was written (`SimulationSummary`).

These three classes are the whole public surface of the simulator besides `simulate()`:
the CLI and the pipeline build a config, call `simulate()` and read the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Defects:
    """How often each defect of real deliveries (feeds/README.md) is injected.

    Every rate is a share of the population it applies to, between 0 and 1; a rate above
    zero always produces at least one instance, so a small bank still exercises every
    defect. The defaults are low, realistic rates; the two that make a delivery unloadable
    (`missing_manifests`, `truncated_files`) are off unless asked for. `Defects.none()` gives
    a clean bank. Each injected defect is recorded in `_truth/defects.csv`. Each field's `help` says what
    it injects (the CLI shows it beside the field's `--<name>` option).
    """

    duplicate_persons: float = field(
        default=0.03, metadata={"help": "Persons keyed a second time under another customer_id (at another branch)."}
    )
    legacy_records: float = field(
        default=0.5, metadata={"help": "Share of those extra records that are legacy records without national_id."}
    )
    phone_formats: float = field(
        default=0.35,
        metadata={"help": "Phone numbers keyed in a format other than plain national digits (`13800138000`)."},
    )
    email_formats: float = field(default=0.2, metadata={"help": "E-mails keyed in mixed case or with stray spaces."})
    duplicate_events: float = field(
        default=0.01, metadata={"help": "Web events delivered a second time (same event_id) in a later hour file."}
    )
    late_events: float = field(
        default=0.005, metadata={"help": "Web events delivered one to three days after they happened."}
    )
    invalid_json: float = field(default=0.0005, metadata={"help": "Event lines cut short in transit (not valid JSON)."})
    unknown_event_types: float = field(
        default=0.002,
        metadata={"help": "Events of a type the agreement does not list (the platform shipped a feature)."},
    )
    unknown_callers: float = field(
        default=0.03,
        metadata={
            "help": (
                "Inbound calls from a number that no customer record holds: a tenth of persons call"
                " from such a number (a work phone, a new mobile), always the same; the IVR"
                " authenticates them as often as any call."
            )
        },
    )
    ambiguous_callers: float = field(
        default=0.02, metadata={"help": "Inbound calls from a number that several customers (a household) share."}
    )
    redelivered_dates: float = field(
        default=0.01,
        metadata={
            "help": (
                "Deliveries re-sent one to three days later as a corrected, complete delivery with a new"
                " manifest (the first one missed rows); the first version is kept in `_truth/superseded/`."
            )
        },
    )
    missing_manifests: float = field(
        default=0.0,
        metadata={
            "help": "On request only: deliveries whose `_manifest.json` never arrives (the warehouse must wait)."
        },
    )
    truncated_files: float = field(
        default=0.0,
        metadata={
            "help": (
                "On request only: deliveries with a file cut short in transit after its manifest was"
                " written (rows and checksum no longer match: the warehouse must refuse the delivery)."
            )
        },
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            rate = getattr(self, f.name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"Defects.{f.name} must be between 0 and 1, got {rate}")

    @classmethod
    def none(cls) -> Defects:
        """A clean bank: no defect at all (the coherence of the bank is the same)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


@dataclass(frozen=True)
class ChurnBehaviour:
    """How planted churners and their look-alikes behave (the answer key is `_truth/churners.csv`).

    A real bank's leavers do not all announce themselves the same number of days ahead, some
    give no warning at all, and some customers who stay look for a while exactly like leavers.
    Each warned churner draws a lead time; over it their salary stops at a drawn point, their
    spending fades and money leaves in transfers, both growing from nothing to full strength as
    the leaving day nears. Look-alikes (customers who stay) go through one such spell, rising
    and falling again, with a salary gap and calls to the complaint or retention desk.
    """

    share_per_90_days: float = 0.02
    """Share of the existing personal customers who leave, per 90 simulated days."""
    lead_min_days: int = 15
    """Shortest warning: days between the first sign and the leaving day."""
    lead_max_days: int = 150
    """Longest warning (lead times are drawn uniformly between the two)."""
    silent_share: float = 0.18
    """Churners who give no warning at all: salary, spending and balances as usual, no call."""
    salary_stop_from: float = 0.2
    """A warned churner's salary stops at a point drawn uniformly from this share of the lead
    time to 1.2 (beyond 1.0: the salary keeps arriving until they leave)."""
    spending_fade: float = 0.5
    """Everyday spending falls by this share at full warning strength (gradually before it)."""
    drain_rate: float = 0.15
    """Daily chance, at full warning strength, that money leaves a current or savings account."""
    drain_share_min: float = 0.1
    """Smallest share of the balance one drain transfer moves out."""
    drain_share_max: float = 0.5
    """Largest share of the balance one drain transfer moves out."""
    retention_call_share: float = 0.75
    """Warned churners who call the retention desk (CLOSE_ACCOUNT) in their last 30 days."""
    complaint_call_share: float = 0.5
    """Warned churners who complain (COMPLAINT_SERVICE) during their warning."""
    lookalike_share_per_90_days: float = 0.02
    """Share of the personal customers who stay but look like leavers for a while, per 90 days."""
    lookalike_min_days: int = 30
    """Shortest look-alike spell."""
    lookalike_max_days: int = 120
    """Longest look-alike spell (drawn uniformly between the two)."""
    lookalike_peak_min: float = 0.5
    """Weakest look-alike spell at its height, as a share of a leaver's full warning strength
    (drawn uniformly up to 1; the spell rises and falls linearly)."""
    lookalike_salary_gap_share: float = 0.6
    """Look-alikes whose salary stops for part of the spell (one to two months) and resumes."""
    lookalike_complaint_share: float = 0.4
    """Look-alikes who call the complaint desk during the spell."""
    lookalike_retention_share: float = 0.2
    """Look-alikes who call the retention desk during the spell (and are kept)."""

    def __post_init__(self) -> None:
        for name in (
            "share_per_90_days",
            "silent_share",
            "spending_fade",
            "drain_rate",
            "drain_share_min",
            "drain_share_max",
            "retention_call_share",
            "complaint_call_share",
            "lookalike_share_per_90_days",
            "lookalike_peak_min",
            "lookalike_salary_gap_share",
            "lookalike_complaint_share",
            "lookalike_retention_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"ChurnBehaviour.{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 1 <= self.lead_min_days <= self.lead_max_days:
            raise ValueError("ChurnBehaviour needs 1 <= lead_min_days <= lead_max_days")
        if not 1 <= self.lookalike_min_days <= self.lookalike_max_days:
            raise ValueError("ChurnBehaviour needs 1 <= lookalike_min_days <= lookalike_max_days")


@dataclass(frozen=True)
class SimulationConfig:
    """One synthetic bank: `customers` customer records over `days` business days from `start`.

    `out` is the landing root; the answer key goes to `out/../_truth`, beside it.
    `customers` counts customer records, duplicates of a person included.
    """

    out: Path
    customers: int = 3000
    days: int = 90
    start: date = date(2026, 8, 24)
    seed: int = 42
    timezone: str = "Asia/Shanghai"
    defects: Defects = field(default_factory=Defects)
    churn: ChurnBehaviour = field(default_factory=ChurnBehaviour)

    def __post_init__(self) -> None:
        if self.customers < 10:
            raise ValueError(f"a bank needs at least 10 customers, got {self.customers}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @property
    def end(self) -> date:
        """The last business date delivered."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def truth_dir(self) -> Path:
        """The answer key, beside the landing area so that no pipeline ever loads it."""
        return self.out.parent / "_truth"


@dataclass(frozen=True)
class SimulationSummary:
    """What `simulate()` wrote: deliveries in write order, data rows per (system, file), run time."""

    deliveries: list[tuple[str, date]]
    rows: dict[tuple[str, str], int]
    seconds: float
    truth_dir: Path

    def __str__(self) -> str:
        days = len({day for _, day in self.deliveries})
        return (
            f"{len(self.deliveries)} deliveries over {days} days, {sum(self.rows.values()):,} rows "
            f"in {self.seconds:.1f}s; answer key in {self.truth_dir}"
        )
