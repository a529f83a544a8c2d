"""Ranking metrics at K, per user, vectorised over a batch of users (float64).

Inputs: ``hits`` — a ``B × L`` boolean tensor, ``hits[u, r]`` true when the item ranked
``r+1`` for user ``u`` is one of the user's test items (L ≥ K); ``n_relevant`` — the number of
test items of each user (≥ 1). Relevance is binary. For a user with test set T and list R:

* Precision@K = |R_K ∩ T| / K
* Recall@K    = |R_K ∩ T| / |T|
* NDCG@K      = DCG / IDCG, DCG = Σ_{r≤K} hit_r / log2(r+1), IDCG = Σ_{r≤min(K,|T|)} 1 / log2(r+1)
  (Järvelin & Kekäläinen 2002)
* AP@K        = Σ_{r≤K} P@r · hit_r / min(K, |T|); MAP@K is its mean over users
* HR@K        = 1 if R_K ∩ T ≠ ∅ else 0

Each function returns one value per user; the evaluation averages them over test users.
"""

from __future__ import annotations

import torch


def _top(hits: torch.Tensor, k: int) -> torch.Tensor:
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    if hits.shape[1] < k:
        raise ValueError(f"the lists hold {hits.shape[1]} items, fewer than k={k}")
    return hits[:, :k].to(torch.float64)


def _discounts(k: int, device: torch.device) -> torch.Tensor:
    return 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64, device=device))


def precision_at_k(hits: torch.Tensor, k: int) -> torch.Tensor:
    """|R_K ∩ T| / K per user.

    >>> precision_at_k(torch.tensor([[True, False, True]]), 2).item()
    0.5
    """
    return _top(hits, k).sum(1) / k


def recall_at_k(hits: torch.Tensor, n_relevant: torch.Tensor, k: int) -> torch.Tensor:
    """|R_K ∩ T| / |T| per user."""
    return _top(hits, k).sum(1) / n_relevant.to(torch.float64)


def ndcg_at_k(hits: torch.Tensor, n_relevant: torch.Tensor, k: int) -> torch.Tensor:
    """DCG@K / IDCG@K with binary relevance and log2 discounts, per user."""
    top = _top(hits, k)
    disc = _discounts(k, top.device)
    dcg = (top * disc).sum(1)
    ideal = torch.cumsum(disc, 0)[(n_relevant.clamp(min=1, max=k) - 1).long()]
    return dcg / ideal


def average_precision_at_k(hits: torch.Tensor, n_relevant: torch.Tensor, k: int) -> torch.Tensor:
    """Σ_r P@r · hit_r / min(K, |T|) per user (its mean over users is MAP@K)."""
    top = _top(hits, k)
    ranks = torch.arange(1, k + 1, dtype=torch.float64, device=top.device)
    precision_at_r = torch.cumsum(top, 1) / ranks
    return (precision_at_r * top).sum(1) / n_relevant.clamp(min=1, max=k).to(torch.float64)


def hit_rate_at_k(hits: torch.Tensor, k: int) -> torch.Tensor:
    """1 when any of the top K is a test item, else 0, per user."""
    return (_top(hits, k).sum(1) > 0).to(torch.float64)


ACCURACY = {
    "precision": lambda hits, n, k: precision_at_k(hits, k),
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "hr": lambda hits, n, k: hit_rate_at_k(hits, k),
}
