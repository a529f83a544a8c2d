"""EASE: a closed-form item-item model (Steck, "Embarrassingly Shallow Autoencoders", 2019).

    P = (XᵀX + λI)⁻¹,   B = I − P · diag(1 / diag(P)),   diag(B) = 0,   score(u) = X_u B

It needs three dense ``n_items × n_items`` float32 matrices at once, so it is refused —
before anything is allocated — when they would not fit in the memory free on the device
(or in ``max_gb`` when given). For large catalogs use iALS or item-kNN, whose memory grows
with the number of interactions and neighbours instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import EngineError, InvalidParameter
from engine.progress import Progress, no_progress
from engine.recommend.base import FitReport, Params, Recommender
from engine.recommend.cooccurrence import gram
from engine.device import available_bytes
from engine.recommend.matrix import UserItemMatrix

DENSE_COPIES = 3


@dataclass(frozen=True)
class EASEParams(Params):
    reg: float = 250.0
    max_gb: float = 0.0  # memory EASE may use; 0: what the device has free


def ease_bytes(n_items: int) -> int:
    """Memory EASE needs for ``n_items`` items: three dense float32 item × item matrices."""
    return DENSE_COPIES * n_items * n_items * 4


class EASE(Recommender):
    algo = "ease"
    Params = EASEParams
    params: EASEParams

    def fit(self, train: UserItemMatrix, *, progress: Progress = no_progress,
            validation: UserItemMatrix | None = None, checkpoint_dir: Path | None = None,
            resume: bool = False) -> FitReport:
        p = self.params
        if p.reg <= 0:
            raise EngineError(f"EASE needs reg > 0 (got {p.reg})")
        self._check_memory(train.n_items)
        began = time.perf_counter()
        self.history = train
        g = gram(train, self.device)
        progress(0.4, "item co-occurrence")
        g.diagonal().add_(p.reg)
        chol, info = torch.linalg.cholesky_ex(g)
        if int(info) != 0:
            raise InvalidParameter("EASE: the regularised Gram matrix is not positive definite; raise {reg}", "reg")
        inverse = torch.cholesky_inverse(chol)
        del g, chol
        progress(0.8, "inverted")
        self.b = -inverse / inverse.diagonal()[None, :]
        self.b.diagonal().zero_()
        progress(1.0, "EASE weights")
        return FitReport(seconds=time.perf_counter() - began)

    def _check_memory(self, n_items: int) -> None:
        need = ease_bytes(n_items)
        limit = self.params.max_gb * 1e9 if self.params.max_gb > 0 else available_bytes(self.device)
        if limit is not None and need > limit:
            raise InvalidParameter(
                f"EASE on {n_items:,} items needs about {need / 1e9:.2f} GB ({DENSE_COPIES} dense {n_items:,}×{n_items:,} "
                f"matrices) but only {limit / 1e9:.2f} GB is available on {self.device.type}: "
                "use {algo} als (or itemknn), whose memory grows with interactions, not items²", "algo"
            )

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.require_history().dense_rows(users, self.device, binary=True) @ self.b

    def contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_items``: what each history item j adds to each item's score (x_uj · B[j, i])."""
        x = self.require_history().dense_rows(torch.tensor([user]), self.device, binary=True)
        return self.b[:, items.to(self.device)].t() * x

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"b": self.b.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.b = state["b"].to(self.device)
