"""Training on sampled negatives, shared by BPR-MF and the neural CF, on one or many processes.

An epoch visits every training pair (u, i) once in a seeded random order, draws ``negatives``
items j per pair uniformly from the catalog (a j the user has is redrawn, up to
``NEGATIVE_REDRAWS`` times, so a rare collision may remain), and takes an optimiser step per
mini-batch on the mean per-pair loss:

* ``bpr`` — −log σ(s_ui − s_uj), averaged over the negatives (Rendle et al. 2009);
* ``bce`` — −log σ(s_ui) − Σ_j log(1 − σ(s_uj)), binary cross-entropy with the sampled items
  as negatives (He et al. 2017) — a real label per score, not a softmax over a batch;

plus ``reg`` · (squared norms of the embeddings the pair touched).

No autograd in the loop: a step gathers the rows of the batch once (users B × f, items
B × (1 + negatives) × f, so all the negatives of a pair are scored in one batched matmul),
and the network writes the gradient of the loss in closed form (:meth:`PairScorer.gradients`;
a test holds it to autograd's on :meth:`PairScorer.forward`). The embedding tables learn with
Adagrad on the rows the batch touched (:class:`RowAdagrad`: duplicate rows summed first, the
tables of a large catalog never swept per step); the other weights (NCF's layers) with Adam.

Distributed (torch.distributed): every process draws the same order and negatives from the
same seed and takes its own slice of each global mini-batch; the slices' row gradients are
gathered and the dense ones summed, so every process applies the same step as a single
process would to the whole batch: the same seed gives the same model up to floating-point
summation order.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EngineError
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.training import EpochModel, EpochParams
from engine.threads import threads_for

NEGATIVE_REDRAWS = 3
LOSSES = ("bpr", "bce")
ADAGRAD_EPS = 1e-10

#: Row gradients of a step: table name → (row index N, gradient N × …); several tables may share an index.
RowGrads = dict[str, tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Placement:
    """Which slice of every mini-batch this process trains on (rank of world)."""

    rank: int = 0
    world: int = 1


class PairScorer(nn.Module):
    """A network that scores (user, items) pairs; subclasses are the BPR-MF and NeuMF nets.

    Training calls :meth:`scores` (which keeps what the backward pass needs) and then
    :meth:`gradients`; :meth:`forward` is the same loss written for autograd, the reference.
    """

    #: Multiply-adds per scored (user, item) pair in a training step, to pick the thread count.
    step_width: int = 1

    @abstractmethod
    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores ``B × m`` for users (B) and items (B × m)."""

    @abstractmethod
    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Per-pair squared norm (B) of the embeddings of ``users`` and ``items`` (B × m)."""

    @abstractmethod
    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users`` (B × n_items)."""

    @abstractmethod
    def scores(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(scores B × m, per-pair squared norms B, saved activations) without autograd."""

    @abstractmethod
    def gradients(self, saved: dict, grad_scores: torch.Tensor, reg: float) -> tuple[RowGrads, dict[str, torch.Tensor]]:
        """Gradients of Σ grad_scores · scores + reg · Σ penalty: (row gradients of the tables,
        dense gradients by parameter name)."""

    def forward(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                loss: str, reg: float) -> torch.Tensor:
        """Per-pair loss (B), differentiable: the definition the closed-form gradients follow."""
        items = torch.cat([positives[:, None], negatives], dim=1)
        s = self.pair_scores(users, items)
        pos, neg = s[:, :1], s[:, 1:]
        if loss == "bpr":
            data = F.softplus(-(pos - neg)).mean(1)
        else:
            data = F.softplus(-pos[:, 0]) + F.softplus(neg).sum(1)
        return data + reg * self.penalty(users, items)


def loss_and_score_gradient(s: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair data loss (B) and its gradient with respect to the scores ``s`` (B × (1 + m),
    the positive first): for BPR ∂/∂s_ui = −Σ_j σ(s_uj − s_ui)/m and ∂/∂s_uj = σ(s_uj − s_ui)/m;
    for BCE ∂/∂s_ui = −σ(−s_ui) and ∂/∂s_uj = σ(s_uj)."""
    pos, neg = s[:, :1], s[:, 1:]
    if loss == "bpr":
        diff = neg - pos
        data = F.softplus(diff).mean(1)
        g_neg = torch.sigmoid(diff).div_(neg.shape[1])
        return data, torch.cat([-g_neg.sum(1, keepdim=True), g_neg], dim=1)
    data = F.softplus(-pos[:, 0]) + F.softplus(neg).sum(1)
    return data, torch.cat([torch.sigmoid(pos).sub_(1.0), torch.sigmoid(neg)], dim=1)


def unique_rows(index: torch.Tensor, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(index, return_inverse=True)`` of row numbers below ``n_rows``: by a sort when
    the index is short next to the table, else by marking the rows (linear in the table, and
    four times quicker than the sort at 10 k rows of a 19 k-row table)."""
    if len(index) * 8 < n_rows:
        rows, inverse = torch.unique(index, return_inverse=True)
        return rows, inverse
    marked = torch.zeros(n_rows, dtype=torch.bool, device=index.device)
    marked[index] = True
    return marked.nonzero().squeeze(1), torch.cumsum(marked, 0).sub_(1).index_select(0, index)


class RowAdagrad:
    """Adagrad (Duchi et al. 2011) on the rows of embedding tables a step touches: with g_r the
    gradient of row r summed over its occurrences in the batch, G_r ← G_r + g_r² and
    w_r ← w_r − lr · g_r / (√G_r + ε). Rows a step does not touch are neither read nor written
    (the numbers are torch's sparse Adagrad's)."""

    def __init__(self, tables: dict[str, torch.Tensor], lr: float) -> None:
        self.tables, self.lr = tables, lr
        self.sums = {name: torch.zeros_like(t) for name, t in tables.items()}

    def step(self, grads: RowGrads) -> None:
        by_index: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for name, (index, grad) in grads.items():
            if id(index) not in by_index:
                by_index[id(index)] = unique_rows(index, len(self.tables[name]))
            rows, inverse = by_index[id(index)]
            g = grad.new_zeros((len(rows), *grad.shape[1:])).index_add_(0, inverse, grad)
            table, total = self.tables[name], self.sums[name]
            s = total.index_select(0, rows).addcmul_(g, g)
            total.index_copy_(0, rows, s)
            table.index_copy_(0, rows, table.index_select(0, rows).addcdiv_(g, s.sqrt_().add_(ADAGRAD_EPS),
                                                                             value=-self.lr))

    def state_dict(self) -> dict:
        return {"sum": {name: t.detach().cpu().clone() for name, t in self.sums.items()}}

    def load_state_dict(self, state: dict) -> None:
        for name, t in self.sums.items():
            t.copy_(state["sum"][name].to(t.device))


class SampledParams(EpochParams, Protocol):
    """The parameters :class:`SampledModel` reads besides ``epochs``/``seed``/``patience``."""

    @property
    def lr(self) -> float: ...

    @property
    def reg(self) -> float: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def negatives(self) -> int: ...

    @property
    def loss(self) -> str: ...


class SampledModel(EpochModel):
    """A :class:`PairScorer` trained on sampled negatives (its ``Params``: :class:`SampledParams`)."""

    params: SampledParams
    distributable = True
    placement = Placement()

    @property
    def is_primary(self) -> bool:
        return self.placement.rank == 0

    @abstractmethod
    def build_network(self, n_users: int, n_items: int, rng: torch.Generator) -> PairScorer:
        """A freshly initialised network (on the CPU, initialised from ``rng``)."""

    def begin(self, train: UserItemMatrix, rng: torch.Generator) -> None:
        p = self.params
        if p.loss not in LOSSES:
            raise EngineError(f"loss '{p.loss}' is not one of {', '.join(LOSSES)}")
        if p.batch_size < 1 or p.negatives < 1 or p.lr <= 0 or p.reg < 0:
            raise EngineError("batch_size and negatives must be ≥ 1, lr > 0 and reg ≥ 0")
        self.net = self.build_network(train.n_users, train.n_items, rng).to(self.device)
        self.net.requires_grad_(False)
        named = dict(self.net.named_parameters())
        tables = set(self.user_tensors) | set(self.item_tensors)
        self.row_optimizer = RowAdagrad({n: named[n] for n in sorted(tables)}, p.lr)
        self.dense = {n: w for n, w in sorted(named.items()) if n not in tables}
        self.dense_optimizer = torch.optim.Adam(list(self.dense.values()), lr=p.lr) if self.dense else None
        self.pairs_users = train.rows()
        self.pairs_items = train.indices.clone()
        self.train_matrix = train

    def sample_negatives(self, users: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """``len(users) × negatives`` uniform items, redrawn where the user already has them."""
        m = self.params.negatives
        n_items = self.train_matrix.n_items
        neg = torch.randint(n_items, (len(users), m), generator=rng).reshape(-1)
        flat_users = users[:, None].expand(-1, m).reshape(-1)
        suspect = torch.arange(len(neg))
        for _ in range(NEGATIVE_REDRAWS):
            suspect = suspect[self.train_matrix.contains(flat_users[suspect], neg[suspect])]
            if len(suspect) == 0:
                break
            neg[suspect] = torch.randint(n_items, (len(suspect),), generator=rng)
        return neg.reshape(len(users), m)

    @torch.no_grad()
    def run_epoch(self, rng: torch.Generator) -> float:
        p = self.params
        order = torch.randperm(len(self.pairs_users), generator=rng)
        users = self.pairs_users[order]
        items = torch.cat([self.pairs_items[order][:, None], self.sample_negatives(users, rng)], dim=1)
        users, items = users.to(self.device), items.to(self.device)
        world = self.placement.world
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        count = 0
        with threads_for(self.device, p.batch_size * items.shape[1] * self.net.step_width):
            for start in range(0, len(order), p.batch_size):
                stop = min(len(order), start + p.batch_size)
                total += self.step(users, items, start, stop)
                count += stop - start
        if world > 1:  # every process summed its own slices
            torch.distributed.all_reduce(total)
        return float(total) / max(1, count)

    def step(self, users: torch.Tensor, items: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """One optimiser step on the mini-batch [start, stop) (this process's slice of it);
        returns the slice's summed per-pair loss."""
        p, rank, world = self.params, self.placement.rank, self.placement.world
        lo, hi = _share(start, stop, rank, world)
        s, norms, saved = self.net.scores(users[lo:hi], items[lo:hi])
        data, grad_scores = loss_and_score_gradient(s, p.loss)
        scale = 1.0 / (stop - start)
        rows, dense = self.net.gradients(saved, grad_scores.mul_(scale), p.reg * scale)
        if world > 1:
            rows, dense = _gather_rows(rows, hi - lo, _share(start, stop, 0, world)), _sum_dense(dense)
        self.row_optimizer.step(rows)
        if self.dense_optimizer is not None:
            for name, w in self.dense.items():
                w.grad = dense[name].to(w.dtype)
            self.dense_optimizer.step()
        return data.sum(dtype=torch.float64) + p.reg * norms.sum(dtype=torch.float64)

    @torch.no_grad()
    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.net.all_scores(users.to(torch.int64).to(self.device))

    def training_state(self) -> dict:
        optimizers = {"tables": self.row_optimizer.state_dict()}
        if self.dense_optimizer is not None:
            optimizers["dense"] = self.dense_optimizer.state_dict()
        return {"weights": self.state_dict(), "optimizers": optimizers}

    def load_training_state(self, state: dict) -> None:
        self.load_state_dict(state["weights"])
        self.row_optimizer.load_state_dict(state["optimizers"]["tables"])
        if self.dense_optimizer is not None:
            self.dense_optimizer.load_state_dict(state["optimizers"]["dense"])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if not hasattr(self, "net"):
            shapes = {k: tuple(v.shape) for k, v in state.items()}
            self.net = self.network_for_shapes(shapes).to(self.device)
        with torch.no_grad():
            for name, tensor in self.net.state_dict().items():
                tensor.copy_(state[name].to(self.device))

    @abstractmethod
    def network_for_shapes(self, shapes: dict[str, tuple[int, ...]]) -> PairScorer:
        """An (uninitialised) network whose tensors have these shapes, to load saved weights into."""


def _share(start: int, stop: int, rank: int, world: int) -> tuple[int, int]:
    """Bounds of rank's slice of the batch [start, stop) (the first ``n % world`` slices one longer)."""
    size, extra = divmod(stop - start, world)
    lo = start + rank * size + min(rank, extra)
    return lo, lo + size + (rank < extra)


def _gather_rows(rows: RowGrads, pairs: int, first: tuple[int, int]) -> RowGrads:
    """Every process's row gradients, concatenated (slices padded to the longest with zero
    gradients on row 0, which leave Adagrad's rows as they are)."""
    longest = first[1] - first[0]
    world = torch.distributed.get_world_size()
    gathered: RowGrads = {}
    indices: dict[int, torch.Tensor] = {}
    for name, (index, grad) in rows.items():
        per_pair = index.numel() // max(1, pairs)
        pad = (longest - pairs) * per_pair
        if id(index) not in indices:
            padded = torch.cat([index.reshape(-1), index.new_zeros(pad)])
            parts = [torch.empty_like(padded) for _ in range(world)]
            torch.distributed.all_gather(parts, padded)
            indices[id(index)] = torch.cat(parts)
        padded = torch.cat([grad, grad.new_zeros((pad,) + grad.shape[1:])])
        parts = [torch.empty_like(padded) for _ in range(world)]
        torch.distributed.all_gather(parts, padded)
        gathered[name] = (indices[id(index)], torch.cat(parts))
    return gathered


def _sum_dense(dense: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for grad in dense.values():
        torch.distributed.all_reduce(grad)
    return dense
