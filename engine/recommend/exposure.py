"""Beyond-accuracy metrics of top-K lists: what gets shown, how new, how varied, how fair.

Inputs: ``lists`` — ``B × K`` item indices (best first); ``valid`` — ``B × K`` booleans, false
for slots that hold no real recommendation (a user with fewer than K candidate items).
Popularity is measured on the training pairs: ``pop_i`` = number of users with item i.

* catalog coverage = |⋃_u R_u| / n_items (from the per-item exposure counts);
* novelty (Zhou et al. 2010) = mean over a list of self-information −log2 p(i),
  p(i) = max(pop_i, 1) / n_users (an item never seen in training counts as seen once);
* intra-list diversity (Ziegler et al. 2005) = mean over pairs i ≠ j of a list of
  1 − cos(i, j), cosine between the items' binary user vectors in the training matrix
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


def item_vectors(train: UserItemMatrix, device: torch.device | str = "cpu") -> torch.Tensor:
    """Items as unit-length binary user vectors: a sparse COO ``n_items × n_users`` tensor
    (items nobody trained on are zero vectors)."""
    items_users = train.binary().transpose()
    norms = items_users.row_counts().to(torch.float64).sqrt()
    values = (1.0 / norms.clamp(min=1))[items_users.rows()]
    return torch.sparse_coo_tensor(
        torch.stack([items_users.rows(), items_users.indices]), values, items_users.shape, check_invariants=False
    ).coalesce().to(device)


def intra_list_diversity(lists: torch.Tensor, valid: torch.Tensor, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean pairwise ``1 − cos`` of each list, and which lists have at least two items.

    Uses Σ_{i≠j} v_i·v_j = ‖Σ_i v_i‖² − Σ_i ‖v_i‖², so only the sparse sum of each list's
    vectors is formed (no K × K similarity matrices).
    """
    b, k = lists.shape
    rows = torch.arange(b, device=lists.device).repeat_interleave(k).reshape(b, k)[valid]
    cols = lists[valid]
    indicator = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows), dtype=torch.float64,
                                                                               device=lists.device),
                                        (b, vectors.shape[0]), check_invariants=False).coalesce()
    summed = torch.sparse.mm(indicator, vectors).coalesce()
    square_norm = torch.zeros(b, dtype=torch.float64, device=lists.device).index_add_(
        0, summed.indices()[0], summed.values() ** 2)
    self_norm = torch.zeros(vectors.shape[0], dtype=torch.float64, device=lists.device).index_add_(
        0, vectors.indices()[0], vectors.values() ** 2)
    own = (self_norm[lists] * valid).sum(1)
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
