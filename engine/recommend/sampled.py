"""Training on sampled negatives, shared by BPR-MF and the neural CF, on one or many processes.

An epoch visits every training pair (u, i) once in a seeded random order, draws ``negatives``
items j per pair uniformly from the catalog (a j the user has is redrawn, up to
``NEGATIVE_REDRAWS`` times, so a rare collision may remain), and takes an optimiser step per
mini-batch on the mean per-pair loss:

* ``bpr`` — −log σ(s_ui − s_uj), averaged over the negatives (Rendle et al. 2009);
* ``bce`` — −log σ(s_ui) − Σ_j log(1 − σ(s_uj)), binary cross-entropy with the sampled items
  as negatives (He et al. 2017) — a real label per score, not a softmax over a batch;

plus ``reg`` · (squared norms of the embeddings the pair touched).

Optimisers: the embedding tables learn with Adagrad on sparse gradients (only the rows a batch
touches are read and written — the tables of a large catalog are never swept per step); the
other weights (NCF's layers) with Adam. Adagrad leaves a row untouched when its gradient is
zero, so sparse and dense gradients give the same numbers: under DDP, which reduces dense
gradients only, the model is the same as on one process.

Distributed (torch.distributed, DDP): every process draws the same order and negatives from
the same seed, takes its own slice of each global mini-batch and scales its loss by
world / batch, so DDP's gradient average equals the single-process gradient of the whole
batch: the same seed gives the same model up to floating-point summation order.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EngineError
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.training import EpochModel

NEGATIVE_REDRAWS = 3
LOSSES = ("bpr", "bce")


@dataclass(frozen=True)
class Placement:
    """Which slice of every mini-batch this process trains on (rank of world)."""

    rank: int = 0
    world: int = 1


class PairScorer(nn.Module):
    """A network that scores (user, items) pairs; subclasses are the BPR-MF and NeuMF nets."""

    #: Whether embedding lookups produce sparse gradients (set by the trainer).
    sparse_grads: bool = False

    def lookup(self, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` of an embedding ``table`` (sparse gradients when training so)."""
        return F.embedding(index, table, sparse=self.sparse_grads)

    @abstractmethod
    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores ``B × m`` for users (B) and items (B × m)."""

    @abstractmethod
    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Per-pair squared norm (B) of the embeddings of ``users`` and ``items`` (B × m)."""

    @abstractmethod
    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users`` (B × n_items)."""

    def forward(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                loss: str, reg: float) -> torch.Tensor:
        """Per-pair loss (B): DDP wraps this module, so the loss is computed inside forward."""
        items = torch.cat([positives[:, None], negatives], dim=1)
        s = self.pair_scores(users, items)
        pos, neg = s[:, :1], s[:, 1:]
        if loss == "bpr":
            data = F.softplus(-(pos - neg)).mean(1)
        else:
            data = F.softplus(-pos[:, 0]) + F.softplus(neg).sum(1)
        return data + reg * self.penalty(users, items)


class SampledModel(EpochModel):
    """A :class:`PairScorer` trained with Adam on sampled negatives; Params need ``lr``, ``reg``,
    ``batch_size``, ``negatives`` and ``loss`` besides ``epochs``/``seed``/``patience``."""

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
        world = self.placement.world
        self.net.sparse_grads = world == 1
        self.trained = self.net
        if world > 1:
            self.trained = nn.parallel.DistributedDataParallel(self.net)
        tables = set(self.user_tensors) | set(self.item_tensors)
        named = dict(self.net.named_parameters())
        self.optimizers = {"tables": torch.optim.Adagrad([named[n] for n in sorted(tables)], lr=p.lr)}
        dense = [w for n, w in sorted(named.items()) if n not in tables]
        if dense:
            self.optimizers["dense"] = torch.optim.Adam(dense, lr=p.lr)
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

    def run_epoch(self, rng: torch.Generator) -> float:
        p = self.params
        order = torch.randperm(len(self.pairs_users), generator=rng)
        users, items = self.pairs_users[order], self.pairs_items[order]
        negatives = self.sample_negatives(users, rng)
        rank, world = self.placement.rank, self.placement.world
        total, count = torch.zeros((), device=self.device, dtype=torch.float64), 0
        for start in range(0, len(order), p.batch_size):
            stop = min(len(order), start + p.batch_size)
            part = torch.arange(start, stop).tensor_split(world)[rank]
            u = users[part].to(self.device)
            per_pair = self.trained(u, items[part].to(self.device), negatives[part].to(self.device), p.loss, p.reg)
            loss = per_pair.sum() * (world / (stop - start))
            for optimizer in self.optimizers.values():
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for optimizer in self.optimizers.values():
                optimizer.step()
            total += per_pair.detach().sum().to(torch.float64)
            count += len(part)
        if world > 1:
            both = torch.stack([total, torch.tensor(float(count), device=self.device, dtype=torch.float64)])
            torch.distributed.all_reduce(both)
            total, count = both[0], int(both[1])
        return float(total) / max(1, count)

    @torch.no_grad()
    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.net.all_scores(users.to(torch.int64).to(self.device))

    def training_state(self) -> dict:
        return {"weights": self.state_dict(),
                "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()}}

    def load_training_state(self, state: dict) -> None:
        self.load_state_dict(state["weights"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])

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
