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
  ``argmax_j λ·rel_j − (1−λ)·max_{s∈S} cos(v_j, v_s)`` with ``rel`` min-max scaled per user
  (:mod:`engine.simulate.lists`). Frozen, the lists stay as they are; with ``retrain_every`` the
  model is retrained on each replicate's simulated clicks (:mod:`engine.simulate.retrain`);
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
from engine.recommend.base import Recommender
from engine.recommend.matrix import UserItemMatrix
from engine.simulate import rng
from engine.simulate.choice import choice_noise
from engine.simulate.gather import take
from engine.simulate.lists import ScoreRows, ServedScores, model_item_vectors, score_lists, served_scores
from engine.simulate.retrain import ModelInLoop, RetrainedPolicy

POLICY_KINDS = ("random", "popularity", "model", "organic")


@dataclass(frozen=True)
class PolicySpec:
    """Which policy, and the model's scores when it is one: a [U, M] array (rows = World.users)
    or a function giving the rows ``lo:hi`` of it, so that a large matrix is never held whole;
    ``loop`` when the model is retrained on the simulated clicks (None: frozen)."""

    kind: str
    scores: np.ndarray | ScoreRows | None = None
    item_vectors: np.ndarray | None = None  # [M, D'] for MMR similarity (default: catalog vectors)
    mmr_lambda: float | None = None
    label: str = ""
    loop: ModelInLoop | None = None


def recommender_policy(model: Recommender, seen: UserItemMatrix, users: np.ndarray, items: np.ndarray,
                       popularity: np.ndarray, *, mmr_lambda: float | None = None, retrain_every: int | None = None,
                       label: str = "") -> PolicySpec:
    """The ``model`` policy of a fitted recommender over a world's users and catalog.

    ``users`` [U] and ``items`` [M] are each world user's row and each catalog item's column in the
    model (-1 where the model never saw it); ``popularity`` [M] the catalog's opening counts. Rows
    are scored as serving ranks them (:func:`~engine.simulate.lists.served_scores`). Item vectors
    for MMR are the model's item embeddings (zero for unknown items), or none (the catalog's) when
    it has no embeddings. With ``retrain_every`` the model learns from the simulated clicks every
    that many days (:mod:`engine.simulate.retrain`); without, its lists stay as they are.
    """
    loop = None if retrain_every is None else ModelInLoop(model, seen, users, items, popularity, retrain_every)
    return PolicySpec("model", scores=served_scores(model, seen, users, items, popularity),
                      item_vectors=model_item_vectors(model, items), mmr_lambda=mmr_lambda, label=label, loop=loop)


Utility = Callable[[torch.Tensor], torch.Tensor]  # agent rows [V] -> deterministic utility [V, M]


class Policy(Protocol):
    width: int

    def candidates(self, day: int, rows: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        """[V, C] item indices for the agent ``rows`` (their replicates given), -1 = none."""

    def observe(self, day: int, rows: torch.Tensor, replicate: torch.Tensor, items: torch.Tensor) -> None:
        """Learn from day ``day``'s clicks: each click's agent row, replicate and item."""


def _dedupe(cand: torch.Tensor) -> torch.Tensor:
    """Replace repeated items within a row by -1 (keeps the first occurrence)."""
    ordered, order = torch.sort(cand, dim=1, stable=True)
    repeat = torch.zeros_like(ordered, dtype=torch.bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    dup = torch.zeros_like(repeat).scatter_(1, order, repeat)
    return cand.masked_fill(dup, -1)


class _Static:
    """Policies that learn nothing from clicks."""

    def observe(self, day: int, rows: torch.Tensor, replicate: torch.Tensor, items: torch.Tensor) -> None:
        return None


class RandomPolicy(_Static):
    def __init__(self, items: int, width: int, draws: rng.Draws) -> None:
        self.items, self.width, self.draws = items, width, draws

    def candidates(self, day, rows, replicate):
        slots = torch.arange(self.width, device=rows.device).expand(len(rows), -1)
        u = self.draws.uniform("policy", day, rows, slots)
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

    def observe(self, day, rows, replicate, items):
        flat = replicate * self.counts.shape[1] + items
        self.counts.view(-1).index_add_(0, flat, torch.ones_like(flat))


class ScorePolicy(_Static):
    """Fixed per-user lists from a model's scores (optionally MMR re-ranked), computed once."""

    def __init__(self, lists: torch.Tensor, source: torch.Tensor) -> None:
        self.lists, self.source = lists, source
        self.width = lists.shape[1]

    def candidates(self, day, rows, replicate):
        return take(self.lists, take(self.source, rows))


class OrganicPolicy(_Static):
    """The agent browses the catalog itself: the top C of its own perturbed utilities."""

    def __init__(self, utility: Utility, width: int, draws: rng.Draws, items: int) -> None:
        self.utility, self.width, self.draws, self.items = utility, width, draws, items

    def candidates(self, day, rows, replicate):
        all_items = torch.arange(self.items, device=rows.device).expand(len(rows), -1)
        total = choice_noise(self.draws, day, rows, all_items, self.utility(rows))
        return torch.topk(total, self.width, dim=1).indices


def make_policy(spec: PolicySpec, *, items: int, users: int, popularity: np.ndarray, replicates: int, width: int,
                draws: rng.Draws, source: torch.Tensor, utility: Utility, item_vectors: np.ndarray) -> Policy:
    """Build the policy ``spec`` names; ``source`` maps agent rows to score rows."""
    device = source.device
    width = min(width, items)
    if spec.kind == "random":
        return RandomPolicy(items, width, draws)
    if spec.kind == "popularity":
        return PopularityPolicy(popularity, replicates, width, device)
    if spec.kind == "organic":
        return OrganicPolicy(utility, width, draws, items)
    if spec.kind == "model":
        if spec.scores is None:
            raise EngineError("policy 'model' needs a score matrix")
        vectors = spec.item_vectors if spec.item_vectors is not None else item_vectors
        if spec.loop is not None and isinstance(spec.scores, ServedScores):  # listed as the retrained lists are
            return RetrainedPolicy(spec.loop, spec.scores, replicates, source, items=items, mmr_lambda=spec.mmr_lambda,
                                   catalog_vectors=item_vectors, first_vectors=vectors, width=width)
        lists = score_lists(spec.scores, users, width, device, mmr_lambda=spec.mmr_lambda, item_vectors=vectors)
        if spec.loop is None:
            return ScorePolicy(lists, source)
        return RetrainedPolicy(spec.loop, lists, replicates, source, items=items, mmr_lambda=spec.mmr_lambda,
                               catalog_vectors=item_vectors)
    raise EngineError(f"unknown policy '{spec.kind}' (one of {', '.join(POLICY_KINDS)})")
