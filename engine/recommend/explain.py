"""Why an item was recommended: which of the user's own interactions contributed most.

Three kinds of answer, depending on what the model can say:

* ``exact`` — the score is a sum over the user's history, so each history item's share is
  known: item-kNN (x_uj·W[j, i]), EASE (x_uj·B[j, i]) and iALS (Hu et al. 2008, §5:
  score(u, i) = Σ_j s^u_ij c_uj with s^u = Y W^u Yᵀ);
* ``similar`` — factor models trained by sampling (BPR-MF, NCF) have no such sum; the
  history items most like the recommended one in the model's item embedding space (cosine)
  are shown instead, and called "similar to", not "because of";
* ``tags`` — the hybrid model (:mod:`engine.recommend.hybrid`) scores an item partly through
  its features; the part of the score each tag of the recommended item carries is exact
  (f_if · (p_u · E_f + β_f)), and the tags shown are those the user's own training history
  also carries, largest positive part first ("because you answered questions tagged qiskit,
  grover"); each reason names the tag and the history items that carry it;
* ``popular`` — the popularity model (and every cold-start list) has no personal reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.recommend.base import Recommender, top_k
from engine.recommend.capabilities import ExactlyExplainable, FeatureExplainable

EXACT, SIMILAR, TAGS, POPULAR = "exact", "similar", "tags", "popular"
TAG_PREFIX = "tag:"
VIA_ITEMS = 3


@dataclass(frozen=True)
class Reason:
    """One history item behind a recommendation and its weight (its share of the positive total);
    for ``tags`` reasons, ``item`` is the feature's index, ``name`` the tag and ``via`` the
    user's history items that carry it."""

    item: int
    weight: float
    share: float
    name: str | None = None
    via: tuple[int, ...] = ()


def explanation_kind(model: Recommender) -> str:
    """Which kind of answer ``model`` gives: what it can say (its capabilities), best first."""
    if isinstance(model, FeatureExplainable) and any(n.startswith(TAG_PREFIX) for n in model.feature_names):
        return TAGS
    if isinstance(model, ExactlyExplainable):
        return EXACT
    if model.item_embeddings() is not None:
        return SIMILAR
    return POPULAR


def explain(model: Recommender, user: int, items: torch.Tensor, top: int = 3) -> tuple[str, list[list[Reason]]]:
    """For each of ``items`` (recommended to ``user``), up to ``top`` history items with the
    largest positive contribution (``exact``) or similarity (``similar``), or tags (``tags``);
    equal weights go to the lower item index."""
    kind = explanation_kind(model)
    history = model.history.row_items(user) if model.history is not None else torch.zeros(0, dtype=torch.int64)
    if kind == POPULAR or len(history) == 0 or len(items) == 0:
        return kind, [[] for _ in range(len(items))]
    if kind == TAGS and isinstance(model, FeatureExplainable):
        return TAGS, _tag_reasons(model, user, history, items, top)
    if kind == EXACT and isinstance(model, ExactlyExplainable):
        every = model.contributions(user, items)
        weights = every[:, history.to(every.device)]
    else:
        weights = _similarities(model.item_embeddings(), history, items)
    weights = weights.detach().cpu().to(torch.float64)
    positive = weights.clamp(min=0)
    totals = positive.sum(1, keepdim=True).clamp(min=1e-300)
    best, where = top_k(positive, min(top, len(history)))
    reasons = []
    for row in range(len(items)):
        reasons.append([
            Reason(int(history[j]), float(w), float(w / totals[row, 0]))
            for w, j in zip(best[row].tolist(), where[row].tolist(), strict=True) if w > 0
        ])
    return kind, reasons


def _similarities(embeddings: torch.Tensor | None, history: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """``len(items) × len(history)``: cosine similarity of each item to each history item in the
    model's item embedding space."""
    if embeddings is None:
        raise ValueError("similarity explanations need item embeddings")
    emb = embeddings / embeddings.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return emb[items.to(emb.device)] @ emb[history.to(emb.device)].t()


def _tag_reasons(model: FeatureExplainable, user: int, history: torch.Tensor, items: torch.Tensor,
                 top: int) -> list[list[Reason]]:
    """Per item, up to ``top`` of its tags that the user's history also carries, by their
    positive part of the score; each with the history items carrying it (lowest index first)."""
    names = model.feature_names
    tags = torch.tensor([j for j, n in enumerate(names) if n.startswith(TAG_PREFIX)], dtype=torch.int64)
    seen = model.item_feature_rows(history).cpu()[:, tags] > 0  # history × tags
    every = model.feature_contributions(user, items).detach().cpu().to(torch.float64).clamp(min=0)
    totals = every.sum(1)  # the positive part of the score carried by all features: tags, words, …
    parts = torch.where(seen.any(0)[None, :], every[:, tags], torch.zeros(len(items), len(tags), dtype=torch.float64))
    best, where = top_k(parts, min(top, len(tags))) if len(tags) else (parts, parts.long())
    out: list[list[Reason]] = []
    for row in range(len(items)):
        reasons: list[Reason] = []
        for w, j in zip(best[row].tolist(), where[row].tolist(), strict=True):
            if w <= 0:
                continue
            via = history[seen[:, j]][:VIA_ITEMS]
            reasons.append(Reason(int(tags[j]), float(w), float(w / max(float(totals[row]), 1e-300)),
                                  names[int(tags[j])][len(TAG_PREFIX):], tuple(int(i) for i in via)))
        out.append(reasons)
    return out
