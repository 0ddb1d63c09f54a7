"""Day arithmetic on numpy arrays of epoch days (days since 1970-01-01).

Every date in the simulator is an integer epoch day and every timestamp an integer count of
local wall-clock seconds since 1970-01-01 00:00 in the bank's time zone: integer arithmetic
is exact, vectorises, and the time-zone offset is only attached when a value is written.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)
DAY = 86_400
NEVER = 2**31 - 1
"""Epoch day that never comes: an account with this close day is still open."""


def epoch_day(value: date) -> int:
    return (value - EPOCH).days


def to_date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def day_of_month(days: np.ndarray) -> np.ndarray:
    """1-based day of month."""
    d = days.astype("datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since January 1970: equal for two days of the same month."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def is_month_end(days: np.ndarray) -> np.ndarray:
    return month_index(days + 1) != month_index(days)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Same day of month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28)."""
    d = days.astype("datetime64[D]")
    first = d.astype("datetime64[M]")
    offset = (d - first.astype("datetime64[D]")).astype(np.int64)
    target = first + months.astype(np.int64)
    target_start = target.astype("datetime64[D]")
    month_len = ((target + 1).astype("datetime64[D]") - target_start).astype(np.int64)
    return (target_start + np.minimum(offset, month_len - 1)).astype(np.int64)


def next_anniversary(start: np.ndarray, term_months: np.ndarray, asof: np.ndarray | int) -> np.ndarray:
    """First date `start + k * term` (k >= 1) on or after `asof`: a rolled-over deposit's maturity."""
    asof = np.broadcast_to(np.asarray(asof, np.int64), start.shape)
    elapsed = month_index(asof) - month_index(start)
    k = np.maximum(1, elapsed // term_months)
    candidate = add_months(start, k * term_months)
    late = candidate < asof
    candidate[late] = add_months(start[late], (k[late] + 1) * term_months[late])
    return candidate
