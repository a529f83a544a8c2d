"""Beyond-accuracy metrics of top-K lists: what gets shown, how new, how varied, how fair.

Inputs: ``lists`` — ``B × K`` item indices (best first); ``valid`` — ``B × K`` booleans, false
for slots that hold no real recommendation (a user with fewer than K candidate items).
Popularity is measured on the training pairs: ``pop_i`` = number of users with item i.

* catalog coverage = |⋃_u R_u| / n_items (from the per-item exposure counts);
* novelty (Zhou et al. 2010) = mean over a list of self-information −log2 p(i),
  p(i) = max(pop_i, 1) / n_users (an item never seen in training counts as seen once);
* intra-list diversity (Ziegler et al. 2005) = mean over pairs i ≠ j of a list of
  1 − cos(i, j), cosine between the items' binary user vectors in the training matrix
  (an item nobody trained on has similarity 0 to every item)
  (co-occurrence cosine, the same for every model, so lists are comparable across models);
* popularity bias = mean popularity percentile of recommended items, the mid-rank
  percentile pct(i) = (#{j: pop_j < pop_i} + #{j: pop_j ≤ pop_i}) / (2·n_items) ∈ (0, 1);
* creator exposure Gini = the Gini coefficient of recommendation slots per creator over all
  creators of catalog items, G = Σ_i (2i − n − 1)·x_(i) / (n·Σ x), x ascending (0: equal
  exposure, → 1: all slots to one creator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engine.recommend.matrix import UserItemMatrix

#: Cells of the dense (lists × users) sums held at once by :func:`intra_list_diversity_at`
#: (float64: 8 MB, about what a CPU's last-level cache holds).
SUM_BUDGET = 1 << 20
#: Read the sums over the whole block when its entries are at least 1/DENSE_READ of its cells
#: (a cell of a streaming pass costs about a sixteenth of a scattered entry on a CPU).
DENSE_READ = 16


def item_exposure(lists: torch.Tensor, valid: torch.Tensor, n_items: int) -> torch.Tensor:
    """How many list slots each item fills (int64, n_items)."""
    return torch.bincount(lists[valid], minlength=n_items)


def catalog_coverage(exposure: torch.Tensor) -> float:
    """Share of the catalog that appears in at least one list."""
    return float((exposure > 0).sum()) / len(exposure)


def novelty(lists: torch.Tensor, valid: torch.Tensor, popularity: torch.Tensor, n_users: int) -> torch.Tensor:
    """Mean self-information −log2(max(pop, 1) / n_users) of each list (float64, per user)."""
    info = -torch.log2(popularity.to(torch.float64).clamp(min=1) / n_users)
    per_slot = info[lists] * valid
    return per_slot.sum(1) / valid.sum(1).clamp(min=1)


def popularity_percentiles(popularity: torch.Tensor) -> torch.Tensor:
    """Mid-rank percentile of each item's popularity, in (0, 1) (float64).

    >>> popularity_percentiles(torch.tensor([5, 1, 5, 9])).tolist()
    [0.5, 0.125, 0.5, 0.875]
    """
    pop = popularity.to(torch.float64)
    ordered = torch.sort(pop).values
    below = torch.searchsorted(ordered, pop, right=False).to(torch.float64)
    at_or_below = torch.searchsorted(ordered, pop, right=True).to(torch.float64)
    return (below + at_or_below) / (2 * len(pop))


def popularity_bias(lists: torch.Tensor, valid: torch.Tensor, percentiles: torch.Tensor) -> torch.Tensor:
    """Mean popularity percentile of each list's items (float64, per user)."""
    return (percentiles[lists] * valid).sum(1) / valid.sum(1).clamp(min=1)


def item_users(train: UserItemMatrix) -> UserItemMatrix:
    """Each item's users: the binary ``n_items × n_users`` transpose of the training matrix
    (the item vectors whose cosine is the co-occurrence similarity)."""
    return train.binary().transpose()


def intra_list_diversity(lists: torch.Tensor, valid: torch.Tensor, items_users: UserItemMatrix
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean pairwise ``1 − cos`` of each whole list, and which lists have at least two items
    (see :func:`intra_list_diversity_at`)."""
    width = lists.shape[1]
    return intra_list_diversity_at(lists, valid, items_users, [width])[width]


def intra_list_diversity_at(lists: torch.Tensor, valid: torch.Tensor, items_users: UserItemMatrix,
                            ks: Sequence[int]) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """For each k in ``ks`` (1 ≤ k ≤ the lists' width): the mean pairwise ``1 − cos`` of each
    list's first k slots, and which of those lists have at least two items.

    With unit vectors v_i (v_iu = 1/√pop_i for each user u of item i) and S = Σ_{i∈L} v_i,
    Σ_{i≠j∈L} v_i·v_j = ‖S‖² − #{i ∈ L: pop_i > 0} (see :func:`_square_norms`) — no K × K
    similarity matrices.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1 or ks[-1] > lists.shape[1]:
        raise ValueError(f"cut-offs {ks} must lie between 1 and the lists' width {lists.shape[1]}")
    square_norms = _square_norms(lists, valid, items_users, ks)
    has_users = items_users.row_counts().to(lists.device) > 0
    out = {}
    for cut, k in enumerate(ks):
        ok = valid[:, :k]
        own = (has_users[lists[:, :k]] & ok).sum(1).to(torch.float64)
        length = ok.sum(1).to(torch.float64)
        pairs = length * (length - 1)
        has_pairs = pairs > 0
        ild = torch.where(has_pairs, 1.0 - (square_norms[cut] - own) / pairs.clamp(min=1), torch.zeros_like(pairs))
        out[k] = (ild, has_pairs)
    return out


def _square_norms(lists: torch.Tensor, valid: torch.Tensor, items_users: UserItemMatrix,
                  ks: list[int]) -> torch.Tensor:
    """‖S‖² of each list's first k valid slots for each k in ``ks`` (sorted): ``len(ks) × B``.

    S is accumulated for a block of lists in a dense scratch (lists × users,
    :data:`SUM_BUDGET` cells) by adding only the entries its items have, slot group by slot
    group, and ‖S‖² is read at each cut-off. Reading (and clearing) the whole block is a
    streaming pass; where the entries are fewer than 1/:data:`DENSE_READ` of the cells it is
    cheaper to read at the entries only: ‖S + D‖² = ‖S‖² + Σ_e v_e·(S[u_e] + (S + D)[u_e]) over
    the entries e of the slots that add D.
    """
    device = lists.device
    n_users = items_users.n_items
    vectors = _UnitVectors.of(items_users, device)
    cuts = list(zip([0, *ks[:-1]], ks, strict=True))
    out = torch.zeros(len(ks), len(lists), dtype=torch.float64, device=device)
    block = max(1, min(len(lists), SUM_BUDGET // max(1, n_users)))
    scratch = torch.zeros(block * n_users, dtype=torch.float64, device=device)
    for start in range(0, len(lists), block):
        part, ok = lists[start:start + block], valid[start:start + block]
        rows = len(part)
        owner = torch.arange(rows, device=device)[:, None].expand_as(part)
        groups = [(part[:, lo:hi][ok[:, lo:hi]], owner[:, lo:hi][ok[:, lo:hi]]) for lo, hi in cuts]
        counts = [vectors.counts.index_select(0, items) for items, _ in groups]
        dense = sum(int(c.sum()) for c in counts) * DENSE_READ >= rows * n_users
        view = scratch[:rows * n_users].view(rows, n_users)
        so_far = torch.zeros(rows, dtype=torch.float64, device=device)
        touched = []
        for cut, ((items, slot_owner), count) in enumerate(zip(groups, counts, strict=True)):
            keys, weight = vectors.entries(items, slot_owner, count, n_users)
            if dense:
                scratch.index_add_(0, keys, weight)
                so_far = torch.linalg.vector_norm(view, dim=1).square()
            else:
                before = scratch.index_select(0, keys)
                scratch.index_add_(0, keys, weight)
                entry_owner = torch.repeat_interleave(slot_owner, count, output_size=len(keys))
                so_far = so_far.index_add(0, entry_owner, weight * (before + scratch.index_select(0, keys)))
                touched.append(keys)
            out[cut, start:start + rows] = so_far
        if dense:
            view.zero_()
        else:
            scratch.index_fill_(0, torch.cat(touched), 0.0)
    return out


@dataclass(frozen=True)
class _UnitVectors:
    """The items' unit vectors over users, as CSR rows on a device: ``users`` and ``weight``
    (1/√pop_i, float64) per entry, ``indptr`` and ``counts`` (pop_i) per item."""

    indptr: torch.Tensor
    users: torch.Tensor
    weight: torch.Tensor
    counts: torch.Tensor

    @classmethod
    def of(cls, items_users: UserItemMatrix, device: torch.device) -> _UnitVectors:
        counts = items_users.row_counts().to(device)
        per_item = 1.0 / counts.to(torch.float64).clamp(min=1).sqrt()
        return cls(items_users.indptr.to(device), items_users.indices.to(device),
                   torch.repeat_interleave(per_item, counts), counts)

    def entries(self, items: torch.Tensor, owner: torch.Tensor, count: torch.Tensor, n_users: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """For slots holding ``items`` in lists ``owner`` (``count``: the items' popularity),
        every entry of those items' vectors, slot after slot: its scratch position
        ``owner·n_users + user`` and its weight."""
        total = int(count.sum())
        first = torch.cumsum(count, 0) - count
        pos = torch.arange(total, device=items.device) + torch.repeat_interleave(
            self.indptr.index_select(0, items) - first, count, output_size=total)
        keys = torch.repeat_interleave(owner * n_users, count, output_size=total) + self.users.index_select(0, pos)
        return keys, self.weight.index_select(0, pos)


def gini(values: torch.Tensor) -> float:
    """Gini coefficient of non-negative ``values`` (0 when all are equal or all zero).

    >>> round(gini(torch.tensor([0.0, 0.0, 0.0, 4.0])), 6)
    0.75
    """
    x = torch.sort(values.to(torch.float64).flatten()).values
    n = len(x)
    total = float(x.sum())
    if n == 0 or total == 0:
        return 0.0
    i = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    return float(((2 * i - n - 1) * x).sum()) / (n * total)


def creator_exposure(exposure: torch.Tensor, item_creator: torch.Tensor, n_creators: int) -> torch.Tensor:
    """Recommendation slots per creator (items without a creator are left out)."""
    owned = item_creator >= 0
    return torch.zeros(n_creators, dtype=torch.float64, device=exposure.device).index_add_(
        0, item_creator[owned].to(exposure.device), exposure[owned].to(torch.float64))
