"""Hybrid matrix factorisation: an item is its id *and* its content, so a new item has a vector.

With item features f_i (tags, words, kind, creator, price bucket:
:mod:`engine.recommend.features`) and a user's content profile g_u (the decayed features of
what they interacted with in training; zero with ``user_features`` off), an item's vector is
its id's part plus Σ_f f_if · W_f, a user's their id's part plus Σ_f g_uf · H_f. An item
never seen in training is scored from its features alone and never counts as a negative, so
the new items of a cold-items split do not leak into training. Two solvers fit the family:

* ``als`` (default, :mod:`engine.recommend.hybrid_als`) — iALS's confidence-weighted squared
  loss with each factor pulled towards its content, alternating least squares by conjugate
  gradient (:mod:`engine.recommend.feature_als`): an epoch makes the passes over the
  interactions an iALS epoch makes, plus sparse products with the feature matrices.
  Parameters ``alpha``, ``cg_steps``, ``user_reg``, ``item_reg`` (the pull of an item's id
  part towards zero, i.e. of its factor towards its content), ``feature_reg``.
* ``sgd`` (:mod:`engine.recommend.hybrid_sgd`) — LightFM's sampled ranking loss (BPR or
  WARP-like) with item biases, Adagrad on mini-batches: ~30–60 × slower, but it ranks the new
  questions of the Quantum Computing dump better (docs/recommend.md). Parameters ``lr``,
  ``reg``, ``batch_size``, ``negatives``, ``loss``.

Explanations are in the item's tags (:meth:`HybridMF.feature_contributions`): the part of
s_ui that flows through feature f is exact under both solvers, and
:func:`engine.recommend.explain.explain` keeps the tags the user's own history carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch

from engine.errors import EngineError
from engine.recommend.base import Params
from engine.recommend.features import ItemFeatures, user_profiles
from engine.recommend.hybrid_als import ALSSolver
from engine.recommend.hybrid_sgd import SGDSolver
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.training import EpochModel

SOLVERS = ("als", "sgd")


@dataclass(frozen=True)
class HybridParams(Params):
    factors: int = 64
    epochs: int = 15
    solver: str = "als"
    user_features: bool = True
    half_life_days: float = 365.0
    seed: int = 42
    patience: int = 0
    # als
    alpha: float = 1.0
    cg_steps: int = 3
    user_reg: float = 10.0
    item_reg: float = 30.0
    feature_reg: float = 10.0
    # sgd
    lr: float = 0.05
    reg: float = 1e-4
    batch_size: int = 1024
    negatives: int = 64
    loss: str = "bpr"


class Solver(Protocol):
    """What :class:`HybridMF` asks of a solver: fit epoch by epoch, then score and explain."""

    def begin(self, train: UserItemMatrix, item_features: sp.csr_matrix, profiles: sp.csr_matrix,
              rng: torch.Generator) -> None: ...

    def run_epoch(self, rng: torch.Generator) -> float: ...

    def training_state(self) -> dict: ...

    def load_training_state(self, state: dict) -> None: ...

    def score(self, users: torch.Tensor) -> torch.Tensor: ...

    def user_vectors(self) -> torch.Tensor: ...

    def item_vectors(self) -> torch.Tensor: ...

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor: ...

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor: ...

    def state_dict(self) -> dict[str, torch.Tensor]: ...

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None: ...


def _names_to_tensor(names: list[str]) -> torch.Tensor:
    data = np.frombuffer("\n".join(names).encode(), dtype=np.uint8)
    return torch.from_numpy(data.copy())


def _names_from_tensor(value: torch.Tensor) -> list[str]:
    text = value.to(torch.uint8).numpy().tobytes().decode()
    return text.split("\n") if text else []


class HybridMF(EpochModel):
    """Id + feature embeddings (see the module docstring); set :attr:`item_features` before
    fitting (without them it is plain matrix factorisation by the same solver)."""

    algo = "hybrid"
    Params = HybridParams
    params: HybridParams
    uses_item_features = True
    update_divisor = 1

    def __init__(self, params: HybridParams, device: str | torch.device = "auto") -> None:
        super().__init__(params, device)
        if params.solver not in SOLVERS:
            raise EngineError(f"hybrid solver '{params.solver}': one of {', '.join(SOLVERS)}")
        self.item_features: ItemFeatures | None = None
        self.feature_names: list[str] = []
        self.solver: Solver = (ALSSolver if params.solver == "als" else SGDSolver)(params, self.device)

    def begin(self, train: UserItemMatrix, rng: torch.Generator) -> None:
        p = self.params
        feats = self.item_features
        if feats is None:  # no content known: plain id-embedding MF
            feats = ItemFeatures(sp.csr_matrix((train.n_items, 0), dtype=np.float32), [],
                                 np.zeros(train.n_items, dtype=np.int64))
        if feats.matrix.shape[0] != train.n_items:
            raise EngineError(f"item features cover {feats.matrix.shape[0]} items, the interactions {train.n_items}")
        self.feature_names = list(feats.names)
        profiles = (user_profiles(train.indptr.numpy(), train.indices.numpy(), feats, p.half_life_days)
                    if p.user_features else sp.csr_matrix((train.n_users, feats.n_features), dtype=np.float32))
        self.solver.begin(train, feats.matrix, profiles, rng)

    def run_epoch(self, rng: torch.Generator) -> float:
        return self.solver.run_epoch(rng)

    def training_state(self) -> dict:
        return self.solver.training_state()

    def load_training_state(self, state: dict) -> None:
        self.solver.load_training_state(state)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.solver.score(users)

    def user_embeddings(self) -> torch.Tensor:
        return self.solver.user_vectors()

    def item_embeddings(self) -> torch.Tensor:
        return self.solver.item_vectors()

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_features``: the part of s_ui through each feature f of item i
        (zero where the item lacks f)."""
        return self.solver.feature_contributions(user, items.to(self.device))

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor:
        """The feature rows of ``items``, dense (``len(items) × n_features``)."""
        return self.solver.item_feature_rows(items.to(self.device))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {**self.solver.state_dict(), "feature_names": _names_to_tensor(self.feature_names)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.solver.load_state_dict(state)
        self.feature_names = _names_from_tensor(state["feature_names"])
