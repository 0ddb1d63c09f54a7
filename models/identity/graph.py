"""Connected components on numpy arrays: the groups identity rules make, and households.

Used by identity resolution (`models.identity.rules`) and by the dbt Python model
`int_customer_households` (households are connected components of customer links).
"""

from __future__ import annotations

import numpy as np


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of `n` nodes: the smallest node index of each node's component.

    Label propagation with pointer jumping on numpy arrays: a few passes for the star-shaped
    groups identity rules make, and no graph library needed (scipy is not a dependency).
    """
    label = np.arange(n)
    if len(left) == 0:
        return label
    while True:
        low = np.minimum(label[left], label[right])
        before = label.copy()
        np.minimum.at(label, left, low)
        np.minimum.at(label, right, low)
        label = label[label]
        if np.array_equal(label, before):
            return label
