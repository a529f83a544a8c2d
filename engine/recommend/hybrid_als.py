"""The hybrid model's ``als`` solver (the default): iALS with each factor pulled towards its content.

Items and users are both :class:`engine.recommend.feature_als.FactorSide`: an item's factor
v_i has the prior (F W)_i from its features f_i, a user's the prior (G H)_u from their content
profile g_u (zero with ``user_features`` off), and an epoch is one sweep of each side, users
first — the same passes over the interactions as an iALS epoch, plus sparse products with the
feature matrices. Scores are s_ui = x_u · v_i; an item without training pairs has v_i = (F W)_i,
so the part of s_ui carried by feature f is f_if · (x_u · W_f), exact for every item (for a
warm item the rest, x_u · (v_i − (F W)_i), is its id's part).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import scipy.sparse as sp
import torch

from engine.errors import EngineError
from engine.recommend.als import PairSide
from engine.recommend.feature_als import FactorSide, SparseRows
from engine.recommend.matrix import UserItemMatrix
from engine.threads import threads_for

if TYPE_CHECKING:
    from engine.recommend.hybrid import HybridParams

INIT_SCALE = 0.01  # iALS's start: uniform factors in [0, 0.01)


class ALSSolver:
    """The ``als`` solver of :class:`engine.recommend.hybrid.HybridMF` (see the module docstring).

    What scoring needs (factors, the items' feature weights, the feature rows) lives in plain
    attributes; the two :class:`FactorSide` (with the confidences) exist only while fitting."""

    def __init__(self, params: HybridParams, device: torch.device) -> None:
        self.params, self.device = params, device
        self.sides: tuple[FactorSide, FactorSide] | None = None

    def begin(self, train: UserItemMatrix, item_features: sp.csr_matrix, profiles: sp.csr_matrix,
              rng: torch.Generator) -> None:
        p, dev = self.params, self.device
        if p.factors < 1 or p.cg_steps < 1 or min(p.user_reg, p.item_reg, p.feature_reg) <= 0 or p.alpha < 0:
            raise EngineError("the als hybrid needs factors ≥ 1, cg_steps ≥ 1, user_reg, item_reg and feature_reg "
                              "> 0 and alpha ≥ 0")
        self.features, user_content = SparseRows(item_features, dev), SparseRows(profiles, dev)
        users = (torch.rand(train.n_users, p.factors, generator=rng) * INIT_SCALE).to(dev)
        items = (torch.rand(train.n_items, p.factors, generator=rng) * INIT_SCALE).to(dev)
        self.sides = (
            FactorSide(PairSide(train, p.alpha, dev), (train.row_counts() > 0).to(dev), user_content, users,
                       torch.zeros(user_content.n_columns, p.factors, device=dev), p.user_reg, p.feature_reg),
            FactorSide(PairSide(train.transpose(), p.alpha, dev), (train.item_counts() > 0).to(dev), self.features,
                       items, torch.zeros(self.features.n_columns, p.factors, device=dev), p.item_reg, p.feature_reg),
        )
        self.nnz_confidence = float((1.0 + p.alpha * train.values).sum())
        self._take_from_sides()

    def run_epoch(self, rng: torch.Generator) -> float:
        users, items = self._fitting()
        p = self.params
        with threads_for(self.device, len(users.pairs.extra_values) * p.factors):
            users.solve(items.training_factors(), p.cg_steps)
            items.solve(users.training_factors(), p.cg_steps)
            self._take_from_sides()
            return self.loss()

    def loss(self) -> float:
        """The objective per unit of confidence, over the users and items with pairs (as
        :meth:`engine.recommend.als.ALS.loss`, each side's penalty its pull towards its content)."""
        users, items = self._fitting()
        x, y = users.training_factors(), items.training_factors()
        s = torch.sparse.sampled_addmm(users.pairs.pattern, x, y.t(), beta=0.0).values()
        c = users.pairs.confidence_values
        everything = ((x.t() @ x) * (y.t() @ y)).sum()
        observed = (c * (1 - s) ** 2 - s ** 2).sum()
        unobserved = float(users.mask.sum()) * float(items.mask.sum()) - len(s)
        return float((everything + observed + users.penalty() + items.penalty()) / (self.nnz_confidence + unobserved))

    def _fitting(self) -> tuple[FactorSide, FactorSide]:
        if self.sides is None:
            raise EngineError("the als hybrid has not begun fitting")
        return self.sides

    def _take_from_sides(self) -> None:
        users, items = self._fitting()
        self.user_factors, self.item_factors, self.item_weights = users.factors, items.factors, items.weights

    def training_state(self) -> dict:
        users, _ = self._fitting()
        return {"weights": self.state_dict(), "user_feature_weights": users.weights.cpu()}

    def load_training_state(self, state: dict) -> None:
        """Continue a fit from a checkpoint (after :meth:`begin` built the confidences)."""
        self.load_state_dict(state["weights"])
        users, items = self._fitting()
        users.set_weights(state["user_feature_weights"].to(self.device))
        items.set_weights(self.item_weights)
        users.factors, items.factors = self.user_factors, self.item_factors

    # --- scoring -------------------------------------------------------------------------

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_factors[users.to(self.device)] @ self.item_factors.t()

    def user_vectors(self) -> torch.Tensor:
        return self.user_factors

    def item_vectors(self) -> torch.Tensor:
        return self.item_factors

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_features``: f_if · (x_u · W_f)."""
        per_feature = self.item_weights @ self.user_factors[user]
        return self.item_feature_rows(items) * per_feature[None, :]

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor:
        return self.features.dense(items)

    # --- saving --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {"user_factors": self.user_factors.cpu(), "item_factors": self.item_factors.cpu(),
               "item_feature_weights": self.item_weights.cpu()}
        out.update(self.features.state("features"))
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        dev = self.device
        self.user_factors, self.item_factors = state["user_factors"].to(dev), state["item_factors"].to(dev)
        self.item_weights = state["item_feature_weights"].to(dev)
        self.features = SparseRows.from_state(state, "features", dev)
