"""How web events reach the bank: hour files of JSON lines, with the platform's defects.

An event is delivered in the file of the hour it was received, seconds after it happened.
The defects of the agreement are injected here and recorded in the answer key: events
delivered a second time (same event_id) in a later file, events delivered one to three days
late, lines cut short in transit, and event types the agreement does not list yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .config import Defects
from .days import DAY
from .formats import join, money, names, text, timestamps
from .online import DEVICES, EVENT_TYPES, NEW_EVENT_TYPES, Events, Users, event_code
from .randomness import pick, stream
from .truth import DefectLog
from .writer import feed_table, json_lines

SYSTEM = "online_banking"


@dataclass
class HourFiles:
    """Delivered lines sorted by delivery day and hour; `bounds[i]:bounds[i+1]` is one file."""

    lines: pa.Array
    day: np.ndarray
    hour: np.ndarray
    bounds: np.ndarray

    def files_of(self, day: int) -> list[tuple[str, pa.Array]]:
        found = []
        for i in np.flatnonzero(self.day[self.bounds[:-1]] == day).tolist():
            a, b = int(self.bounds[i]), int(self.bounds[i + 1])
            found.append((f"events-{int(self.hour[a]):02d}.jsonl.gz", self.lines.slice(a, b - a)))
        return found


def deliver(
    seed: int, events: Events, users: Users, defects: Defects, end_day: int, tz: ZoneInfo, log: DefectLog
) -> HourFiles:
    rng = stream(seed, "weblog")
    n = len(events)
    last_second = (end_day + 1) * DAY - 1
    event_type = events.event_type.copy()
    renamed = pick(rng, np.flatnonzero(events.in_session), defects.unknown_event_types)
    new_types = np.array([event_code(t) for t in NEW_EVENT_TYPES])
    event_type[renamed] = new_types[rng.integers(0, len(new_types), len(renamed))]

    received = events.wall + 1 + np.minimum(rng.exponential(4, n), 300).astype(np.int64)
    event_day = events.wall // DAY
    late = pick(rng, np.flatnonzero(event_day < end_day), defects.late_events)
    lateness = np.minimum(rng.integers(1, 4, len(late)), end_day - event_day[late])
    received[late] = (event_day[late] + lateness) * DAY + rng.integers(0, DAY, len(late))
    again = pick(rng, np.flatnonzero(received < last_second - 600), defects.duplicate_events)
    second = np.minimum(received[again] + rng.integers(600, 2 * DAY, len(again)), last_second)

    source = np.concatenate([np.arange(n), again])
    copy = np.r_[np.zeros(n, bool), np.ones(len(again), bool)]
    when = np.concatenate([received, second])
    delivered = when <= last_second
    source, copy, when = source[delivered], copy[delivered], when[delivered]
    order = np.lexsort((copy, source, when))
    source, copy, when = source[order], copy[order], when[order]
    day, hour = when // DAY, (when % DAY) // 3600
    file_key = day * 24 + hour
    bounds = np.r_[np.flatnonzero(np.r_[True, file_key[1:] != file_key[:-1]]), len(file_key)]
    line = np.arange(len(file_key)) - np.repeat(bounds[:-1], np.diff(bounds)) + 1
    file_name = join("events-", pc.utf8_lpad(pc.cast(pa.array(hour), pa.string()), 2, "0"), ".jsonl.gz")

    lines = json_lines(_event_table(events, users, event_type, tz).take(pa.array(source)))
    # lines cut short are chosen among lines without another defect, so each line has one story
    ordinary = ~copy & ~np.isin(source, late) & ~np.isin(source, renamed) & ~np.isin(source, again)
    broken = pick(rng, np.flatnonzero(ordinary), defects.invalid_json)
    lines = _cut_short(lines, broken)

    event_id = events.event_id.take(pa.array(source))
    first_line = np.zeros(n, np.int64)
    first_line[source[~copy]] = np.flatnonzero(~copy)
    dup = np.flatnonzero(copy)
    original = first_line[source[dup]]
    log.add(
        "duplicate_event",
        SYSTEM,
        day[dup],
        file_name.take(pa.array(dup)),
        event_id.take(pa.array(dup)),
        join("also delivered on ", text(_dates(day[original])), " in ", file_name.take(pa.array(original))),
        line[dup],
    )
    is_late = np.isin(source, late) & ~copy
    late_idx = np.flatnonzero(is_late)
    log.add(
        "late_event",
        SYSTEM,
        day[late_idx],
        file_name.take(pa.array(late_idx)),
        event_id.take(pa.array(late_idx)),
        join("event_ts on ", text(_dates(event_day[source[late_idx]]))),
        line[late_idx],
    )
    log.add(
        "invalid_json",
        SYSTEM,
        day[broken],
        file_name.take(pa.array(broken)),
        event_id.take(pa.array(broken)),
        "line cut short in transit",
        line[broken],
    )
    unknown = np.flatnonzero(np.isin(source, renamed))
    log.add(
        "unknown_event_type",
        SYSTEM,
        day[unknown],
        file_name.take(pa.array(unknown)),
        event_id.take(pa.array(unknown)),
        text(np.asarray(EVENT_TYPES)[event_type[source[unknown]]]),
        line[unknown],
    )
    return HourFiles(lines=lines, day=day, hour=hour, bounds=bounds)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, np.int64).astype("datetime64[D]").astype(str)


def _event_table(events: Events, users: Users, event_type: np.ndarray, tz: ZoneInfo) -> pa.Table:
    has_user = events.user >= 0
    return feed_table(
        SYSTEM,
        "events",
        {
            "event_id": events.event_id,
            "event_ts": timestamps(events.wall, tz),
            "user_id": pc.if_else(
                pa.array(has_user),
                users.user_id.take(pa.array(np.where(has_user, events.user, 0))),
                pa.scalar(None, pa.string()),
            ),
            "session_id": events.session_id,
            "device": names(DEVICES, events.device),
            "event_type": names(EVENT_TYPES, event_type),
            "page": events.page,
            "product_code": events.product_code,
            "amount": money(np.maximum(events.amount, 0), events.amount >= 0),
            "ip_hash": events.ip_hash,
            "app_version": events.app_version,
        },
    )


def _cut_short(lines: pa.Array, broken: np.ndarray) -> pa.Array:
    """Lines truncated in transit: half a JSON object is never valid JSON."""
    if len(broken) == 0:
        return lines
    cut = pa.array([s[: len(s) // 2] for s in lines.take(pa.array(broken)).to_pylist()], pa.string())
    position = np.zeros(len(lines), np.int64)
    position[broken] = np.arange(len(broken))
    mask = np.zeros(len(lines), bool)
    mask[broken] = True
    return pc.if_else(pa.array(mask), cut.take(pa.array(position)), lines)
