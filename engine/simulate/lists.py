"""Per-user ranked lists from a recommender's scores: the serving order, top C, MMR re-ranking.

A ``model`` policy — frozen (:class:`~engine.simulate.policies.ScorePolicy`) or retrained in the
loop (:class:`~engine.simulate.retrain.RetrainedPolicy`) — turns a fitted
:class:`~engine.recommend.base.Recommender` into a list of ``C`` catalog items per world user.
Both do it here, the same way, so that a retrained model's lists differ from the frozen one's
only by what it learned.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from engine.recommend.base import Recommender, mask_scores
from engine.recommend.matrix import UserItemMatrix
from engine.threads import one_thread

ScoreRows = Callable[[int, int], np.ndarray]  # (lo, hi) -> scores of users lo..hi-1 over the catalog
CHUNK = 1_024  # score rows ranked at a time


def served_scores(model: Recommender, seen: UserItemMatrix, users: np.ndarray, items: np.ndarray,
                  popularity: np.ndarray) -> ScoreRows:
    """The world users' scores over the catalog, in the order serving ranks them.

    ``users`` [U] and ``items`` [M] are each world user's row and each catalog item's column in the
    model (-1 where the model never saw it); ``popularity`` [M] the catalog's opening counts. Rows
    rank the items the model knows by its score, then the user's own history (``seen``; serving
    leaves it out), then the items the model never saw; users it never saw get log(1 + popularity).
    """
    known_i = np.flatnonzero(items >= 0)
    fallback = np.log1p(popularity).astype(np.float32)

    def scores(lo: int, hi: int) -> np.ndarray:
        out = np.tile(fallback, (hi - lo, 1))
        known = np.flatnonzero(users[lo:hi] >= 0)
        if len(known):
            rows = torch.as_tensor(users[lo:hi][known])
            s = mask_scores(model.score(rows), rows, seen, None).cpu().numpy()[:, items[known_i]]
            finite = np.where(np.isfinite(s), s, np.inf).min(axis=1, keepdims=True)
            finite = np.where(np.isfinite(finite), finite, 0.0)  # a user whose history is everything
            s = np.where(np.isfinite(s), s, finite - 1.0)
            block = np.repeat(finite - 2.0, len(items), axis=1)
            block[:, known_i] = s
            out[known] = block
        return out

    return scores


def model_item_vectors(model: Recommender, items: np.ndarray) -> np.ndarray | None:
    """The model's item embeddings over the catalog [M, D] (zero for items it never saw), for MMR
    similarity; None when the model has no embeddings (MMR then uses the catalog's vectors)."""
    emb = model.item_embeddings()
    if emb is None:
        return None
    known_i = np.flatnonzero(items >= 0)
    vectors = np.zeros((len(items), emb.shape[1]), dtype=np.float32)
    vectors[known_i] = emb.cpu().numpy()[items[known_i]]
    return vectors


def score_lists(scores: np.ndarray | ScoreRows, users: int, width: int, device: torch.device, *,
                mmr_lambda: float | None = None, item_vectors: np.ndarray | None = None) -> torch.Tensor:
    """[users, width] item indices: each user's top ``width`` by score, or MMR-re-ranked
    (:func:`mmr_lists`) when ``mmr_lambda`` is set; scored :data:`CHUNK` users at a time, so a
    large score matrix is never held whole.

    On one CPU thread: a chunk's products and top-C are small (CHUNK × M scores, M ≤ 5,000 for a
    calibrated catalog), where a second thread costs more than it saves (:mod:`engine.threads`) —
    measured on 2 busy cores, 100 k users × 500 items × 16 factors: 3.2 s on two threads, 0.07 s
    on one.
    """
    rows = scores if callable(scores) else lambda lo, hi: scores[lo:hi]
    vectors = None if mmr_lambda is None else torch.as_tensor(item_vectors, dtype=torch.float32, device=device)
    lists = []
    with one_thread():
        for lo in range(0, users, CHUNK):
            s = torch.as_tensor(rows(lo, min(lo + CHUNK, users)), dtype=torch.float32, device=device)
            if vectors is None or mmr_lambda is None:
                lists.append(torch.topk(s, width, dim=1).indices)
            else:
                lists.append(mmr_lists(s, vectors, width, mmr_lambda))
    return torch.cat(lists)


def mmr_lists(scores: torch.Tensor, vectors: torch.Tensor, width: int, lam: float, pool_factor: int = 2) -> torch.Tensor:
    """Maximal-marginal-relevance lists of ``width`` items per row of ``scores`` [U, M].

    Greedy over the top ``pool_factor·width`` items by score; similarity is the cosine of
    ``vectors`` [M, D]. Vectorised over users; ``width`` steps.
    """
    pool_size = min(scores.shape[1], pool_factor * width)
    rel, pool = torch.topk(scores, pool_size, dim=1)
    lo, hi = rel.min(dim=1, keepdim=True).values, rel.max(dim=1, keepdim=True).values
    rel = (rel - lo) / (hi - lo).clamp_min(1e-12)
    unit = torch.nn.functional.normalize(vectors, dim=1)[pool]  # [U, P, D]
    sim = torch.einsum("upd,uqd->upq", unit, unit)  # [U, P, P]
    chosen = torch.zeros_like(rel, dtype=torch.bool)
    max_sim = torch.zeros_like(rel)
    picks = []
    for step in range(width):
        value = lam * rel - (1 - lam) * max_sim if step else rel.clone()
        value = value.masked_fill(chosen, float("-inf"))
        pick = value.argmax(dim=1)
        picks.append(pool.gather(1, pick[:, None]))
        chosen.scatter_(1, pick[:, None], True)
        max_sim = torch.maximum(max_sim, sim.gather(1, pick[:, None, None].expand(-1, 1, sim.shape[2]))[:, 0])
    return torch.cat(picks, dim=1)
