"""Gathers along the first dimension by ``index_select``.

``table[index]`` with a large index tensor goes through torch's general advanced-indexing
path, which on the CPU is 3–5 times slower than ``index_select`` (measured with 250 k and
2.5 M indices on this project's 2-core box); the hot paths of the simulator gather through
:func:`take` instead. Rows of 64-bit integers are copied as twice as many 32-bit ones: the
same bytes, and ``index_select`` copies 32-bit rows several times faster (measured: 20
int64 per row, 32 k rows, 0.48 ms against 0.19 ms). A table whose rows are one row expanded
(stride 0) gives a view. Results are identical.
"""

from __future__ import annotations

import torch


def take(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for an integer ``index`` of any shape (rows of ``table`` when it has
    more than one dimension)."""
    if table.dim() > 1 and table.stride(0) == 0:  # every row the same (an expanded table): a view
        return table[:1].expand(index.numel(), *table.shape[1:]).view(*index.shape, *table.shape[1:])
    if table.dtype == torch.int64 and table.dim() == 2 and table.is_contiguous():
        return take(table.view(torch.int32), index).view(torch.int64)
    out = table.index_select(0, index.reshape(-1))
    return out.view(*index.shape, *table.shape[1:])
