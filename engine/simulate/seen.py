"""Sets of items per agent — items owned, items opened — as bits packed in int64 words.

``R·N`` agents × ``M`` items take ``R·N·⌈M/64⌉·8`` bytes — a million agents over a 500-item
catalog is 64 MB. Slates skip items an agent owns; homogenisation compares the opened sets of
tracked pairs of agents (Jaccard, :func:`jaccard`).
"""

from __future__ import annotations

import torch

from engine.simulate.gather import take

_BITS = 64


def empty(rows: int, items: int, device: torch.device) -> torch.Tensor:
    """An all-clear bitset [rows, ⌈items/64⌉]."""
    return torch.zeros(rows, (items + _BITS - 1) // _BITS, dtype=torch.int64, device=device)


def contains(bits: torch.Tensor, rows: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Whether row ``rows[v]`` has item ``items[v, k]`` (``items`` ≥ 0; [V, K], or [1, K] for the
    same items in every row): a [V, K] bool."""
    words = take(bits.view(-1), (rows * bits.shape[1])[:, None] + (items >> 6))  # the word of each item's bit
    return ((words >> (items & 63)) & 1) != 0


def add(bits: torch.Tensor, rows: torch.Tensor, items: torch.Tensor) -> None:
    """Set the bits of (row, item) pairs (1-D, same length) that are not set yet.

    The pairs must be distinct; adding a clear bit's value equals OR-ing it, so an indexed
    accumulate does the update in one deterministic step.
    """
    fresh = ~contains(bits, rows, items[:, None])[:, 0]
    rows, items = rows[fresh], items[fresh]
    bits.view(-1).index_add_(0, rows * bits.shape[1] + (items >> 6), torch.ones_like(items) << (items & 63))


def popcount(words: torch.Tensor) -> torch.Tensor:
    """Set bits per int64 word (SWAR: Hacker's Delight 5-1), as int64."""
    x = words - ((words >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return ((x * 0x0101010101010101) >> 56) & 0xFF


def jaccard(bits: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Jaccard index |A∩B| / |A∪B| of the sets of rows ``left[p]`` and ``right[p]`` (float64);
    NaN where both are empty."""
    a, b = bits[left], bits[right]
    inter = popcount(a & b).sum(dim=1).to(torch.float64)
    union = popcount(a | b).sum(dim=1).to(torch.float64)
    return inter / union
