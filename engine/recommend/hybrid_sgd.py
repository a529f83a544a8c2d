"""The hybrid model's ``sgd`` solver: LightFM's sampled ranking loss, trained by Adagrad.

After LightFM (Kula, "Metadata Embeddings for User and Item Cold-start Recommendations",
2015): with item features f_i and a user's content profile g_u (see :mod:`engine.recommend.hybrid`),

    q_i = [i warm] · e_i + Σ_f f_if · E_f          b_i = [i warm] · β_i + Σ_f f_if · β_f
    p_u = e_u + Σ_f g_uf · H_f                     s_ui = p_u · q_i + b_i

where e_·, E, H, β are learned and "warm" means the item has training pairs. An item never
seen in training is scored from its features alone (its id embedding is never used, so it is
neither trained nor random noise); negatives are drawn from warm items only, so the new
items of a cold-items split never leak into training.

Trained with autograd on the device, mini-batches of training pairs (users in a seeded order,
each user's pairs together: :meth:`SGDSolver.pair_order`) and
``negatives`` uniform warm items per mini-batch, shared by its pairs (one matrix product scores
them all, so many negatives cost little), Adagrad on sparse row gradients (the tables of a
million-item catalog are never swept per step; each distinct user and item of a batch is
assembled once), L2 ``reg`` on the vectors a batch touched:

* ``bpr`` (default) — −log σ(s_ui − s_uj), averaged over the negatives (Rendle et al. 2009);
* ``warp`` — WARP-like (Weston et al. 2011, as LightFM): the hardest of the sampled
  negatives, hinge max(0, 1 − s_ui + s_uj), weighted by ln(1 + r̂) with the rank estimate
  r̂ = ⌊(n_warm − 1) · #violators / negatives⌋ (violator: s_uj > s_ui − 1); with negatives
  shared by a mini-batch it fell well short of ``bpr`` on the sample platform (docs/recommend.md).

The part of s_ui that flows through feature f is f_if · (p_u · E_f + β_f), exact
(:meth:`SGDSolver.feature_contributions`).
"""

from __future__ import annotations

import math
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from typing import TYPE_CHECKING

from engine.errors import EngineError
from engine.recommend.matrix import UserItemMatrix
from engine.threads import threads_for

if TYPE_CHECKING:
    from engine.recommend.hybrid import HybridParams

LOSSES = ("bpr", "warp")
#: items whose vectors are assembled at once when scoring the whole catalog
ITEM_CHUNK = 1 << 18
ADAGRAD_EPS = 1e-10


class _Rows:
    """A CSR matrix on the device whose rows are gathered as embedding bags."""

    def __init__(self, indptr: torch.Tensor, indices: torch.Tensor, data: torch.Tensor, n_cols: int,
                 device: torch.device) -> None:
        self.indptr = indptr.to(device=device, dtype=torch.int64)
        self.indices = indices.to(device=device, dtype=torch.int64)
        self.data = data.to(device=device, dtype=torch.float32)
        self.n_cols = n_cols

    @classmethod
    def from_scipy(cls, matrix: sp.csr_matrix, device: torch.device) -> _Rows:
        return cls(torch.from_numpy(matrix.indptr.astype(np.int64)), torch.from_numpy(matrix.indices.astype(np.int64)),
                   torch.from_numpy(matrix.data.astype(np.float32)), matrix.shape[1], device)

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}.indptr": self.indptr.cpu(), f"{prefix}.indices": self.indices.cpu(),
                f"{prefix}.data": self.data.cpu(), f"{prefix}.n_cols": torch.tensor(self.n_cols)}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], prefix: str, device: torch.device) -> _Rows:
        return cls(state[f"{prefix}.indptr"], state[f"{prefix}.indices"], state[f"{prefix}.data"],
                   int(state[f"{prefix}.n_cols"]), device)

    def to_scipy(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data.cpu().numpy(), self.indices.cpu().numpy(), self.indptr.cpu().numpy()),
                             shape=(len(self.indptr) - 1, self.n_cols))

    def _slices(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Where the stored values of ``rows`` are (``pos``, row after row), how many each row
        has and where each row's run starts in ``pos`` (an embedding bag's offsets)."""
        start = self.indptr[rows]
        counts = self.indptr[rows + 1] - start
        offsets = torch.cumsum(counts, 0) - counts
        total = int(counts.sum())
        pos = torch.repeat_interleave(start - offsets, counts, output_size=total) + torch.arange(total,
                                                                                                 device=rows.device)
        return pos, counts, offsets

    def bag(self, rows: torch.Tensor, take: _Taken, names: tuple[str, ...]) -> torch.Tensor:
        """Σ_f m_rf · [table_f of each of ``names``, side by side] for each of ``rows``. The
        distinct features of ``rows`` are taken from the tables once, so a step's gradient and
        Adagrad update cover those rows only (never a sweep of the tables), and the sums are
        one embedding bag over them."""
        pos, _, offsets = self._slices(rows)
        features, local = torch.unique(self.indices[pos], return_inverse=True)
        tables = [take.rows(name, features) for name in names]
        weight = tables[0] if len(tables) == 1 else torch.cat(tables, 1)
        product: torch.Tensor = F.embedding_bag(local, weight, offsets, mode="sum",
                                                per_sample_weights=self.data[pos])
        return product

    def dense(self, rows: torch.Tensor) -> torch.Tensor:
        """The rows as a dense ``len(rows) × n_cols`` tensor."""
        pos, counts, _ = self._slices(rows)
        which = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), counts, output_size=len(pos))
        out = torch.zeros(len(rows), self.n_cols, device=rows.device)
        out[which, self.indices[pos]] = self.data[pos]
        return out


class _Taken:
    """Rows gathered from the weight tables for one step; :meth:`adagrad_step` differentiates the
    loss with respect to just those rows and applies Adagrad to them (duplicates summed first), so
    a step costs the rows it touched, never a sweep of a million-row table."""

    def __init__(self, weights: dict[str, torch.Tensor], grad: bool = True) -> None:
        self.weights, self.grad = weights, grad
        self.taken: list[tuple[str, torch.Tensor, torch.Tensor]] = []

    def rows(self, name: str, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` of table ``name`` (a gradient for just these rows)."""
        rows = self.weights[name][index]
        if self.grad:
            rows.requires_grad_()
            self.taken.append((name, index, rows))
        return rows

    def adagrad_step(self, loss: torch.Tensor, accumulators: dict[str, torch.Tensor], lr: float) -> None:
        grads = torch.autograd.grad(loss, [rows for _, _, rows in self.taken])
        by_table: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        for (name, index, _), grad in zip(self.taken, grads, strict=True):
            by_table.setdefault(name, []).append((index, grad))
        for name, parts in by_table.items():
            index = torch.cat([i for i, _ in parts])
            if len(index) == 0:
                continue
            unique, inverse = torch.unique(index, return_inverse=True)
            grad = torch.zeros(len(unique), parts[0][1].shape[1], device=index.device).index_add_(
                0, inverse, torch.cat([g for _, g in parts]))
            acc = accumulators[name]
            acc[unique] += grad.square()
            self.weights[name][unique] -= lr * grad / (acc[unique].sqrt() + ADAGRAD_EPS)


class SGDSolver:
    """The ``sgd`` solver of :class:`engine.recommend.hybrid.HybridMF` (see the module docstring)."""

    def __init__(self, params: HybridParams, device: torch.device) -> None:
        self.params, self.device = params, device
        self._catalog: tuple[torch.Tensor, torch.Tensor] | None = None  # cached (q_i, b_i) of every item

    def begin(self, train: UserItemMatrix, item_features: sp.csr_matrix, profiles: sp.csr_matrix,
              rng: torch.Generator) -> None:
        p = self.params
        if p.loss not in LOSSES:
            raise EngineError(f"hybrid loss '{p.loss}': one of {', '.join(LOSSES)}")
        if p.factors < 1 or p.negatives < 1 or p.batch_size < 1 or p.lr <= 0 or p.reg < 0:
            raise EngineError("the sgd hybrid needs factors, negatives and batch_size ≥ 1, lr > 0 and reg ≥ 0")
        dev = self.device
        self.features = _Rows.from_scipy(item_features, dev)
        self.profiles = _Rows.from_scipy(profiles, dev)
        self.warm = (train.item_counts() > 0).to(dev)
        d, n_f = p.factors, item_features.shape[1]
        scale = 1.0 / math.sqrt(d)

        def table(rows: int, cols: int, std: float) -> torch.Tensor:
            return (torch.randn(rows, cols, generator=rng) * std).to(dev)

        self.weights = {
            "user": table(train.n_users, d, 0.1 * scale), "item": table(train.n_items, d, 0.1 * scale),
            "feature": table(n_f, d, 0.1 * scale), "user_feature": table(n_f, d, 0.1 * scale),
            "item_bias": torch.zeros(train.n_items, 1, device=dev),
            "feature_bias": torch.zeros(n_f, 1, device=dev),
        }
        self.accumulators = {name: torch.zeros_like(t) for name, t in self.weights.items()}
        self.pair_users = train.rows().to(dev)
        self.pair_items = train.indices.to(dev)
        self.warm_items = torch.nonzero(self.warm).flatten()
        self._invalidate()

    def run_epoch(self, rng: torch.Generator) -> float:
        p, dev = self.params, self.device
        n_pairs = len(self.pair_items)
        order = self.pair_order(rng)
        total, batches = 0.0, 0
        # a step's products are small: on the CPU one thread beats waking a second per op
        with threads_for(dev, p.batch_size * (1 + p.negatives) * p.factors):
            for start in range(0, n_pairs, p.batch_size):
                total += self._step(order[start:start + p.batch_size], rng)
                batches += 1
        self._invalidate()
        return total / max(1, batches)

    def pair_order(self, rng: torch.Generator) -> torch.Tensor:
        """An epoch's order of the training pairs: users in a seeded random order, each user's
        pairs together. A mini-batch then holds a few dozen users rather than a thousand, so
        their content vectors (Σ_f g_uf H_f, the bulk of a step: a profile has ~100 features)
        are assembled and differentiated once per epoch instead of once per pair; on the
        sample platform and qc this ranked as well or better than pairs shuffled one by one."""
        n_users = len(self.profiles.indptr) - 1
        place = torch.empty(n_users, dtype=torch.int64)
        place[torch.randperm(n_users, generator=rng)] = torch.arange(n_users)
        order: torch.Tensor = torch.argsort(place.to(self.device)[self.pair_users], stable=True)
        return order

    def _step(self, batch: torch.Tensor, rng: torch.Generator) -> float:
        """One Adagrad step on the training pairs ``batch`` and ``negatives`` fresh warm items;
        returns the batch's ranking loss."""
        p, n_warm = self.params, len(self.warm_items)
        draw = torch.randint(n_warm, (p.negatives,), generator=rng).to(self.device)
        items = torch.cat([self.pair_items[batch], self.warm_items[draw]])
        users, user_of = torch.unique(self.pair_users[batch], return_inverse=True)
        item_set, item_of = torch.unique(items, return_inverse=True)
        taken = _Taken(self.weights)
        u = self._user_vectors(users, taken)
        q, b = self._item_vectors(item_set, taken)
        pu, pos, neg = u[user_of], item_of[:len(batch)], item_of[len(batch):]
        s = torch.cat([((pu * q[pos]).sum(-1) + b[pos])[:, None], pu @ q[neg].t() + b[neg]], 1)
        loss = _ranking_loss(s, p.loss, n_warm)
        penalty = p.reg * (u.square().sum() + q.square().sum()) / len(batch)
        taken.adagrad_step(loss + penalty, self.accumulators, p.lr)
        return float(loss.detach())

    def training_state(self) -> dict:
        return {"weights": self.state_dict(), "accumulators": {k: v.cpu() for k, v in self.accumulators.items()}}

    def load_training_state(self, state: dict) -> None:
        self.load_state_dict(state["weights"])
        self.accumulators = {k: v.to(self.device) for k, v in state["accumulators"].items()}

    # --- vectors -------------------------------------------------------------------------

    def _user_vectors(self, users: torch.Tensor, taken: _Taken | None = None) -> torch.Tensor:
        """p_u = e_u + Σ_f g_uf H_f (rows taken for a gradient step when ``taken`` is given)."""
        take = taken or _Taken(self.weights, grad=False)
        return take.rows("user", users) + self.profiles.bag(users, take, ("user_feature",))

    def _item_vectors(self, items: torch.Tensor, taken: _Taken | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(q_i, b_i) of ``items`` (see the module docstring)."""
        take = taken or _Taken(self.weights, grad=False)
        warm = self.warm[items].to(torch.float32)[:, None]
        own = torch.cat([take.rows("item", items), take.rows("item_bias", items)], 1)
        qb = warm * own + self.features.bag(items, take, ("feature", "feature_bias"))
        return qb[:, :-1], qb[:, -1]

    def _invalidate(self) -> None:
        self._catalog = None

    def _all_items(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._catalog is None:
            parts = [self._item_vectors(torch.arange(lo, min(lo + ITEM_CHUNK, len(self.warm)), device=self.device))
                     for lo in range(0, len(self.warm), ITEM_CHUNK)]
            self._catalog = torch.cat([q for q, _ in parts]), torch.cat([b for _, b in parts])
        return self._catalog

    # --- scoring -------------------------------------------------------------------------

    def score(self, users: torch.Tensor) -> torch.Tensor:
        q, b = self._all_items()
        return self._user_vectors(users.to(self.device)) @ q.t() + b

    def user_vectors(self) -> torch.Tensor:
        return self._user_vectors(torch.arange(self.profiles.indptr.numel() - 1, device=self.device))

    def item_vectors(self) -> torch.Tensor:
        return self._all_items()[0]

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_features``: the part of s_ui through each feature f of item i,
        f_if · (p_u · E_f + β_f) (zero where the item lacks f)."""
        items = items.to(self.device)
        u = self._user_vectors(torch.tensor([user], device=self.device))[0]
        per_feature = self.weights["feature"] @ u + self.weights["feature_bias"][:, 0]
        return self.features.dense(items) * per_feature[None, :]

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor:
        """The feature rows of ``items``, dense (``len(items) × n_features``)."""
        return self.features.dense(items.to(self.device))

    # --- saving --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {name: t.cpu() for name, t in self.weights.items()}
        out.update(self.features.state("features"))
        out.update(self.profiles.state("profiles"))
        out["warm"] = self.warm.cpu()
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        dev = self.device
        self.weights = {name: state[name].to(dev).clone()
                        for name in ("user", "item", "feature", "user_feature", "item_bias", "feature_bias")}
        self.features = _Rows.from_state(state, "features", dev)
        self.profiles = _Rows.from_state(state, "profiles", dev)
        self.warm = state["warm"].to(dev)
        self._invalidate()


def _ranking_loss(s: torch.Tensor, loss: str, n_items: int) -> torch.Tensor:
    """Mean loss of a batch of scores ``B × (1 + negatives)`` (column 0 the positive)."""
    pos, neg = s[:, 0], s[:, 1:]
    if loss == "bpr":
        return F.softplus(neg - pos[:, None]).mean()
    violators = (neg > pos[:, None] - 1.0).sum(1).to(torch.float32)
    rank = torch.floor(violators * (n_items - 1) / neg.shape[1])
    weight = torch.log1p(rank).detach()
    return (weight * F.relu(1.0 - pos + neg.max(1).values)).mean()
