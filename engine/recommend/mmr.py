"""Maximal marginal relevance re-ranking (Carbonell & Goldstein 1998), batched over users.

From each user's candidates (best first) pick K greedily; at every step take

    argmax_i  (1 − λ) · rel(i) − λ · max_{j ∈ picked} sim(i, j)

where rel is the model's score min-max scaled to [0, 1] over the user's candidates and sim the
cosine similarity of items; of candidates with equal value, the lower item index. λ = 0 keeps
the model's order; λ = 1 picks the item least like those already picked. The loop runs K
steps for all users at once.
"""

from __future__ import annotations

import torch

from engine.errors import EngineError
from engine.recommend.matrix import UserItemMatrix


def candidate_similarity(candidates: torch.Tensor, vectors: torch.Tensor | UserItemMatrix) -> torch.Tensor:
    """Cosine similarity between each user's candidates: ``B × C × C``.

    ``vectors`` is either dense item embeddings (n_items × f) or item vectors as a sparse
    matrix (e.g. each item's users, :func:`engine.recommend.exposure.item_users`).
    """
    if isinstance(vectors, UserItemMatrix):
        unique, inverse = torch.unique(candidates.clamp(min=0).cpu(), return_inverse=True)
        picked = vectors.dense_rows(unique, candidates.device)
        picked = picked / picked.norm(dim=1, keepdim=True).clamp(min=1e-12)
        inverse = inverse.to(candidates.device)
        return (picked @ picked.t())[inverse[:, :, None], inverse[:, None, :]]
    emb = vectors[candidates.clamp(min=0).to(vectors.device)]
    emb = emb / emb.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return emb @ emb.transpose(1, 2)


def mmr_rerank(scores: torch.Tensor, candidates: torch.Tensor, similarity: torch.Tensor, k: int,
               diversity: float) -> torch.Tensor:
    """Positions (``B × k``, into ``candidates``) chosen by MMR with λ = ``diversity``.

    ``scores`` (B × C) is −inf where a candidate slot is empty; such slots are never picked
    while a real candidate remains, and a list runs out as -1. ``candidates`` (B × C, item
    indices, distinct per row) break ties: of equal MMR values the lower item wins, on every
    device (no reliance on which maximum ``argmax`` returns).
    """
    if not 0.0 <= diversity <= 1.0:
        raise EngineError(f"diversity λ must be between 0 and 1 (got {diversity})")
    b, c = scores.shape
    valid = torch.isfinite(scores)
    finite = torch.where(valid, scores, torch.zeros_like(scores))
    low = torch.where(valid, scores, torch.full_like(scores, float("inf"))).min(1, keepdim=True).values
    high = torch.where(valid, scores, torch.full_like(scores, float("-inf"))).max(1, keepdim=True).values
    span = (high - low).clamp(min=1e-12)
    relevance = torch.where(valid, (finite - low) / span, torch.zeros_like(scores))
    closest = torch.zeros(b, c, device=scores.device)
    available = valid.clone()
    picks = torch.full((b, min(k, c)), -1, dtype=torch.int64, device=scores.device)
    rows = torch.arange(b, device=scores.device)
    items = candidates.to(device=scores.device, dtype=torch.int64)
    # keys of slots that are not a best choice: above every item index, and distinct, so that
    # argmin has a single answer
    beyond = torch.iinfo(torch.int64).max - c + 1 + torch.arange(c, device=scores.device)
    for step in range(min(k, c)):
        value = (1 - diversity) * relevance - diversity * closest
        value = torch.where(available, value, torch.full_like(value, float("-inf")))
        best_value = value.max(1, keepdim=True).values
        best = torch.where(available & (value == best_value), items, beyond).argmin(1)
        ok = available[rows, best]
        picks[:, step] = torch.where(ok, best, torch.full_like(best, -1))
        available[rows[ok], best[ok]] = False
        closest = torch.where(ok[:, None], torch.maximum(closest, similarity[rows, best]), closest)
    return picks
