"""Vectorised rendering of values as the agreement writes them (feeds/README.md, Formats).

Money is held as integer cents and rates as integer basis points, so every decimal in the
output is exact; dates are `YYYY-MM-DD`; timestamps ISO 8601 with the bank's offset at that
moment (`2026-11-21T09:15:02+08:00`). A `valid` mask turns entries into nulls (empty fields).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_WALL_EPOCH = datetime(1970, 1, 1)


def _masked(values: pa.Array, valid: np.ndarray | None) -> pa.Array:
    if valid is None:
        return values
    return pc.if_else(pa.array(valid, pa.bool_()), values, pa.scalar(None, pa.string()))


def text(values: np.ndarray | list[str], valid: np.ndarray | None = None) -> pa.Array:
    return _masked(pa.array(values, pa.string()), valid)


def constant(value: str, n: int) -> pa.Array:
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, np.int32)))


def names(vocabulary: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    """`vocabulary[code]` for each code, null where the code is -1 (a `take`, not a Python loop)."""
    codes = np.asarray(codes, np.int64)
    values = pa.array(vocabulary, pa.string()).take(pa.array(np.maximum(codes, 0)))
    return values if (codes >= 0).all() else _masked(values, codes >= 0)


def integers(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return _masked(pc.cast(pa.array(np.asarray(values, np.int64)), pa.string()), valid)


@cache
def _padded(width: int) -> pa.Array:
    """ "00", "01", ... as a lookup table: `take` is much faster than padding every value."""
    return pc.utf8_lpad(pc.cast(pa.array(np.arange(10**width)), pa.string()), width, "0")


@cache
def _clock() -> pa.Array:
    """ "00:00:00" .. "23:59:59", one entry per second of the day."""
    second = np.arange(86_400)
    pad = _padded(2)
    parts = [pad.take(pa.array(x)) for x in (second // 3600, second // 60 % 60, second % 60)]
    return pc.binary_join_element_wise(*parts, ":")


def fixed(units: np.ndarray, valid: np.ndarray | None = None, scale: int = 2) -> pa.Array:
    """Integer `units` of 10**-scale as a decimal string: cents -> `-1234.05`.

    The integers are taken as the unscaled values of a decimal128 array (two's complement in
    16 bytes: the value, then its sign) and Arrow's own decimal formatting writes them, which
    is exact and an order of magnitude faster than assembling sign, whole part and fraction.
    """
    units = np.asarray(units, np.int64)
    unscaled = np.empty((len(units), 2), np.int64)
    unscaled[:, 0] = units
    unscaled[:, 1] = units >> 63
    decimal = pa.Array.from_buffers(pa.decimal128(38, scale), len(units), [None, pa.py_buffer(unscaled)])
    return _masked(pc.cast(decimal, pa.string()), valid)


def money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return fixed(cents, valid, 2)


def money_total(cents: np.ndarray) -> str:
    """Exact sum of a cents column, written like the column itself (for manifest control totals)."""
    total = int(np.asarray(cents, np.int64).sum())
    sign = "-" if total < 0 else ""
    return f"{sign}{abs(total) // 100}.{abs(total) % 100:02d}"


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    days = np.asarray(days, np.int64)
    if valid is not None:
        days = np.where(valid, days, 0)
    return _masked(pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string()), valid)


@cache
def _offset_label(tz: ZoneInfo, hour: int) -> str:
    offset = tz.utcoffset(_WALL_EPOCH + timedelta(hours=hour)) or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def offset_text(wall_hours: np.ndarray, tz: ZoneInfo) -> pa.Array:
    """UTC offset (`+08:00`) of the bank's zone at each local wall-clock hour."""
    wall_hours = np.asarray(wall_hours, np.int64)
    if len(wall_hours) == 0:
        return pa.array([], pa.string())
    first, last = int(wall_hours.min()), int(wall_hours.max())
    if last - first > 24 * 40:  # hours spread over months or years: label only the hours that occur
        unique, inverse = np.unique(wall_hours, return_inverse=True)
        labels = pa.array([_offset_label(tz, h) for h in unique.tolist()], pa.string())
        return labels.take(pa.array(inverse.reshape(-1)))
    labels = pa.array([_offset_label(tz, h) for h in range(first, last + 1)], pa.string())
    return labels.take(pa.array(wall_hours - first))


@cache
def _minute_second() -> pa.Array:
    """ "00:00" .. "59:59", one entry per second of the hour."""
    second = np.arange(3600)
    pad = _padded(2)
    return pc.binary_join_element_wise(pad.take(pa.array(second // 60)), pad.take(pa.array(second % 60)), ":")


def timestamps(wall: np.ndarray, tz: ZoneInfo, valid: np.ndarray | None = None) -> pa.Array:
    """Local wall-clock seconds since 1970 as ISO 8601 with the zone's offset at that time."""
    wall = np.asarray(wall, np.int64)
    if valid is not None:
        wall = np.where(valid, wall, wall[valid][0] if valid.any() else 0)
    hours = wall // 3600
    if len(hours) and int(hours.max()) - int(hours.min()) <= 24 * 40:
        # a few days (a day's events and postings): `2026-11-21T09:` and `+08:00` once per
        # hour, then three lookups per value
        first = int(hours.min())
        hour = np.arange(first, int(hours.max()) + 1)
        day = pc.cast(pa.array((hour // 24).astype(np.int32), pa.date32()), pa.string())
        prefix = pc.binary_join_element_wise(day, "T", _padded(2).take(pa.array(hour % 24)), ":", "")
        index = pa.array(hours - first)
        parts = [prefix.take(index), _minute_second().take(pa.array(wall % 3600)), offset_text(hour, tz).take(index)]
        return _masked(pc.binary_join_element_wise(*parts, ""), valid)
    day = pc.cast(pa.array((wall // 86_400).astype(np.int32), pa.date32()), pa.string())
    clock = _clock().take(pa.array(wall % 86_400))
    offsets = offset_text(hours, tz)
    return _masked(pc.binary_join_element_wise(day, "T", clock, offsets, ""), valid)


def replace_at(values: pa.Array, positions: np.ndarray, replacement: pa.Array) -> pa.Array:
    """`values` with `values[positions[i]]` replaced by `replacement[i]`. A few replacements in a
    long array are spliced between slices of it (one copy); many are chosen element-wise."""
    if len(positions) == 0:
        return values
    if len(positions) <= max(16, len(values) // 256):
        order = np.argsort(positions, kind="stable")
        pieces, start = [], 0
        for i, at in zip(order.tolist(), np.asarray(positions)[order].tolist(), strict=True):
            pieces += [values.slice(start, at - start), replacement.slice(i, 1)]
            start = at + 1
        pieces.append(values.slice(start))
        return pa.concat_arrays(pieces)
    index = np.zeros(len(values), np.int64)
    index[positions] = np.arange(len(positions))
    mask = np.zeros(len(values), bool)
    mask[positions] = True
    return pc.if_else(pa.array(mask), replacement.take(pa.array(index)), values)


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers such as `C000012345`: a prefix and a zero-padded number."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, np.int64)), pa.string()), width, "0")
    return join(prefix, digits)
