"""The online-banking platform's daily delivery: the users snapshot and the hour files of events."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .formats import constant, timestamps
from .online import Users
from .population import Customers
from .writer import LandedFile, Snapshot, gzip_lines

SYSTEM = "online_banking"
STATES = ("ACTIVE", "LOCKED", "CLOSED")


class OnlineFeed:
    def __init__(self, users: Users, customers: Customers, tz: ZoneInfo) -> None:
        self.users = users
        linked = users.customer >= 0
        columns = {
            "user_id": users.user_id,
            "customer_id": pc.if_else(
                pa.array(linked),
                customers.customer_id.take(pa.array(np.where(linked, users.customer, 0))),
                pa.scalar(None, pa.string()),
            ),
            "email": users.email,
            "phone": users.phone,
            "registered_at": timestamps(users.registered_wall, tz),
        }
        self.snapshot = Snapshot(
            SYSTEM, "users", [{**columns, "status": constant(status, len(users))} for status in STATES]
        )

    def files(self, day: int, hour_files: list[tuple[str, pa.Array]]) -> list[LandedFile]:
        u = self.users
        rows = np.flatnonzero(u.registered_day <= day)
        state = np.where(u.closed_day[rows] <= day, 2, np.where(u.locked[rows], 1, 0))
        landed = [self.snapshot.file(self.snapshot.render(rows, state))]
        for name, lines in hour_files:
            landed.append(LandedFile(name, gzip_lines(lines), len(lines)))
        return landed
