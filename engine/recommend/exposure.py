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

import torch

from engine.recommend.matrix import UserItemMatrix

#: Dense list-sum entries (lists × users) held at once by :func:`intra_list_diversity`.
SUM_BUDGET = 1 << 22


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
    """Mean pairwise ``1 − cos`` of each list, and which lists have at least two items.

    With unit vectors v_i (v_iu = 1/√pop_i for each user u of item i),
    Σ_{i≠j} v_i·v_j = ‖S‖² − #{i: pop_i > 0} where S = Σ_i v_i, and ‖S‖² = Σ_p v_p·S[u_p] over
    the entries p of the list's vectors: the sums go into a scratch row over users (blocks of
    lists that fit :data:`SUM_BUDGET`), touching only the entries the lists have — no K × K
    similarity matrices and no pass over all users.
    """
    device = lists.device
    n_users = items_users.n_items
    popularity = items_users.row_counts().to(torch.float64)
    square_norm = torch.zeros(len(lists), dtype=torch.float64, device=device)
    block = max(1, min(len(lists), SUM_BUDGET // max(1, n_users)))
    scratch = torch.zeros(block * n_users, dtype=torch.float64, device=device)
    for start in range(0, len(lists), block):
        part, ok = lists[start:start + block].cpu(), valid[start:start + block].cpu()
        rows = torch.arange(len(part))[:, None].expand_as(part)[ok]
        items = part[ok]
        slot_of_pair, users, _ = items_users.batch_pairs(items)
        list_of_pair = rows[slot_of_pair].to(device)
        keys = list_of_pair * n_users + users.to(device)
        v = (1.0 / popularity[items[slot_of_pair]].sqrt()).to(device)
        scratch.index_add_(0, keys, v)
        square_norm[start:start + len(part)] = torch.zeros(len(part), dtype=torch.float64, device=device).index_add_(
            0, list_of_pair, v * scratch[keys])
        scratch[keys] = 0.0
    own = ((popularity > 0).to(device)[lists] & valid).sum(1).to(torch.float64)
    length = valid.sum(1).to(torch.float64)
    pairs = length * (length - 1)
    has_pairs = pairs > 0
    ild = torch.where(has_pairs, 1.0 - (square_norm - own) / pairs.clamp(min=1), torch.zeros_like(pairs))
    return ild, has_pairs


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
