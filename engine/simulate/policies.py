"""Recommendation policies under test: who is shown what, each day.

A policy proposes, for each visiting agent, ``C`` candidate items in order of preference
(``-1`` pads a short list); the simulator shows the first ``K`` the agent has not opened yet.

* ``random``: C items drawn uniformly (duplicates removed);
* ``popularity``: the C items most opened so far in this replicate — the count starts from the
  calibration window and grows with every simulated click, the feedback loop of Chaney,
  Stewart & Engelhardt (2018);
* ``model``: a trained recommender's score matrix ``[users, items]`` (rows = the real users the
  agents were drawn from; :func:`recommender_policy` builds it from a fitted
  :class:`~engine.recommend.base.Recommender`), its top C per user; with ``mmr_lambda`` the list is re-ranked by
  maximal marginal relevance (Carbonell & Goldstein 1998):
  ``argmax_j λ·rel_j − (1−λ)·max_{s∈S} cos(v_j, v_s)`` with ``rel`` min-max scaled per user;
* ``organic``: no recommender — each agent looks through the whole catalog by its own taste:
  the top C of its perturbed utilities ``β·affinity + quality + Gumbel``, with the very noise
  its choice then uses, so it opens its best items of the day (what the generator's users do;
  the backtest's policy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from engine.errors import EngineError
from engine.recommend.base import Recommender, mask_scores
from engine.recommend.matrix import UserItemMatrix
from engine.simulate import rng
from engine.simulate.choice import choice_noise
from engine.simulate.gather import take

POLICY_KINDS = ("random", "popularity", "model", "organic")
_CHUNK = 1_024  # score rows re-ranked at a time


ScoreRows = Callable[[int, int], np.ndarray]  # (lo, hi) -> scores of users lo..hi-1 over the catalog


@dataclass(frozen=True)
class PolicySpec:
    """Which policy, and the model's scores when it is one: a [U, M] array (rows = World.users)
    or a function giving the rows ``lo:hi`` of it, so that a large matrix is never held whole."""

    kind: str
    scores: np.ndarray | ScoreRows | None = None
    item_vectors: np.ndarray | None = None  # [M, D'] for MMR similarity (default: catalog vectors)
    mmr_lambda: float | None = None
    label: str = ""


def recommender_policy(model: Recommender, seen: UserItemMatrix, users: np.ndarray, items: np.ndarray,
                       popularity: np.ndarray, *, mmr_lambda: float | None = None, label: str = "") -> PolicySpec:
    """The ``model`` policy of a fitted recommender over a world's users and catalog.

    ``users`` [U] and ``items`` [M] are each world user's row and each catalog item's column in the
    model (-1 where the model never saw it); ``popularity`` [M] the catalog's opening counts. Rows
    are scored as serving ranks them: the items the model knows by its score, then the user's own
    training history (``seen``; serving leaves it out), then the items the model never saw; users
    it never saw get log(1 + popularity). Item vectors for MMR are the model's item embeddings
    (zero for unknown items), or none (the catalog's) when it has no embeddings.
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

    emb = model.item_embeddings()
    vectors = None
    if emb is not None:
        vectors = np.zeros((len(items), emb.shape[1]), dtype=np.float32)
        vectors[known_i] = emb.cpu().numpy()[items[known_i]]
    return PolicySpec("model", scores=scores, item_vectors=vectors, mmr_lambda=mmr_lambda, label=label)


Utility = Callable[[torch.Tensor], torch.Tensor]  # agent rows [V] -> deterministic utility [V, M]


class Policy(Protocol):
    width: int

    def candidates(self, day: int, rows: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        """[V, C] item indices for the agent ``rows`` (their replicates given), -1 = none."""

    def observe(self, replicate: torch.Tensor, items: torch.Tensor) -> None:
        """Learn from the day's clicks (each click's replicate and item)."""


def _dedupe(cand: torch.Tensor) -> torch.Tensor:
    """Replace repeated items within a row by -1 (keeps the first occurrence)."""
    ordered, order = torch.sort(cand, dim=1, stable=True)
    repeat = torch.zeros_like(ordered, dtype=torch.bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    dup = torch.zeros_like(repeat).scatter_(1, order, repeat)
    return cand.masked_fill(dup, -1)


class _Static:
    """Policies that learn nothing from clicks."""

    def observe(self, replicate: torch.Tensor, items: torch.Tensor) -> None:
        return None


class RandomPolicy(_Static):
    def __init__(self, items: int, width: int, seed: int) -> None:
        self.items, self.width, self.seed = items, width, seed

    def candidates(self, day, rows, replicate):
        slots = torch.arange(self.width, device=rows.device).expand(len(rows), -1)
        u = rng.uniform(self.seed, "policy", day, rows, slots)
        return _dedupe((u * self.items).to(torch.int64).clamp_(max=self.items - 1))


class PopularityPolicy:
    def __init__(self, initial: np.ndarray, replicates: int, width: int, device: torch.device) -> None:
        self.width = width
        base = torch.as_tensor(np.round(initial), dtype=torch.int64, device=device)
        self.counts = base.repeat(replicates, 1)  # [R, M]
        m = base.numel()
        # ties broken by item order, deterministically: count·M + (M-1-index)
        self._tiebreak = torch.arange(m - 1, -1, -1, device=device)

    def candidates(self, day, rows, replicate):
        m = self.counts.shape[1]
        top = torch.topk(self.counts * m + self._tiebreak, self.width, dim=1).indices  # [R, C]
        if len(top) == 1:  # one replicate: every row gets the same list, a view
            return top.expand(len(rows), -1)
        return take(top, replicate)

    def observe(self, replicate, items):
        flat = replicate * self.counts.shape[1] + items
        self.counts.view(-1).index_add_(0, flat, torch.ones_like(flat))


class ScorePolicy(_Static):
    """Fixed per-user lists from a model's scores (optionally MMR re-ranked), computed once."""

    def __init__(self, scores: np.ndarray | ScoreRows, users: int, source: torch.Tensor, width: int, *,
                 mmr_lambda: float | None = None, item_vectors: np.ndarray | None = None) -> None:
        self.width, self.source = width, source
        rows = scores if callable(scores) else lambda lo, hi: scores[lo:hi]
        lists = []
        for lo in range(0, users, _CHUNK):
            s = torch.as_tensor(rows(lo, min(lo + _CHUNK, users)), dtype=torch.float32, device=source.device)
            if mmr_lambda is None:
                lists.append(torch.topk(s, width, dim=1).indices)
            else:
                v = torch.as_tensor(item_vectors, dtype=torch.float32, device=source.device)
                lists.append(mmr_lists(s, v, width, mmr_lambda))
        self.lists = torch.cat(lists)

    def candidates(self, day, rows, replicate):
        return take(self.lists, take(self.source, rows))



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


class OrganicPolicy(_Static):
    """The agent browses the catalog itself: the top C of its own perturbed utilities."""

    def __init__(self, utility: Utility, width: int, seed: int, items: int) -> None:
        self.utility, self.width, self.seed, self.items = utility, width, seed, items

    def candidates(self, day, rows, replicate):
        all_items = torch.arange(self.items, device=rows.device).expand(len(rows), -1)
        total = choice_noise(self.seed, day, rows, all_items, self.utility(rows))
        return torch.topk(total, self.width, dim=1).indices


def make_policy(spec: PolicySpec, *, items: int, users: int, popularity: np.ndarray, replicates: int, width: int,
                seed: int, source: torch.Tensor, utility: Utility, item_vectors: np.ndarray) -> Policy:
    """Build the policy ``spec`` names; ``source`` maps agent rows to score rows."""
    device = source.device
    width = min(width, items)
    if spec.kind == "random":
        return RandomPolicy(items, width, seed)
    if spec.kind == "popularity":
        return PopularityPolicy(popularity, replicates, width, device)
    if spec.kind == "organic":
        return OrganicPolicy(utility, width, seed, items)
    if spec.kind == "model":
        if spec.scores is None:
            raise EngineError("policy 'model' needs a score matrix")
        vectors = spec.item_vectors if spec.item_vectors is not None else item_vectors
        return ScorePolicy(spec.scores, users, source, width, mmr_lambda=spec.mmr_lambda, item_vectors=vectors)
    raise EngineError(f"unknown policy '{spec.kind}' (one of {', '.join(POLICY_KINDS)})")
