"""Alternating least squares for factors made of an id embedding plus feature embeddings.

The hybrid model (:mod:`engine.recommend.hybrid`) gives each row of one side — an item, or a
user — the factor

    v_i = m_i · e_i + Σ_f F_if W_f          (m_i = 1 when row i has training pairs, else 0)

and fits iALS's objective (Hu, Koren & Volinsky 2008; :mod:`engine.recommend.als`) over the
rows that have pairs, the other side's factors Y fixed:

    Σ_i m_i Σ_u c_ui (p_ui − y_u·v_i)² + λ ‖M∘(V − F W)‖² + λ_w ‖W‖²

— the same as Σ c (p − y·(e + F W))² + λ‖E‖² + λ_w‖W‖² with e_i = v_i − (F W)_i, solved in
(V, W) rather than (E, W) because then the coupling through the data is gone from the W step
(after collaborative topic regression, Wang & Blei 2011). A sweep (:meth:`FactorSide.solve`)
is block coordinate descent in two steps of ``steps`` conjugate-gradient steps each, from the
previous solution (Takács et al. 2011):

1. **V**, row by row: (A_i + λ I) v_i = b_i + λ (F W)_i with A_i = YᵀY + Yᵀ(C_i − I)Y and
   b_i = Yᵀ C_i p_i — iALS's step, regularised towards the row's content instead of towards
   zero, costing what it costs there: YᵀY once, then sampled products at the observed pairs
   (:class:`engine.recommend.als.PairSide`), never a per-row matrix;
2. **W**, a ridge regression of V on F in feature space: (Fᵀ M F + λ_w/λ I) W = Fᵀ M V, one
   system per factor dimension, two sparse products with F a CG step — O(nnz(F)·d), no pass
   over the interactions. (Solving W through the data, as in the (E, W) form, doubled the
   passes over the interactions and cost 2–3 × iALS on a 4,000-user platform.)

Rows without pairs are left out of both steps and take v_i = (F W)_i. For items that is the
point: a new item of a cold-items split is scored from its features alone and never taught to
score zero (which would leak the split into training, as sampling negatives among new items
would).
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp
import torch

from engine.recommend.als import TINY, PairSide, conjugate_gradient_rows
from engine.recommend.matrix import csr_tensor


class SparseRows:
    """A ``rows × columns`` sparse matrix (item features, user profiles) kept twice on the
    device, as CSR and as its transpose's CSR, so both F·D and Fᵀ·Z are row-major sparse
    products on every device; the CPU copy answers :meth:`dense` for explanations."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.matrix = matrix.astype(np.float32).tocsr()
        self.device = device
        self.forward = _to_torch(self.matrix, device)
        self.backward = _to_torch(self.matrix.T.tocsr(), device)

    @property
    def n_columns(self) -> int:
        return int(self.matrix.shape[1])

    def times(self, dense: torch.Tensor) -> torch.Tensor:
        """F · ``dense`` (``columns × d`` → ``rows × d``)."""
        out: torch.Tensor = self.forward @ dense
        return out

    def transpose_times(self, dense: torch.Tensor) -> torch.Tensor:
        """Fᵀ · ``dense`` (``rows × d`` → ``columns × d``)."""
        out: torch.Tensor = self.backward @ dense
        return out

    def dense(self, rows: torch.Tensor) -> torch.Tensor:
        """The rows ``rows`` as a dense ``len(rows) × columns`` tensor on the device."""
        block = self.matrix[rows.cpu().numpy()].toarray()
        return torch.from_numpy(block).to(self.device)

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        m = self.matrix
        return {f"{prefix}.indptr": torch.from_numpy(m.indptr.astype(np.int64)),
                f"{prefix}.indices": torch.from_numpy(m.indices.astype(np.int64)),
                f"{prefix}.data": torch.from_numpy(m.data.astype(np.float32)),
                f"{prefix}.n_cols": torch.tensor(m.shape[1])}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], prefix: str, device: torch.device) -> SparseRows:
        indptr = state[f"{prefix}.indptr"].numpy()
        matrix = sp.csr_matrix((state[f"{prefix}.data"].numpy(), state[f"{prefix}.indices"].numpy(), indptr),
                               shape=(len(indptr) - 1, int(state[f"{prefix}.n_cols"])))
        return cls(matrix, device)


def _to_torch(matrix: sp.csr_matrix, device: torch.device) -> torch.Tensor:
    return csr_tensor(torch.from_numpy(matrix.indptr.astype(np.int64)), torch.from_numpy(matrix.indices.astype(np.int64)),
                      torch.from_numpy(matrix.data), (int(matrix.shape[0]), int(matrix.shape[1])), device)


class FactorSide:
    """One side's factors V, each row with pairs pulled towards its content F W, and the two
    steps of a sweep (see the module docstring).

    ``pairs`` holds this side's rows against the other side's columns (their confidences);
    ``features`` is None where the side has none (then the prior is zero and :meth:`solve` is
    iALS's step, restricted to rows with pairs)."""

    def __init__(self, pairs: PairSide, has_pairs: torch.Tensor, features: SparseRows | None, factors: torch.Tensor,
                 weights: torch.Tensor, prior_reg: float, feature_reg: float) -> None:
        self.pairs = pairs
        self.features = features if features is not None and features.n_columns else None
        self.mask = has_pairs.to(factors.dtype)[:, None]
        self.prior_reg, self.feature_reg = prior_reg, feature_reg
        self.set_weights(weights)
        self.factors = self._complete(factors)

    def set_weights(self, weights: torch.Tensor) -> None:
        """W, and F W with it (the prior every step reads: computed once per change of W)."""
        self.weights = weights
        if self.features is None:
            self._content = torch.zeros(len(self.mask), weights.shape[1], device=self.mask.device)
        else:
            self._content = self.features.times(weights)

    def content(self) -> torch.Tensor:
        """F W (zero where the side has no features)."""
        return self._content

    def training_factors(self) -> torch.Tensor:
        """M∘V: the factors the other side is fitted against (rows without pairs count for nothing)."""
        return self.mask * self.factors

    def solve(self, other: torch.Tensor, steps: int) -> None:
        """One sweep against the other side's training factors ``other``: V with F W as its
        prior, then W fitted to V."""
        self.factors = self._complete(self._factor_step(other, steps))
        if self.features is not None:
            self.set_weights(self._feature_step(self.features, steps))
            self.factors = self._complete(self.factors)

    def _complete(self, factors: torch.Tensor) -> torch.Tensor:
        """``factors`` with each row that has no pairs replaced by its content."""
        return self.mask * factors + (1.0 - self.mask) * self.content()

    def _factor_step(self, other: torch.Tensor, steps: int) -> torch.Tensor:
        """CG on (A_i + λ I) v_i = b_i + λ (F W)_i, every row with pairs."""
        gram = other.t() @ other
        ridge = gram + self.prior_reg * torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)

        def hessian(direction: torch.Tensor) -> torch.Tensor:
            return direction @ ridge + self.pairs.weighted_gram_product(direction, other)

        r = self.mask * (self.pairs.residual(self.factors, other, ridge) + self.prior_reg * self.content())
        return conjugate_gradient_rows(hessian, self.factors, r, steps)

    def _feature_step(self, features: SparseRows, steps: int) -> torch.Tensor:
        """CG on (Fᵀ M F + λ_w/λ I) W = Fᵀ M V, one system per factor dimension (a column of W)."""
        shrink = self.feature_reg / max(self.prior_reg, TINY)

        def hessian(direction: torch.Tensor) -> torch.Tensor:
            w = direction.t()
            return (features.transpose_times(self.mask * features.times(w)) + shrink * w).t()

        r = features.transpose_times(self.mask * (self.factors - self.content())) - shrink * self.weights
        return conjugate_gradient_rows(hessian, self.weights.t(), r.t(), steps).t()

    def penalty(self) -> torch.Tensor:
        """λ ‖M∘(V − F W)‖² + λ_w ‖W‖²: the objective's regularisation on this side."""
        own = self.mask * (self.factors - self.content())
        return self.prior_reg * own.square().sum() + self.feature_reg * self.weights.square().sum()
