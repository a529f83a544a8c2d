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


class ServedScores:
    """The world users' scores over the catalog, in the order serving ranks them; called with
    ``(lo, hi)`` it gives the rows of users ``lo … hi-1`` (a :data:`ScoreRows`).

    ``users`` [U] and ``items`` [M] are each world user's row and each catalog item's column in the
    model (-1 where the model never saw it); ``popularity`` [M] the catalog's opening counts. Rows
    rank the items the model knows by its score, then the user's own history (``seen``; serving
    leaves it out), then the items the model never saw; users it never saw get log(1 + popularity).

    :meth:`top` gives the same top-C lists without building those rows: the model's scores of the
    known items with the history at −inf, top C (one matrix product, a scatter and a ``topk`` per
    chunk); only a row with fewer than C unseen known items falls back to the whole ordering.
    Every row is worked out on its own, so a user's list does not depend on which other users are
    listed with it (what lets :mod:`engine.simulate.retrain` list users lazily).
    """

    def __init__(self, model: Recommender, seen: UserItemMatrix, users: np.ndarray, items: np.ndarray,
                 popularity: np.ndarray) -> None:
        self.model, self.seen, self.users, self.items = model, seen, users, items
        self.known_i = np.flatnonzero(items >= 0)
        self.fallback = np.log1p(popularity).astype(np.float32)
        self.every_item_known = len(self.known_i) == len(items)
        # the catalog's known items' model columns, and each model column's place among them (-1: none)
        self.columns = torch.as_tensor(items[self.known_i], dtype=torch.int64)
        self.position = torch.full((max(int(items.max(initial=-1)) + 1, seen.n_items),), -1, dtype=torch.int64)
        self.position[self.columns] = torch.arange(len(self.columns))
        self.identity = self.every_item_known and bool(np.array_equal(items, np.arange(seen.n_items)))

    def __call__(self, lo: int, hi: int) -> np.ndarray:
        return self.rows(np.arange(lo, hi))

    def rows(self, who: np.ndarray) -> np.ndarray:
        """[len(who), M] served scores of the world users ``who``."""
        items, known_i = self.items, self.known_i
        out = np.tile(self.fallback, (len(who), 1))
        model_rows = self.users[who]
        known = np.flatnonzero(model_rows >= 0)
        if len(known):
            rows = torch.as_tensor(model_rows[known])
            s = mask_scores(self.model.score(rows), rows, self.seen, None).cpu().numpy()[:, items[known_i]]
            finite = np.where(np.isfinite(s), s, np.inf).min(axis=1, keepdims=True)
            finite = np.where(np.isfinite(finite), finite, 0.0)  # a user whose history is everything
            s = np.where(np.isfinite(s), s, finite - 1.0)
            block = np.repeat(finite - 2.0, len(items), axis=1)
            block[:, known_i] = s
            out[known] = block
        return out

    def top(self, who: np.ndarray, width: int) -> torch.Tensor:
        """[len(who), width] int64 catalog indices: the first ``width`` of each row of :meth:`rows`."""
        out = torch.empty((len(who), width), dtype=torch.int64)
        model_rows = self.users[who]
        known = np.flatnonzero(model_rows >= 0)
        if len(known) < len(who):  # users the model never saw: one popularity list
            fallback = torch.topk(torch.as_tensor(self.fallback)[None], width, dim=1).indices
            out[torch.as_tensor(np.flatnonzero(model_rows < 0))] = fallback
        if not len(known):
            return out
        rows = torch.as_tensor(model_rows[known])
        s = self.model.score(rows).cpu()
        batch_row, item, _ = self.seen.batch_pairs(rows)
        if not self.identity:
            s = s[:, self.columns]
            item = self.position[item]
            keep = item >= 0
            batch_row, item = batch_row[keep], item[keep]
        s[batch_row, item] = float("-inf")
        values, top = torch.topk(s, min(width, s.shape[1]), dim=1)
        if not self.identity:
            top = torch.as_tensor(self.known_i)[top]
        short = torch.ones(len(known), dtype=torch.bool) if top.shape[1] < width else ~torch.isfinite(values[:, -1])
        if bool(short.any()):  # fewer than width unseen known items: the whole serving order
            few = torch.nonzero(short).flatten()
            full = torch.as_tensor(self.rows(who[known[few.numpy()]]), dtype=torch.float32)
            padded = torch.empty((len(known), width), dtype=torch.int64)
            padded[:, :top.shape[1]] = top
            padded[few] = torch.topk(full, width, dim=1).indices
            top = padded
        out[torch.as_tensor(known)] = top
        return out


def served_scores(model: Recommender, seen: UserItemMatrix, users: np.ndarray, items: np.ndarray,
                  popularity: np.ndarray) -> ServedScores:
    """The world users' scores over the catalog, in the order serving ranks them (:class:`ServedScores`)."""
    return ServedScores(model, seen, users, items, popularity)


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
    if isinstance(scores, ServedScores):
        return listed(scores, np.arange(users), width, device, mmr_lambda=mmr_lambda, item_vectors=item_vectors)
    rows = scores if callable(scores) else lambda lo, hi: scores[lo:hi]
    return _lists(rows, users, width, device, mmr_lambda, item_vectors)


def listed(scores: ServedScores, who: np.ndarray, width: int, device: torch.device, *,
           mmr_lambda: float | None = None, item_vectors: np.ndarray | None = None) -> torch.Tensor:
    """[len(who), width]: :func:`score_lists`'s lists of the world users ``who`` only (any
    order), row for row what it gives them — without MMR by :meth:`ServedScores.top`."""
    if mmr_lambda is None:
        with one_thread():
            tops = [scores.top(who[lo:lo + CHUNK], width).to(device) for lo in range(0, len(who), CHUNK)]
        return torch.cat(tops) if tops else torch.empty((0, width), dtype=torch.int64, device=device)
    return _lists(lambda lo, hi: scores.rows(who[lo:hi]), len(who), width, device, mmr_lambda, item_vectors)


def _lists(rows: ScoreRows, users: int, width: int, device: torch.device, mmr_lambda: float | None,
           item_vectors: np.ndarray | None) -> torch.Tensor:
    vectors = None if mmr_lambda is None else torch.as_tensor(item_vectors, dtype=torch.float32, device=device)
    lists = []
    with one_thread():
        for lo in range(0, users, CHUNK):
            s = torch.as_tensor(rows(lo, min(lo + CHUNK, users)), dtype=torch.float32, device=device)
            if vectors is None or mmr_lambda is None:
                lists.append(torch.topk(s, width, dim=1).indices)
            else:
                lists.append(mmr_lists(s, vectors, width, mmr_lambda))
    return torch.cat(lists) if lists else torch.empty((0, width), dtype=torch.int64, device=device)


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
