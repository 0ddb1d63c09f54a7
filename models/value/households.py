"""Households as connected components of customer links, each with a key that survives
members joining and leaving.

A household is derived again on every build (it is not a registered entity), so its key must
come from something that outlives its members: what they share. The key is the md5 of the
household's *anchor*, the link the household is built around, chosen among its links by:

1. kind: a shared home address before a shared phone before a jointly held account (an
   address outlives a phone number, and both outlive one account);
2. the most members sharing it;
3. the smallest value (a fixed, arbitrary tie-break).

So a member who joins (moves in, opens a joint account) or leaves (moves out, closes one)
leaves the key as it was while the anchor still links two members; it changes when the
household moves house, or when a bigger group at another address absorbs it. Two households
that merge keep the key of the one whose anchor wins; a household that splits leaves the key
with the part that keeps the anchor.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from models.identity.graph import components

KIND_ORDER = {"SHARED_ADDRESS": 0, "SHARED_PHONE": 1, "JOINT_ACCOUNT": 2}
"""Which shared thing anchors a household first: addresses, then phones, then accounts."""


@dataclass(frozen=True)
class Households:
    customer_key: list[str]
    household_key: list[str]
    flags: dict[str, np.ndarray]
    """Per customer and link kind: the customer has a link of that kind."""


def households(a: list[str], b: list[str], kinds: list[str], shared: list[str]) -> Households:
    """Households of the links `a[i]`-`b[i]` of kind `kinds[i]` through the shared value `shared[i]`."""
    keys = sorted(set(a) | set(b))
    index = {k: i for i, k in enumerate(keys)}
    left = np.array([index[k] for k in a], np.int64)
    right = np.array([index[k] for k in b], np.int64)
    label = components(len(keys), left, right)
    flags = {kind: np.zeros(len(keys), bool) for kind in KIND_ORDER}
    members: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    for i, j, kind, value in zip(left, right, kinds, shared, strict=True):
        flags[kind][i] = flags[kind][j] = True
        members[(int(label[i]), kind, value)].update((int(i), int(j)))
    anchor: dict[int, tuple[int, int, str, str]] = {}
    for (root, kind, value), who in members.items():
        rank = (KIND_ORDER[kind], -len(who), value, kind)
        if root not in anchor or rank < anchor[root]:
            anchor[root] = rank
    household = [_key(anchor[int(root)]) for root in label]
    return Households(keys, household, flags)


def _key(rank: tuple[int, int, str, str]) -> str:
    _, _, value, kind = rank
    return hashlib.md5(f"household/{kind}/{value}".encode()).hexdigest()
