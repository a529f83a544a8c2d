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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from engine.errors import EngineError
from engine.recommend import exposure
from engine.recommend.base import Recommender, top_k
from engine.recommend.explain import POPULAR, Reason, explain
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


def _top(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    values, items = top_k(scores[None, :], k)
    return values[0], items[0]


def popularity_scores(model: Recommender, peers: torch.Tensor | None = None) -> torch.Tensor:
    """Training users per item, over ``peers`` (user indices) when given, else over everyone."""
    history = model.history
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
    history = model.history
    known = user is not None and 0 <= user < history.n_users and len(history.row_items(user)) > 0
    if known:
        scores = model.score(torch.tensor([user])).detach().cpu()[0].to(torch.float32)
        source = PERSONAL
    else:
        scores = popularity_scores(model, peers)
        source = COLD_SEGMENT if peers is not None and len(peers) else COLD_OVERALL
    scores = scores.clone()
    if user is not None and 0 <= user < history.n_users:
        scores[history.row_items(user)] = float("-inf")
    if blocked is not None and len(blocked):
        scores[blocked.to(torch.int64)] = float("-inf")
    wanted = min(k, history.n_items)
    if diversity > 0:
        n_cand = min(history.n_items, max(5 * k, MIN_CANDIDATES))
        cand_scores, candidates = _top(scores, n_cand)
        vectors = model.item_embeddings()
        vectors = vectors.detach().cpu() if vectors is not None else exposure.item_users(history)
        sim = candidate_similarity(candidates[None, :], vectors)
        picks = mmr_rerank(cand_scores[None, :], candidates[None, :], sim.cpu(), wanted, diversity)[0]
        picks = picks[picks >= 0]
        items, top = candidates[picks], cand_scores[picks]
    else:
        top, items = _top(scores, wanted)
    keep = torch.isfinite(top)
    items, top = items[keep], top[keep]
    served = ServedList(items.tolist(), top.tolist(), source)
    if with_reasons:
        if known:
            served.explanation, served.reasons = explain(model, user, items)
        else:
            served.explanation, served.reasons = POPULAR, [[] for _ in range(len(items))]
    return served
