"""The contact centre's daily delivery: the calls that ended that day and the agents snapshot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from .calls import Agents, Calls
from .formats import dates, integers, text, timestamps
from .population import Customers
from .writer import LandedFile, csv_file

SYSTEM = "call_center"


class CallFeed:
    def __init__(self, agents: Agents, customers: Customers, tz: ZoneInfo) -> None:
        self.tz = tz
        self.customers = customers
        self.agents = csv_file(
            SYSTEM,
            "agents",
            {
                "agent_id": agents.agent_id,
                "full_name": agents.full_name,
                "team": text(agents.team),
                "site": text(agents.site.astype(str)),
                "hire_date": dates(agents.hire_day),
            },
        )
        self.agent_ids = agents.agent_id

    def files(self, c: Calls) -> list[LandedFile]:
        """The calls of one day (they all end on the day they began) and the agents."""
        i = np.arange(len(c.day))
        answered, agent, customer = c.answered[i], c.agent[i], c.customer[i]
        calls = csv_file(
            SYSTEM,
            "calls",
            {
                "call_id": c.call_id.take(pa.array(i)),
                "direction": text(np.where(c.inbound[i], "INBOUND", "OUTBOUND")),
                "started_at": timestamps(c.started[i], self.tz),
                "answered_at": timestamps(answered, self.tz, answered >= 0),
                "ended_at": timestamps(c.ended[i], self.tz),
                "caller_number": c.caller_number.take(pa.array(i)),
                "customer_id": _optional(self.customers.customer_id, customer),
                "queue": text(c.queue[i].astype(str)),
                "agent_id": _optional(self.agent_ids, agent),
                "wait_seconds": integers(c.wait[i]),
                "talk_seconds": integers(c.talk[i]),
                "hold_seconds": integers(c.hold[i]),
                "transfer_count": integers(c.transfers[i]),
                "reason_code": text(c.reason[i].astype(str)),
                "outcome": text(c.outcome[i].astype(str)),
                "complaint_flag": text(np.where(c.complaint[i], "Y", "N")),
                "csat_score": integers(np.maximum(c.csat[i], 0), c.csat[i] > 0),
                "campaign_id": pa.array(c.campaign[i], pa.string()),
            },
        )
        return [calls, self.agents]


def _optional(ids: pa.Array, index: np.ndarray) -> pa.Array:
    taken = ids.take(pa.array(np.maximum(index, 0)))
    return pa.array(np.where(index >= 0, taken.to_numpy(zero_copy_only=False), None), pa.string())
