"""How web events reach the bank: hour files of JSON lines, with the platform's defects.

An event is delivered in the file of the hour it was received, seconds after it happened.
The defects of the agreement are injected here and recorded in the answer key: events
delivered a second time (same event_id) in a later file, events delivered one to three days
late, lines cut short in transit, and event types the agreement does not list yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .config import Defects
from .days import DAY
from .formats import join, money, names, text, timestamps
from .online import DEVICES, EVENT_TYPES, NEW_EVENT_TYPES, Events, Users, event_code
from .randomness import Sampler, stream
from .truth import DefectLog
from .writer import feed_table, json_lines

SYSTEM = "online_banking"


@dataclass
class _Lines:
    """Rendered lines waiting for the hour they are received in (today's and earlier days' events).

    The lines of several days' batches stay separate chunks until a day's files are cut out of
    them: the lines are the bulk of the memory moved, so they are copied once per day, not at
    every step."""

    lines: pa.Array | pa.ChunkedArray
    event_id: pa.Array | pa.ChunkedArray
    when: np.ndarray
    """Wall second the platform receives the line."""
    number: np.ndarray
    """Event number (order of event_ts), to keep lines received in the same second in order."""
    copy: np.ndarray
    late: np.ndarray
    renamed: np.ndarray
    has_copy: np.ndarray
    event_day: np.ndarray
    first_when: np.ndarray
    """For a copy: when the first delivery of the same event was received."""
    event_type: np.ndarray

    def take(self, index: np.ndarray, lines: bool = True) -> _Lines:
        if len(index) == len(self.when) and (index == np.arange(len(index))).all():
            return self
        i = pa.array(index, pa.int64())
        return _Lines(
            _combined(self.lines).take(i) if lines else self.lines,
            _combined(self.event_id).take(i),
            *(getattr(self, f)[index] for f in _ARRAYS),
        )

    def combined(self) -> _Lines:
        """The same lines, each array in one piece (taking from it twice copies the chunks once)."""
        return replace(self, lines=_combined(self.lines), event_id=_combined(self.event_id))

    @staticmethod
    def concat(parts: list[_Lines]) -> _Lines:
        return _Lines(
            _chunked([p.lines for p in parts]),
            _chunked([p.event_id for p in parts]),
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _ARRAYS),
        )


def _chunked(parts: list[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    return pa.chunked_array(
        [chunk for p in parts for chunk in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])], pa.string()
    )


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


_ARRAYS = ("when", "number", "copy", "late", "renamed", "has_copy", "event_day", "first_when", "event_type")


class WebLog:
    """Delivers each day's events to hour files, holding back what arrives on later days."""

    def __init__(self, seed: int, users: Users, defects: Defects, end_day: int, tz: ZoneInfo, log: DefectLog) -> None:
        self.rng = stream(seed, "weblog")
        self.sampler = Sampler(seed, "weblog_defects")
        self.users, self.defects, self.end_day, self.tz, self.log = users, defects, end_day, tz, log
        self.last_second = (end_day + 1) * DAY - 1
        self.waiting: _Lines | None = None

    def day(self, events: Events, d: int) -> list[tuple[str, pa.Array]]:
        """The hour files of day `d`: (file name, lines), lines received in that hour in order."""
        self.receive(events)
        assert self.waiting is not None
        waiting = replace(self.waiting, event_id=_combined(self.waiting.event_id))
        today = waiting.when < (d + 1) * DAY
        index = np.flatnonzero(today)
        index = index[np.lexsort((waiting.copy[index], waiting.number[index], waiting.when[index]))]
        now = replace(waiting.take(index, lines=False), lines=pa.nulls(0, pa.string()))
        hour = (now.when % DAY) // 3600
        bounds = np.r_[np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]]), len(hour)]
        line = np.arange(len(hour)) - np.repeat(bounds[:-1], np.diff(bounds)) + 1
        broken = self.sampler.pick(
            "invalid_json",
            np.flatnonzero(~now.copy & ~now.late & ~now.renamed & ~now.has_copy),
            self.defects.invalid_json,
        )
        # the lines are copied once: today's in file order (broken ones taken from their cut
        # versions, placed after the others), and those that arrive on later days
        cut = _cut_short(waiting.lines.take(pa.array(index[broken], pa.int64())))
        pooled = _combined(_chunked([waiting.lines, cut]))
        index[broken] = len(waiting.when) + np.arange(len(broken))
        lines = pooled.take(pa.array(index))
        self.waiting = replace(waiting, lines=pooled).take(np.flatnonzero(~today))
        self._record(d, now, hour, line, broken)
        return [(f"events-{int(hour[a]):02d}.jsonl.gz", lines.slice(a, b - a)) for a, b in pairwise(bounds.tolist())]

    def receive(self, events: Events) -> None:
        """When each event (and each copy) reaches the platform, with the event defects injected."""
        rng, defects, n = self.rng, self.defects, len(events)
        event_type = events.event_type.copy()
        renamed = self.sampler.pick(
            "unknown_event_type", np.flatnonzero(events.in_session), defects.unknown_event_types
        )
        new_types = np.array([event_code(t) for t in NEW_EVENT_TYPES])
        event_type[renamed] = new_types[rng.integers(0, len(new_types), len(renamed))]

        received = events.wall + 1 + np.minimum(rng.exponential(4, n), 300).astype(np.int64)
        event_day = events.wall // DAY
        late = self.sampler.pick("late_event", np.flatnonzero(event_day < self.end_day), defects.late_events)
        lateness = np.minimum(rng.integers(1, 4, len(late)), self.end_day - event_day[late])
        received[late] = (event_day[late] + lateness) * DAY + rng.integers(0, DAY, len(late))
        again = self.sampler.pick(
            "duplicate_event", np.flatnonzero(received < self.last_second - 600), defects.duplicate_events
        )
        second = np.minimum(received[again] + rng.integers(600, 2 * DAY, len(again)), self.last_second)

        # every value is an identifier, code, path, number or timestamp the simulator builds:
        # none holds a quote, a backslash or a line break, so none is screened for escaping
        table = _event_table(events, self.users, event_type, self.tz)
        lines = json_lines(table, frozenset(table.column_names))
        is_late, is_renamed, has_copy = (np.zeros(n, bool) for _ in range(3))
        is_late[late], is_renamed[renamed], has_copy[again] = True, True, True
        number = np.arange(n)
        firsts = _Lines(
            lines, events.event_id, received, number, np.zeros(n, bool), is_late, is_renamed, has_copy, event_day,
            np.full(n, -1), event_type,
        )  # fmt: skip
        copies = firsts.take(again)
        copies.when, copies.first_when = second, received[again]
        copies.copy = np.ones(len(again), bool)
        copies.late, copies.has_copy = np.zeros(len(again), bool), np.zeros(len(again), bool)
        if self.waiting is not None and len(self.waiting.when):
            # earlier days' events keep their place before today's in a second they share
            self.waiting.number = self.waiting.number - (self.waiting.number.max() + 1)
        parts = [firsts, copies] if self.waiting is None else [self.waiting, firsts, copies]
        batch = _Lines.concat(parts)
        self.waiting = batch.take(np.flatnonzero(batch.when <= self.last_second))

    def _record(self, d: int, now: _Lines, hour: np.ndarray, line: np.ndarray, broken: np.ndarray) -> None:
        files = pa.array([f"events-{h:02d}.jsonl.gz" for h in range(24)], pa.string())
        file_name = files.take(pa.array(hour))
        days = np.full(len(hour), d, np.int64)

        def add(kind: str, index: np.ndarray, detail: pa.Array | str) -> None:
            self.log.add(
                kind, SYSTEM, days[index], file_name.take(pa.array(index)), now.event_id.take(pa.array(index)),
                detail, line[index],
            )  # fmt: skip

        dup = np.flatnonzero(now.copy)
        first = now.first_when[dup]
        add(
            "duplicate_event",
            dup,
            join("also delivered on ", text(_dates(first // DAY)), " in ", files.take(pa.array((first % DAY) // 3600))),
        )
        late = np.flatnonzero(now.late & ~now.copy)
        add("late_event", late, join("event_ts on ", text(_dates(now.event_day[late]))))
        add("invalid_json", broken, "line cut short in transit")
        unknown = np.flatnonzero(now.renamed)
        add("unknown_event_type", unknown, text(np.asarray(EVENT_TYPES)[now.event_type[unknown]]))


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


def _cut_short(lines: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lines truncated in transit (half of the object, then the line end): half a JSON object
    is never valid JSON."""
    return pa.array([s[: (len(s) - 1) // 2] + "\n" for s in lines.to_pylist()], pa.string())
