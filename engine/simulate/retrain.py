"""The recommender in the loop: a ``model`` policy retrained on the simulated clicks every N days.

A frozen model policy shows each user the same ranked list all run long. Retrained, the model
learns from what its own lists made people open — the feedback loop Chaney, Stewart &
Engelhardt (2018) found homogenising users' behaviour — as a platform that refreshes its
model every week would:

* **what it learns from** — agents are copies of real users (each agent row's ``source``), so
  an agent's clicks are folded into the row of the real user it was drawn from in the model's
  training matrix, weight 1 per click (an arrival drawn from a user who is also in the
  population shares that row). Clicks on items the model never saw, or by users it never saw,
  are left out: it has no column or row for them (those users keep the popularity fallback);
* **per replicate** — each replicate keeps its own training matrix, model and lists, so the
  loop of one replicate never leaks into another and replicate r stays paired with replicate r
  of a frozen run with the same seed (common random numbers);
* **when** — after the clicks of day d when ``(d + 1) % retrain_every == 0``: the lists change
  from the next day on (every 7 days: after days 6, 13, 20 …); a replicate without new clicks
  keeps its model;
* **how** — as ``kpconsole model update`` does (:mod:`engine.recommend.update`): an iterative
  model (iALS, BPR, NCF, hybrid) starts from its current weights and runs its original epochs ÷
  the model's ``update_divisor`` (iALS: a third — a few ALS sweeps from the current factors);
  a closed-form model (popularity, item-kNN, EASE) is refitted, which is exact. The lists are
  then recomputed for every world user with the serving order of
  :func:`~engine.simulate.lists.served_scores` (the clicks are now history, ranked after the
  unseen items), MMR-re-ranked with the new model's item embeddings when ``mmr_lambda`` is set.

**Cost** of one retrain, per replicate: folding the clicks in (a sort of the matrix's pairs),
the model's own update (iALS: sweeps × nnz × factors), and scoring every world user over the
catalog (U × M × factors for a factor model) with a top-C per user. It holds a model and a
training matrix per replicate, and [R·U, C] int32 lists. docs/simulation.md gives measured times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.errors import EngineError
from engine.recommend.algorithms import make_model
from engine.recommend.base import Recommender
from engine.recommend.hybrid import HybridMF
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.training import EpochModel
from engine.simulate.gather import take
from engine.simulate.lists import model_item_vectors, score_lists, served_scores


@dataclass(frozen=True)
class ModelInLoop:
    """What a model policy needs to be retrained in the loop: the fitted model, the matrix it was
    fitted on (rows = model users), each world user's model row and each catalog item's model
    column (-1 where unknown), the catalog's popularity (the unknown users' fallback) and how
    often to retrain, in days (≥ 1)."""

    model: Recommender
    history: UserItemMatrix
    users: np.ndarray  # [U] int
    items: np.ndarray  # [M] int
    popularity: np.ndarray  # [M]
    retrain_every: int

    def __post_init__(self) -> None:
        if self.retrain_every < 1:
            raise EngineError(f"retrain_every must be at least 1 day (got {self.retrain_every})")


def warm_sweeps(model: Recommender) -> int:
    """Epochs of one warm-started update, as ``model update`` counts them: the model's epochs ÷
    its ``update_divisor`` (at least 1); 0 for a closed-form model (refitted instead)."""
    if not isinstance(model, EpochModel):
        return 0
    return max(1, int(model.params.epochs) // model.update_divisor)


def refit(model: Recommender, history: UserItemMatrix, sweeps: int) -> Recommender:
    """A new model of ``model``'s algorithm and parameters fitted on ``history`` (the same users
    and items): warm-started from ``model``'s weights for ``sweeps`` epochs when it is iterative,
    refitted from scratch when it is closed-form."""
    params = model.params.as_dict()
    if isinstance(model, EpochModel):
        params.update(epochs=sweeps, patience=0)
    child = make_model(model.algo, params, model.device)
    if isinstance(model, HybridMF) and isinstance(child, HybridMF):
        child.item_features = model.item_features  # the same items: the same content features
    if isinstance(child, EpochModel):
        state = model.state_dict()
        child.fit(history, warm_start=lambda fresh: fresh.load_state_dict(state))
    else:
        child.fit(history)
    return child


class RetrainedPolicy:
    """Per-replicate lists from a model retrained on each replicate's clicks (module docstring)."""

    def __init__(self, loop: ModelInLoop, lists: torch.Tensor, replicates: int, source: torch.Tensor, *,
                 items: int, mmr_lambda: float | None, catalog_vectors: np.ndarray) -> None:
        """``lists`` [U, C]: the fitted model's lists, every replicate's until its first retrain;
        ``items``: the simulated catalog's size (items that arrive during the run are past the
        model's ``loop.items``: it has no column for them)."""
        self.loop, self.source, self.mmr_lambda = loop, source, mmr_lambda
        self.users_n, self.width = lists.shape
        self.catalog_vectors = catalog_vectors
        self.sweeps = warm_sweeps(loop.model)
        self.models = [loop.model] * replicates
        self.histories = [loop.history] * replicates
        self.lists = lists.to(torch.int32).repeat(replicates, 1)  # row r·U + u: replicate r, user u
        self.model_row = torch.as_tensor(loop.users, dtype=torch.int64, device=source.device)
        self.model_column = torch.full((items,), -1, dtype=torch.int64, device=source.device)
        self.model_column[:len(loop.items)] = torch.as_tensor(loop.items, dtype=torch.int64, device=source.device)
        self.pending: list[torch.Tensor] = []  # [3, E] (replicate, model row, model column) since the last retrain

    def candidates(self, day: int, rows: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        return take(self.lists, replicate * self.users_n + take(self.source, rows)).to(torch.int64)

    def observe(self, day: int, rows: torch.Tensor, replicate: torch.Tensor, items: torch.Tensor) -> None:
        user = take(self.model_row, take(self.source, rows))
        column = take(self.model_column, items)
        known = (user >= 0) & (column >= 0)
        self.pending.append(torch.stack([replicate[known], user[known], column[known]]).cpu())
        if (day + 1) % self.loop.retrain_every == 0:
            self._retrain()

    def _retrain(self) -> None:
        """Fold the pending clicks into each replicate's matrix, refit, recompute its lists."""
        clicks = torch.cat(self.pending, dim=1)
        self.pending = []
        shape = self.loop.history.shape
        for r in torch.unique(clicks[0]).tolist():
            mine = clicks[1:, clicks[0] == r]
            history = self.histories[r].union(UserItemMatrix.from_pairs(mine[0], mine[1], None, *shape))
            model = refit(self.models[r], history, self.sweeps)
            self.models[r], self.histories[r] = model, history
            vectors = model_item_vectors(model, self.loop.items)
            scores = served_scores(model, history, self.loop.users, self.loop.items, self.loop.popularity)
            lists = score_lists(scores, self.users_n, self.width, self.lists.device, mmr_lambda=self.mmr_lambda,
                                item_vectors=self.catalog_vectors if vectors is None else vectors)
            self.lists[r * self.users_n:(r + 1) * self.users_n] = lists.to(torch.int32)
