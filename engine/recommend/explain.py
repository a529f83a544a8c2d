"""Why an item was recommended: which of the user's own interactions contributed most.

Three kinds of answer, depending on what the model can say:

* ``exact`` — the score is a sum over the user's history, so each history item's share is
  known: item-kNN (x_uj·W[j, i]), EASE (x_uj·B[j, i]) and iALS (Hu et al. 2008, §5:
  score(u, i) = Σ_j s^u_ij c_uj with s^u = Y W^u Yᵀ);
* ``similar`` — factor models trained by sampling (BPR-MF, NCF) have no such sum; the
  history items most like the recommended one in the model's item embedding space (cosine)
  are shown instead, and called "similar to", not "because of";
* ``popular`` — the popularity model (and every cold-start list) has no personal reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.recommend.base import Recommender, top_k

EXACT, SIMILAR, POPULAR = "exact", "similar", "popular"


@dataclass(frozen=True)
class Reason:
    """One history item behind a recommendation and its weight (its share of the positive total)."""

    item: int
    weight: float
    share: float


def explanation_kind(model: Recommender) -> str:
    if hasattr(model, "contributions"):
        return EXACT
    if model.item_embeddings() is not None:
        return SIMILAR
    return POPULAR


def explain(model: Recommender, user: int, items: torch.Tensor, top: int = 3) -> tuple[str, list[list[Reason]]]:
    """For each of ``items`` (recommended to ``user``), up to ``top`` history items with the
    largest positive contribution (``exact``) or similarity (``similar``); equal weights go to
    the lower item index."""
    kind = explanation_kind(model)
    history = model.history.row_items(user) if model.history is not None else torch.zeros(0, dtype=torch.int64)
    if kind == POPULAR or len(history) == 0 or len(items) == 0:
        return POPULAR if kind == POPULAR else kind, [[] for _ in range(len(items))]
    if kind == EXACT:
        weights = model.contributions(user, items)[:, history.to(model.device)]
    else:
        emb = model.item_embeddings()
        emb = emb / emb.norm(dim=1, keepdim=True).clamp(min=1e-12)
        weights = emb[items.to(emb.device)] @ emb[history.to(emb.device)].t()
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
