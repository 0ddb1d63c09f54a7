"""Seeded random streams and the few sampling helpers every part of the bank uses.

Each part of the simulation (population, ledger, online, calls...) draws from its own
stream derived from the seed and the part's name, so changing how one part draws does not
reshuffle the others, and the same seed always gives the same bank, byte for byte.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def how_many(n: int, rate: float) -> int:
    """`rate` of `n`, at least one when both are positive: a small bank still shows every case."""
    if rate <= 0 or n <= 0:
        return 0
    return int(min(n, max(1, round(n * rate))))


def pick(rng: np.random.Generator, candidates: np.ndarray, rate: float) -> np.ndarray:
    """A sorted sample without replacement of `rate` of `candidates` (see `how_many`)."""
    k = how_many(len(candidates), rate)
    if k == 0:
        return candidates[:0]
    return np.sort(rng.choice(candidates, size=k, replace=False))


def choice(rng: np.random.Generator, options: list[str] | np.ndarray, size: int, p: list[float]) -> np.ndarray:
    """`size` draws from `options` with probabilities `p` (normalised, so weights may be given)."""
    weights = np.asarray(p, dtype=np.float64)
    return rng.choice(np.asarray(options), size=size, p=weights / weights.sum())


def scramble(index: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of 0..modulus-1 that looks random: distinct indexes give distinct numbers.

    Used for phone numbers and registration numbers, which must never collide by chance.
    """
    multiplier = 7_919_993  # neither even nor a multiple of 5: coprime with any power of ten
    return (np.asarray(index, np.int64) * multiplier + salt) % modulus


def lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int) -> np.ndarray:
    return np.asarray(median) * np.exp(rng.normal(0.0, sigma, size))


class Sampler:
    """`pick` for a population that arrives one business day at a time.

    Each day's count is `rate` of that day's candidates with stochastic rounding, so the
    expected total is exactly `rate` of everyone however many days the run has; the first day
    with candidates gives at least one, so that a small bank still shows every defect.
    """

    def __init__(self, seed: int, name: str) -> None:
        self.rng = stream(seed, name)
        self.shown: set[str] = set()

    def pick(self, kind: str, candidates: np.ndarray, rate: float) -> np.ndarray:
        n = len(candidates)
        if rate <= 0 or n == 0:
            return candidates[:0]
        k = int(min(n, np.floor(n * rate + self.rng.random())))
        if kind not in self.shown:
            k = max(k, 1)
        if k == 0:
            return candidates[:0]
        self.shown.add(kind)
        return np.sort(self.rng.choice(candidates, size=k, replace=False))
