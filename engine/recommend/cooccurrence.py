"""Item × item co-occurrence (the Gram matrix G = XᵀX of the binary user × item matrix X).

``G[i, j]`` is the number of users who interacted with both i and j; ``G[i, i]`` is item i's
popularity. Item-kNN and EASE start from it. It is built with sparse products on the model's
device, in blocks of rows when the whole matrix is not wanted at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from engine.recommend.matrix import UserItemMatrix


def gram_blocks(train: UserItemMatrix, device: torch.device, block: int) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(first_item, G[first_item : first_item + block, :])`` as dense float32 blocks."""
    binary = train.binary()
    items_users = binary.transpose()
    x = binary.to_torch(device)
    for start in range(0, train.n_items, block):
        stop = min(train.n_items, start + block)
        yield start, torch.sparse.mm(items_users.row_slice(start, stop).to_torch(device), x).to_dense()


def gram(train: UserItemMatrix, device: torch.device) -> torch.Tensor:
    """The whole ``n_items × n_items`` Gram matrix, dense float32."""
    return torch.cat([blk for _, blk in gram_blocks(train, device, train.n_items)])
