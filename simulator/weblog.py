"""How web events reach the bank: hour files of JSON lines, with the platform's defects.

An event is delivered in the file of the hour it was received, seconds after it happened.
The defects of the agreement are injected here and recorded in the answer key: events
delivered a second time (same event_id) in a later file, events delivered one to three days
late, lines cut short in transit, and event types the agreement does not list yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .config import Defects
from .days import DAY
from .formats import join, money, names, replace_at, text, timestamps
from .online import DEVICES, EVENT_TYPES, NEW_EVENT_TYPES, Events, Users, event_code
from .randomness import Sampler, stream
from .truth import DefectLog
from .writer import feed_table, gzip_lines, json_lines

SYSTEM = "online_banking"


@dataclass
class _Arrivals:
    """Events (and copies) waiting for the hour they are received in: today's events, not
    rendered yet, and earlier days' held back, rendered on their own day."""

    source: np.ndarray
    """Row in today's events, or -1 - k for line k of the held-back lines."""
    event_id: pa.Array
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

    def take(self, index: np.ndarray) -> _Arrivals:
        if len(index) == len(self.when) and (index == np.arange(len(index))).all():
            return self
        return _Arrivals(
            self.source[index],
            self.event_id.take(pa.array(index, pa.int64())),
            *(getattr(self, f)[index] for f in _ARRAYS),
        )

    @staticmethod
    def concat(parts: list[_Arrivals]) -> _Arrivals:
        return _Arrivals(
            np.concatenate([p.source for p in parts]),
            pa.concat_arrays([p.event_id for p in parts]),
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _ARRAYS),
        )


_ARRAYS = ("when", "number", "copy", "late", "renamed", "has_copy", "event_day", "first_when", "event_type")


class WebLog:
    """Delivers each day's events to hour files, holding back what arrives on later days.

    A day's events are rendered an hour file at a time, in the order they were received, and
    compressed at once: only one hour of JSON lines is in memory, and lines are never moved
    after rendering (only those held back for later days are kept as lines)."""

    def __init__(self, seed: int, users: Users, defects: Defects, end_day: int, tz: ZoneInfo, log: DefectLog) -> None:
        self.rng = stream(seed, "weblog")
        self.sampler = Sampler(seed, "weblog_defects")
        self.users, self.defects, self.end_day, self.tz, self.log = users, defects, end_day, tz, log
        self.last_second = (end_day + 1) * DAY - 1
        self.waiting: _Arrivals | None = None
        self.held = pa.array([], pa.string())
        """Lines of the events held back for later days (rendered on the day they happened)."""

    def day(self, events: Events, d: int) -> list[tuple[str, bytes, int]]:
        """The hour files of day `d`: (file name, gzip bytes, lines), lines in the order received."""
        arrivals, event_type = self.receive(events)
        today = arrivals.when < (d + 1) * DAY
        index = np.flatnonzero(today)
        now = arrivals.take(index[np.lexsort((arrivals.copy[index], arrivals.number[index], arrivals.when[index]))])
        hour = (now.when % DAY) // 3600
        bounds = np.r_[np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]]), len(hour)]
        line = np.arange(len(hour)) - np.repeat(bounds[:-1], np.diff(bounds)) + 1
        broken = self.sampler.pick(
            "invalid_json",
            np.flatnonzero(~now.copy & ~now.late & ~now.renamed & ~now.has_copy),
            self.defects.invalid_json,
        )
        files = []
        for a, b in pairwise(bounds.tolist()):
            lines = self._lines(now.source[a:b], events, event_type)
            cut = broken[(broken >= a) & (broken < b)] - a
            lines = replace_at(lines, cut, _cut_short(lines.take(pa.array(cut, pa.int64()))))
            files.append((f"events-{int(hour[a]):02d}.jsonl.gz", gzip_lines(lines), b - a))
        later = arrivals.take(np.flatnonzero(~today))
        held = self._lines(later.source, events, event_type)
        later.source = -1 - np.arange(len(later.when))
        self.waiting, self.held = later, held
        self._record(d, now, hour, line, broken)
        return files

    def _lines(self, source: np.ndarray, events: Events, event_type: np.ndarray) -> pa.Array:
        """The lines of arrivals: today's events rendered now, earlier days' as held back."""
        fresh = source >= 0
        if fresh.all():
            # every value is an identifier, code, path, number or timestamp the simulator
            # builds: none holds a quote, a backslash or a line break, so none is screened
            table = _event_table(events, source, self.users, event_type, self.tz)
            return json_lines(table, frozenset(table.column_names))
        if not fresh.any():
            return self.held.take(pa.array(-1 - source))
        rendered = self._lines(source[fresh], events, event_type)
        order = np.empty(len(source), np.int64)
        order[fresh] = np.arange(int(fresh.sum()))
        order[~fresh] = len(rendered) + np.arange(int((~fresh).sum()))
        return pa.concat_arrays([rendered, self.held.take(pa.array(-1 - source[~fresh]))]).take(pa.array(order))

    def receive(self, events: Events) -> tuple[_Arrivals, np.ndarray]:
        """When each event (and each copy) reaches the platform, with the event defects injected;
        with the event types as delivered (some renamed to types the agreement does not list)."""
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

        is_late, is_renamed, has_copy = (np.zeros(n, bool) for _ in range(3))
        is_late[late], is_renamed[renamed], has_copy[again] = True, True, True
        number = np.arange(n)
        firsts = _Arrivals(
            number, events.event_id, received, number, np.zeros(n, bool), is_late, is_renamed, has_copy, event_day,
            np.full(n, -1), event_type,
        )  # fmt: skip
        copies = firsts.take(again)
        copies.when, copies.first_when = second, received[again]
        copies.copy = np.ones(len(again), bool)
        copies.late, copies.has_copy = np.zeros(len(again), bool), np.zeros(len(again), bool)
        waiting = self.waiting
        if waiting is not None and len(waiting.when):
            # earlier days' events keep their place before today's in a second they share
            waiting.number = waiting.number - (waiting.number.max() + 1)
        batch = _Arrivals.concat([firsts, copies] if waiting is None else [waiting, firsts, copies])
        return batch.take(np.flatnonzero(batch.when <= self.last_second)), event_type

    def _record(self, d: int, now: _Arrivals, hour: np.ndarray, line: np.ndarray, broken: np.ndarray) -> None:
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


def _event_table(events: Events, rows: np.ndarray, users: Users, event_type: np.ndarray, tz: ZoneInfo) -> pa.Table:
    """The columns of the events `rows`, in that order."""
    take = pa.array(rows, pa.int64())
    user = events.user[rows]
    has_user = user >= 0
    amount = events.amount[rows]
    return feed_table(
        SYSTEM,
        "events",
        {
            "event_id": events.event_id.take(take),
            "event_ts": timestamps(events.wall[rows], tz),
            "user_id": pc.if_else(
                pa.array(has_user),
                users.user_id.take(pa.array(np.where(has_user, user, 0))),
                pa.scalar(None, pa.string()),
            ),
            "session_id": events.session_id.take(take),
            "device": names(DEVICES, events.device[rows]),
            "event_type": names(EVENT_TYPES, event_type[rows]),
            "page": events.page.take(take),
            "product_code": events.product_code.take(take),
            "amount": money(np.maximum(amount, 0), amount >= 0),
            "ip_hash": events.ip_hash.take(take),
            "app_version": events.app_version.take(take),
        },
    )


def _cut_short(lines: pa.Array) -> pa.Array:
    """Lines truncated in transit (half of the object, then the line end): half a JSON object
    is never valid JSON."""
    return pa.array([s[: (len(s) - 1) // 2] + "\n" for s in lines.to_pylist()], pa.string())
