"""Gathers along the first dimension by ``index_select``.

``table[index]`` with a large index tensor goes through torch's general advanced-indexing
path, which on the CPU is 3–5 times slower than ``index_select`` (measured with 250 k and
2.5 M indices on this project's 2-core box); the hot paths of the simulator gather through
:func:`take` instead. Results are identical.
"""

from __future__ import annotations

import torch


def take(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for an integer ``index`` of any shape (rows of ``table`` when it has
    more than one dimension)."""
    out = table.index_select(0, index.reshape(-1))
    return out.view(*index.shape, *table.shape[1:])
