"""A user × item interaction matrix in compressed sparse row (CSR) form, on the CPU.

Row ``u`` holds the items user ``u`` interacted with, sorted by item index, and a strength
per pair — and, where known, the pair's first time. Models move what they need to their
device; this class only holds, slices and converts. Everything is vectorised (no loop over
users).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

#: The start of the UserWarning torch gives the first time a process makes a CSR tensor;
#: :func:`csr_tensor` silences exactly that one, around the call (CSR tensors are what this module is for).
CSR_BETA_WARNING = "Sparse CSR tensor support is in beta state"
# Invariant checks are off by default and torch warns that they are "implicitly" off each time a
# sparse tensor is built without saying so (Adagrad does, for sparse gradients): say so once.
torch.sparse.check_sparse_tensor_invariants.disable()


def csr_tensor(crow_indices: torch.Tensor, col_indices: torch.Tensor, values: torch.Tensor,
               shape: tuple[int, int], device: torch.device | str | None = None) -> torch.Tensor:
    """``torch.sparse_csr_tensor`` (moved to ``device`` when given), without torch's "beta"
    UserWarning: the filter lives only for this call, so other warnings and other code see
    the caller's filters unchanged."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=CSR_BETA_WARNING, category=UserWarning)
        out = torch.sparse_csr_tensor(crow_indices, col_indices, values, shape, check_invariants=False)
        return out if device is None else out.to(device)


@dataclass(frozen=True)
class UserItemMatrix:
    """``indptr`` (n_users + 1), ``indices`` and ``values`` (nnz each) over ``n_users × n_items``.

    ``times`` (optional, nnz, int64 µs since the epoch) is each pair's first time. Slicing and
    selecting keep the times of the pairs kept, so each side of a split holds only its own pairs'
    times: a time-aware model (:mod:`.timepop`) reads them in ``fit`` without seeing held-out
    pairs; every other model ignores them. Saved states (:meth:`state`) do not hold them.

    >>> m = UserItemMatrix.from_pairs(torch.tensor([0, 0, 1]), torch.tensor([2, 0, 2]), None, 2, 3)
    >>> m.indices.tolist(), m.indptr.tolist()
    ([0, 2, 2], [0, 2, 3])
    """

    indptr: torch.Tensor
    indices: torch.Tensor
    values: torch.Tensor
    n_items: int
    times: torch.Tensor | None = None

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_users, self.n_items

    @classmethod
    def from_pairs(
        cls, users: torch.Tensor, items: torch.Tensor, values: torch.Tensor | None, n_users: int, n_items: int,
        times: torch.Tensor | None = None,
    ) -> UserItemMatrix:
        """Build from (user, item, value) triples; duplicate pairs are summed (their ``times``,
        when given, reduced to the earliest)."""
        users = users.to(torch.int64)
        items = items.to(torch.int64)
        vals = torch.ones(len(users), dtype=torch.float32) if values is None else values.to(torch.float32)
        key = users * n_items + items
        unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
        summed = torch.zeros(len(unique), dtype=torch.float32).index_add_(0, inverse, vals)
        rows = unique // n_items
        indptr = torch.zeros(n_users + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(torch.bincount(rows, minlength=n_users), 0)
        first = None
        if times is not None:
            first = torch.full((len(unique),), torch.iinfo(torch.int64).max, dtype=torch.int64)
            first = first.scatter_reduce(0, inverse, times.to(torch.int64), reduce="amin")
        return cls(indptr, unique % n_items, summed, n_items, first)

    @classmethod
    def empty(cls, n_users: int, n_items: int) -> UserItemMatrix:
        none = torch.zeros(0, dtype=torch.int64)
        return cls(torch.zeros(n_users + 1, dtype=torch.int64), none, torch.zeros(0), n_items)

    # --- views ---------------------------------------------------------------------------

    def rows(self) -> torch.Tensor:
        """The user index of every stored pair (nnz)."""
        return torch.repeat_interleave(torch.arange(self.n_users), self.row_counts())

    def row_counts(self) -> torch.Tensor:
        """Items per user."""
        return self.indptr[1:] - self.indptr[:-1]

    def item_counts(self) -> torch.Tensor:
        """Users per item (the item's popularity)."""
        return torch.bincount(self.indices, minlength=self.n_items)

    def keys(self) -> torch.Tensor:
        """``user * n_items + item`` for every pair, ascending (CSR order)."""
        return self.rows() * self.n_items + self.indices

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (user, item) pair is stored, by binary search over the sorted keys."""
        keys = self.keys()
        if len(keys) == 0:
            return torch.zeros(len(users), dtype=torch.bool)
        query = users.to(torch.int64).cpu() * self.n_items + items.to(torch.int64).cpu()
        pos = torch.searchsorted(keys, query).clamp_max(len(keys) - 1)
        return keys[pos] == query

    def binary(self) -> UserItemMatrix:
        """The same pattern with every value 1."""
        return UserItemMatrix(self.indptr, self.indices, torch.ones_like(self.values), self.n_items, self.times)

    def select(self, keep: torch.Tensor) -> UserItemMatrix:
        """The pairs where the boolean mask ``keep`` (nnz) is true, same shape."""
        rows = self.rows()[keep]
        indptr = torch.zeros(self.n_users + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(torch.bincount(rows, minlength=self.n_users), 0)
        times = None if self.times is None else self.times[keep]
        return UserItemMatrix(indptr, self.indices[keep], self.values[keep], self.n_items, times)

    def row_slice(self, start: int, stop: int) -> UserItemMatrix:
        """Rows ``start … stop-1`` as a matrix of ``stop - start`` users."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        times = None if self.times is None else self.times[lo:hi]
        return UserItemMatrix(self.indptr[start:stop + 1] - lo, self.indices[lo:hi], self.values[lo:hi], self.n_items,
                              times)

    def union(self, other: UserItemMatrix) -> UserItemMatrix:
        """Pairs of both matrices (values summed where both hold a pair; times kept, the earliest,
        where both have them)."""
        times = None if self.times is None or other.times is None else torch.cat([self.times, other.times])
        return UserItemMatrix.from_pairs(
            torch.cat([self.rows(), other.rows()]), torch.cat([self.indices, other.indices]),
            torch.cat([self.values, other.values]), self.n_users, self.n_items, times,
        )

    def transpose(self) -> UserItemMatrix:
        """The item × user matrix (as a UserItemMatrix whose "users" are items)."""
        return UserItemMatrix.from_pairs(self.indices, self.rows(), self.values, self.n_items, self.n_users, self.times)

    def resized(self, n_users: int, n_items: int) -> UserItemMatrix:
        """The same pairs in a larger index space (new users and items have no pairs)."""
        if n_users < self.n_users or n_items < self.n_items:
            raise ValueError("resized() only grows a matrix")
        indptr = torch.cat([self.indptr, self.indptr[-1].repeat(n_users - self.n_users)])
        return UserItemMatrix(indptr, self.indices, self.values, n_items, self.times)

    # --- conversions ---------------------------------------------------------------------

    def to_torch(self, device: torch.device | str = "cpu", values: torch.Tensor | None = None) -> torch.Tensor:
        """A ``torch.sparse_csr_tensor`` on ``device`` (optionally with other values)."""
        vals = self.values if values is None else values
        return csr_tensor(self.indptr, self.indices, vals.to(torch.float32), self.shape, device)

    def batch_pairs(self, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The stored pairs of ``users``: (position in ``users``, item, value), each of length Σ row sizes."""
        users = users.to(torch.int64).cpu()
        start = self.indptr[users]
        counts = self.indptr[users + 1] - start
        batch_row = torch.repeat_interleave(torch.arange(len(users)), counts)
        offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
        pos = torch.repeat_interleave(start, counts) + offsets
        return batch_row, self.indices[pos], self.values[pos]

    def dense_rows(self, users: torch.Tensor, device: torch.device | str = "cpu", binary: bool = False) -> torch.Tensor:
        """The rows of ``users`` as a dense ``len(users) × n_items`` float tensor on ``device``."""
        batch_row, items, values = self.batch_pairs(users)
        out = torch.zeros(len(users), self.n_items, dtype=torch.float32, device=device)
        vals = torch.ones(len(items)) if binary else values
        out[batch_row.to(device), items.to(device)] = vals.to(device)
        return out

    def row_items(self, user: int) -> torch.Tensor:
        """Item indices of one user (sorted)."""
        return self.indices[self.indptr[user]:self.indptr[user + 1]]

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors to save under ``prefix`` (see :meth:`from_state`)."""
        return {f"{prefix}.indptr": self.indptr, f"{prefix}.indices": self.indices, f"{prefix}.values": self.values,
                f"{prefix}.n_items": torch.tensor(self.n_items)}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], prefix: str) -> UserItemMatrix:
        return cls(state[f"{prefix}.indptr"], state[f"{prefix}.indices"], state[f"{prefix}.values"],
                   int(state[f"{prefix}.n_items"]))
