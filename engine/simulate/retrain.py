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
  a closed-form model (popularity, item-kNN, EASE) is refitted, which is exact;
* **the lists** — a user's list under the replicate's current model is the serving order of
  :class:`~engine.simulate.lists.ServedScores` (the clicks are now history, ranked after the
  unseen items), MMR-re-ranked with the model's item embeddings when ``mmr_lambda`` is set. With
  ``ModelInLoop.lazy`` (the default) it is worked out when the user first visits after the
  retrain (the model and matrix it is computed from do not change until the next retrain, and
  each row is computed on its own, so it is the list an eager relisting at the retrain gives —
  a user who does not visit is never listed); ``lazy=False`` lists every world user at the
  retrain (and at set-up).

**Cost** of one retrain, per replicate: folding the clicks in (a sort of the matrix's pairs),
the model's own update (iALS: sweeps × nnz × factors), and scoring the users listed (each
visitor once per retrain, or every world user when eager) over the catalog (M × factors each
for a factor model) with a top-C each. It holds a model and a training matrix per replicate,
and [R·U, C] int32 lists. docs/simulation.md gives measured times.
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
from engine.simulate.lists import ServedScores, listed, model_item_vectors, served_scores


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
    lazy: bool = True  # relist a user at its first visit after a retrain (False: every user at the retrain)

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

    def __init__(self, loop: ModelInLoop, first: torch.Tensor | ServedScores, replicates: int, source: torch.Tensor, *,
                 items: int, mmr_lambda: float | None, catalog_vectors: np.ndarray,
                 first_vectors: np.ndarray | None = None, width: int | None = None) -> None:
        """``first``: the fitted model's lists [U, C], or its :class:`ServedScores` to list them
        from (lazily when ``loop.lazy``) — every replicate's until its first retrain (MMR with
        ``first_vectors``, default the catalog's); ``items``: the simulated catalog's size (items
        that arrive during the run are past the model's ``loop.items``: it has no column for them)."""
        self.loop, self.source, self.mmr_lambda = loop, source, mmr_lambda
        self.users_n = len(loop.users)
        if not isinstance(first, torch.Tensor) and width is None:
            raise EngineError("lists from scores need their width")
        self.width = first.shape[1] if isinstance(first, torch.Tensor) else int(width or 0)
        self.catalog_vectors = catalog_vectors
        self.sweeps = warm_sweeps(loop.model)
        self.models = [loop.model] * replicates
        self.histories = [loop.history] * replicates
        self.device = source.device
        self.lists = torch.zeros((replicates * self.users_n, self.width), dtype=torch.int32, device=self.device)
        self.stale = torch.zeros(replicates * self.users_n, dtype=torch.bool, device=self.device)  # not listed yet
        vectors = catalog_vectors if first_vectors is None else first_vectors
        self.scorers: dict[int, tuple[ServedScores, np.ndarray]] = {}  # replicate: its lists' scores, MMR vectors
        if isinstance(first, torch.Tensor):
            self.lists[:] = first.to(torch.int32).repeat(replicates, 1)  # row r·U + u: replicate r, user u
        else:
            for r in range(replicates):
                self.scorers[r] = (first, vectors)
                self._relist(r)
        self.model_row = torch.as_tensor(loop.users, dtype=torch.int64, device=source.device)
        self.model_column = torch.full((items,), -1, dtype=torch.int64, device=source.device)
        self.model_column[:len(loop.items)] = torch.as_tensor(loop.items, dtype=torch.int64, device=source.device)
        self.pending: list[torch.Tensor] = []  # [3, E] (replicate, model row, model column) since the last retrain

    def candidates(self, day: int, rows: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        keys = replicate * self.users_n + take(self.source, rows)
        if self.loop.lazy:
            self._list_stale(keys)
        return take(self.lists, keys).to(torch.int64)

    def current_lists(self) -> torch.Tensor:
        """[R·U, C]: every user's list under its replicate's current model (lists not worked out
        yet are worked out now, as a visit would)."""
        self._list_stale(torch.nonzero(self.stale).flatten())
        return self.lists

    def observe(self, day: int, rows: torch.Tensor, replicate: torch.Tensor, items: torch.Tensor) -> None:
        user = take(self.model_row, take(self.source, rows))
        column = take(self.model_column, items)
        known = (user >= 0) & (column >= 0)
        self.pending.append(torch.stack([replicate[known], user[known], column[known]]).cpu())
        if (day + 1) % self.loop.retrain_every == 0:
            self._retrain()

    def _relist(self, r: int) -> None:
        """Replicate ``r``'s lists under its current model: now, or (lazy) at each user's next visit."""
        lo, hi = r * self.users_n, (r + 1) * self.users_n
        if self.loop.lazy:
            self.stale[lo:hi] = True
            return
        scores, vectors = self.scorers[r]
        lists = listed(scores, np.arange(self.users_n), self.width, self.device, mmr_lambda=self.mmr_lambda,
                       item_vectors=vectors)
        self.lists[lo:hi] = lists.to(torch.int32)

    def _list_stale(self, keys: torch.Tensor) -> None:
        """Work out the lists of the (replicate, user) ``keys`` not listed under the current model."""
        need = keys[take(self.stale, keys)]
        if need.numel() == 0:
            return
        need = torch.unique(need)
        replicate = need // self.users_n
        for r in torch.unique(replicate).tolist():
            mine = need[replicate == r]
            scores, vectors = self.scorers[r]
            who = (mine - r * self.users_n).cpu().numpy()
            lists = listed(scores, who, self.width, self.device, mmr_lambda=self.mmr_lambda, item_vectors=vectors)
            self.lists[mine] = lists.to(torch.int32)
        self.stale[need] = False

    def _retrain(self) -> None:
        """Fold the pending clicks into each replicate's matrix, refit, relist (now or lazily)."""
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
            self.scorers[r] = (scores, self.catalog_vectors if vectors is None else vectors)
            self._relist(r)
