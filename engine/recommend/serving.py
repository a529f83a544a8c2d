"""A top-K list for one person: business filters, cold start, MMR diversity, explanations.

Order of work:

1. **Who**: a user the model was trained on with at least one training interaction gets the
   model's scores. Anyone else — an ID the model never saw, or a user whose interactions all
   fell outside training — gets the **cold-start** list: items by the number of training
   users who interacted with them, counted over ``peers`` when given (the people of the same
   segment) and overall otherwise. Never an error.
2. **Filters**: the user's training items are never shown again; ``blocked`` items (already
   bought, hidden by the business) are removed for this user.
3. **Diversity**: with λ > 0 the top max(5K, 50) candidates are re-ranked by MMR
   (:mod:`engine.recommend.mmr`).
4. **Why**: optional explanations (:mod:`engine.recommend.explain`).

:func:`serve_batch` runs steps 2 and 3 for many known users at once (a batch export of every
user's list); :func:`serve` runs a known user through it as a batch of one, so a list is the
same whichever way it was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from engine.errors import EngineError
from engine.recommend import exposure
from engine.recommend.base import Recommender, mask_scores, top_k
from engine.recommend.explain import POPULAR, Reason, explain
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.mmr import candidate_similarity, mmr_rerank

PERSONAL, COLD_SEGMENT, COLD_OVERALL = "model", "popular in segment", "popular overall"
MIN_CANDIDATES = 50


@dataclass
class ServedList:
    """The items (indices), their scores, where the list came from, and why each item."""

    items: list[int]
    scores: list[float]
    source: str
    explanation: str | None = None
    reasons: list[list[Reason]] = field(default_factory=list)


def serve_batch(
    model: Recommender,
    users: torch.Tensor,
    k: int,
    *,
    blocked: torch.Tensor | None = None,
    blocked_pairs: UserItemMatrix | None = None,
    diversity: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The personal lists of ``users`` (indices of users with a training history), batched:
    ``len(users) × min(k, n_items)`` item indices and scores on the CPU, best first, -1 / -inf
    where nothing is left. The same steps as :func:`serve`: the model's scores, training items
    and ``blocked`` items (for everyone) and ``blocked_pairs`` (per user, e.g. purchases) set to
    −inf, then top-K or MMR. Memory is one ``len(users) × n_items`` score matrix: the caller
    picks the batch size.
    """
    with torch.inference_mode():
        scores = model.score(users).detach().to(torch.float32)
        mask_scores(scores, users, model.history, None)
        if blocked_pairs is not None:
            mask_scores(scores, users, blocked_pairs, None)
        if blocked is not None and len(blocked):
            scores[:, blocked.to(device=scores.device, dtype=torch.int64)] = float("-inf")
        items, top = _chosen(model, scores, k, diversity)
    return items, top


def _chosen(model: Recommender, scores: torch.Tensor, k: int, diversity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` per row of masked ``scores`` (B × n_items), or MMR over the best candidates."""
    history = model.require_history()
    wanted = min(k, history.n_items)
    if diversity > 0:
        n_cand = min(history.n_items, max(5 * k, MIN_CANDIDATES))
        cand_scores, candidates = top_k(scores, n_cand)
        embeddings = model.item_embeddings()
        vectors = embeddings.detach().to(scores.device) if embeddings is not None else exposure.item_users(history)
        sim = candidate_similarity(candidates, vectors)
        picks = mmr_rerank(cand_scores, candidates, sim.to(scores.device), wanted, diversity)
        found = picks >= 0
        items = torch.where(found, candidates.gather(1, picks.clamp(min=0)), torch.full_like(picks, -1))
        top = torch.where(found, cand_scores.gather(1, picks.clamp(min=0)), torch.full_like(picks, float("-inf"),
                                                                                            dtype=scores.dtype))
    else:
        top, items = top_k(scores, wanted)
    items = torch.where(torch.isfinite(top), items, torch.full_like(items, -1))
    return items.cpu(), top.cpu()


def popularity_scores(model: Recommender, peers: torch.Tensor | None = None) -> torch.Tensor:
    """Training users per item, over ``peers`` (user indices) when given, else over everyone."""
    history = model.require_history()
    if peers is None or len(peers) == 0:
        return history.item_counts().to(torch.float32)
    return history.dense_rows(peers, "cpu", binary=True).sum(0)


def serve(
    model: Recommender,
    user: int | None,
    k: int,
    *,
    blocked: torch.Tensor | None = None,
    diversity: float = 0.0,
    with_reasons: bool = False,
    peers: torch.Tensor | None = None,
) -> ServedList:
    """The list for ``user`` (an index, or None for someone the model does not know).

    ``blocked`` — item indices never to show this user; ``peers`` — users of the person's
    segment, for the cold-start list.
    """
    if k < 1:
        raise EngineError(f"k must be at least 1 (got {k})")
    if not 0.0 <= diversity <= 1.0:
        raise EngineError(f"diversity λ must be between 0 and 1 (got {diversity})")
    history = model.require_history()
    known = user is not None and 0 <= user < history.n_users and len(history.row_items(user)) > 0
    if known:
        items, top = serve_batch(model, torch.tensor([user]), k, blocked=blocked, diversity=diversity)
        keep = items[0] >= 0
        items, top = items[0][keep], top[0][keep]
        source = PERSONAL
    else:
        scores = popularity_scores(model, peers).clone()
        source = COLD_SEGMENT if peers is not None and len(peers) else COLD_OVERALL
        if user is not None and 0 <= user < history.n_users:
            scores[history.row_items(user)] = float("-inf")
        if blocked is not None and len(blocked):
            scores[blocked.to(torch.int64)] = float("-inf")
        items, top = _chosen(model, scores[None, :], k, diversity)
        keep = items[0] >= 0
        items, top = items[0][keep], top[0][keep]
    served = ServedList(items.tolist(), top.tolist(), source)
    if with_reasons:
        if known and user is not None:
            served.explanation, served.reasons = explain(model, user, items)
        else:
            served.explanation, served.reasons = POPULAR, [[] for _ in range(len(items))]
    return served
