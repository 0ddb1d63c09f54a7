"""The online-banking platform's daily delivery: the users snapshot and the hour files of events."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .formats import constant, timestamps
from .online import Users
from .population import Customers
from .writer import LandedFile, Snapshot

SYSTEM = "online_banking"
STATES = ("ACTIVE", "LOCKED", "CLOSED")


class OnlineFeed:
    def __init__(self, users: Users, customers: Customers, tz: ZoneInfo) -> None:
        self.users = users
        self.customers, self.tz = customers, tz
        self.snapshot = Snapshot(SYSTEM, "users", self._columns, len(users))

    def _columns(self, rows: np.ndarray, state: int) -> dict[str, pa.Array]:
        u, take = self.users, pa.array(rows)
        customer = u.customer[rows]
        linked = customer >= 0
        return {
            "user_id": u.user_id.take(take),
            "customer_id": pc.if_else(
                pa.array(linked),
                self.customers.customer_id.take(pa.array(np.where(linked, customer, 0))),
                pa.scalar(None, pa.string()),
            ),
            "email": u.email.take(take),
            "phone": u.phone.take(take),
            "registered_at": timestamps(u.registered_wall[rows], self.tz),
            "status": constant(STATES[state], len(rows)),
        }

    def files(self, day: int, hour_files: list[tuple[str, bytes, int]]) -> list[LandedFile]:
        u = self.users
        rows = np.flatnonzero(u.registered_day <= day)
        state = np.where(u.closed_day[rows] <= day, 2, np.where(u.locked[rows], 1, 0))
        landed = [self.snapshot.file(rows, state)]
        landed += [LandedFile(name, content, rows) for name, content, rows in hour_files]
        return landed
