"""How unequally something is spread: the Gini coefficient and the share of the top p %.

Gini of n non-negative values sorted ascending x_1 ≤ … ≤ x_n (Damgaard & Weiner 2000, eq. 3):

    G = Σ_i (2i − n − 1) x_i / (n Σ_i x_i)

0 when everyone has the same, (n − 1)/n when one has everything. Top share: the share of the
total held by the ⌈p·n⌉ largest values.
"""

from __future__ import annotations

import math

import numpy as np


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 for an empty or all-zero input).

    >>> gini(np.array([1, 1, 1, 1])), gini(np.array([0, 0, 0, 4]))
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    if x[0] < 0:
        raise ValueError("the Gini coefficient needs non-negative values")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def top_share(values: np.ndarray, fraction: float = 0.01) -> float:
    """Share of the total held by the top ``fraction`` of holders (at least one holder).

    >>> top_share(np.array([1.0] * 99 + [101.0]), 0.01)
    0.505
    """
    x = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    k = max(1, math.ceil(fraction * len(x)))
    return float(x[:k].sum() / total)
