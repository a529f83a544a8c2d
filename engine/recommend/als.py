"""iALS: confidence-weighted matrix factorisation by alternating least squares.

Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets" (2008): with
preference p_ui = 1 for observed pairs (else 0) and confidence c_ui = 1 + α·r_ui (else 1),

    min_{X,Y} Σ_{u,i} c_ui (p_ui − x_uᵀ y_i)² + λ (‖X‖² + ‖Y‖²).

With Y fixed each user's row solves (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u. Following
Takács, Pilászy & Tikk (2011) each sweep runs ``cg_steps`` conjugate-gradient steps from the
previous solution instead of solving exactly; all users (then all items) take their CG steps
together, as batched sparse products on the device: Yᵀ(C_u − I)Y p_u is a sampled dense-dense
product (SDDMM) at the observed pairs followed by a sparse × dense product, never forming a
per-user matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.recommend.base import Params
from engine.recommend.matrix import UserItemMatrix, csr_tensor
from engine.recommend.training import EpochModel
from engine.threads import threads_for

TINY = 1e-20


@dataclass(frozen=True)
class ALSParams(Params):
    factors: int = 64
    epochs: int = 15
    reg: float = 30.0
    alpha: float = 1.0
    cg_steps: int = 3
    seed: int = 42
    patience: int = 0


class PairSide:
    """One side of the problem: the observed pairs (CSR pattern), confidences c and c − 1 = α·r."""

    def __init__(self, matrix: UserItemMatrix, alpha: float, device: torch.device) -> None:
        self.confidence_values = (1.0 + alpha * matrix.values).to(device)
        self.extra_values = (alpha * matrix.values).to(device)
        self.pattern = matrix.to_torch(device, values=torch.zeros_like(matrix.values))

    def _at_pairs(self, p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """p_u · y_i at every observed pair (a sampled dense-dense product)."""
        return torch.sparse.sampled_addmm(self.pattern, p, y.t(), beta=0.0)

    def _times_y(self, like: torch.Tensor, values: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The sparse matrix with ``like``'s pattern and ``values``, times Y."""
        return csr_tensor(like.crow_indices(), like.col_indices(), values, (like.shape[0], like.shape[1])) @ y

    def weighted_gram_product(self, p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Row-wise Yᵀ (C_u − I) Y p_u for every row u at once."""
        at_pairs = self._at_pairs(p, y)
        return self._times_y(at_pairs, at_pairs.values() * self.extra_values, y)

    def residual(self, x: torch.Tensor, y: torch.Tensor, yty: torch.Tensor) -> torch.Tensor:
        """b − A x = Σ_i (c_ui − (c_ui − 1) x_u·y_i) y_i − (YᵀY + λI) x_u, in one sparse pass."""
        at_pairs = self._at_pairs(x, y)
        return self._times_y(at_pairs, self.confidence_values - self.extra_values * at_pairs.values(), y) - x @ yty


def conjugate_gradient_rows(apply: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, r: torch.Tensor,
                            steps: int) -> torch.Tensor:
    """``steps`` CG steps from ``x`` on independent systems, one per row: ``apply`` multiplies
    every row by its (symmetric positive definite) matrix, ``r`` is b − A x at the start."""
    p = r.clone()
    rs = (r * r).sum(1)
    for _ in range(steps):
        ap = apply(p)
        step = rs / (p * ap).sum(1).clamp(min=TINY)
        x = x + step[:, None] * p
        r = r - step[:, None] * ap
        rs_new = (r * r).sum(1)
        p = r + (rs_new / rs.clamp(min=TINY))[:, None] * p
        rs = rs_new
    return x


def conjugate_gradient(side: PairSide, x: torch.Tensor, y: torch.Tensor, reg: float, steps: int) -> torch.Tensor:
    """``steps`` CG steps on every row's normal equations, starting from ``x``."""
    yty = y.t() @ y + reg * torch.eye(y.shape[1], device=y.device, dtype=y.dtype)
    return conjugate_gradient_rows(lambda p: p @ yty + side.weighted_gram_product(p, y), x, side.residual(x, y, yty),
                                   steps)


class ALS(EpochModel):
    algo = "als"
    Params = ALSParams
    params: ALSParams
    user_tensors = ("user_factors",)
    item_tensors = ("item_factors",)

    def begin(self, train: UserItemMatrix, rng: torch.Generator) -> None:
        p = self.params
        if p.factors < 1 or p.cg_steps < 1 or p.reg < 0 or p.alpha < 0:
            raise EngineError("iALS needs factors ≥ 1, cg_steps ≥ 1, reg ≥ 0 and alpha ≥ 0")
        self.users_side = PairSide(train, p.alpha, self.device)
        self.items_side = PairSide(train.transpose(), p.alpha, self.device)
        self.nnz_confidence = float((1.0 + p.alpha * train.values).sum())
        self.x = (torch.rand(train.n_users, p.factors, generator=rng) * 0.01).to(self.device)
        self.y = (torch.rand(train.n_items, p.factors, generator=rng) * 0.01).to(self.device)

    def run_epoch(self, rng: torch.Generator) -> float:
        p = self.params
        with threads_for(self.device, len(self.users_side.extra_values) * p.factors):
            self.x = conjugate_gradient(self.users_side, self.x, self.y, p.reg, p.cg_steps)
            self.y = conjugate_gradient(self.items_side, self.y, self.x, p.reg, p.cg_steps)
            return self.loss()

    def loss(self) -> float:
        """The objective per unit of confidence:
        [Σ_all (x·y)² + Σ_obs (c(1 − s)² − s²) + λ(‖X‖² + ‖Y‖²)] / (Σ_obs c + #unobserved)."""
        s = torch.sparse.sampled_addmm(self.users_side.pattern, self.x, self.y.t(), beta=0.0).values()
        c = self.users_side.confidence_values
        everything = ((self.x.t() @ self.x) * (self.y.t() @ self.y)).sum()
        observed = (c * (1 - s) ** 2 - s ** 2).sum()
        penalty = self.params.reg * ((self.x ** 2).sum() + (self.y ** 2).sum())
        unobserved = self.x.shape[0] * self.y.shape[0] - len(s)
        return float((everything + observed + penalty) / (self.nnz_confidence + unobserved))

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.x[users.to(self.device)] @ self.y.t()

    def user_embeddings(self) -> torch.Tensor:
        return self.x

    def item_embeddings(self) -> torch.Tensor:
        return self.y

    def explain_weights(self, user: int) -> torch.Tensor:
        """Hu et al.'s exact decomposition: score(u, i) = Σ_j s^u_ij c_uj with
        s^u = Y W^u Yᵀ, W^u = (YᵀC_uY + λI)⁻¹; returns Y W^u (``n_items × factors``), so that
        the contribution of history item j to item i is (Y W^u)_i · y_j · c_uj."""
        history = self.require_history()
        items = history.row_items(user).to(self.device)
        values = history.values[history.indptr[user]:history.indptr[user + 1]].to(self.device)
        conf = 1.0 + self.params.alpha * values
        yu = self.y[items]
        a = self.y.t() @ self.y + yu.t() @ ((conf - 1.0)[:, None] * yu)
        a = a + self.params.reg * torch.eye(a.shape[0], device=a.device, dtype=a.dtype)
        return self.y @ torch.linalg.inv(a)

    def contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_items``: each history item's share of each item's exact ALS score
        (the least-squares solution, not the CG approximation the weights hold)."""
        yw = self.explain_weights(user)[items.to(self.device)]
        history = self.require_history()
        hist = history.row_items(user).to(self.device)
        values = history.values[history.indptr[user]:history.indptr[user + 1]].to(self.device)
        conf = 1.0 + self.params.alpha * values
        out = torch.zeros(len(items), self.n_items, device=self.device)
        out[:, hist] = (yw @ self.y[hist].t()) * conf[None, :]
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"user_factors": self.x.cpu(), "item_factors": self.y.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.x = state["user_factors"].to(self.device)
        self.y = state["item_factors"].to(self.device)
