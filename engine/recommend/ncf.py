"""Neural collaborative filtering (NeuMF: GMF + MLP), the seed document's model done right.

He et al., "Neural Collaborative Filtering" (2017). Two branches over separate embeddings:

    GMF:  g_ui = p_u ⊙ q_i                                   (factors)
    MLP:  m_ui = MLP([p'_u ; q'_i])   layers e.g. 64 → 32 → 16 with ReLU
    s_ui = wᵀ [g_ui ; m_ui] + b                              (a logit)

trained with sampled negatives and a real per-score loss — binary cross-entropy on
σ(s_ui) with label 1 for observed pairs and 0 for sampled ones (or BPR's pairwise loss) —
instead of the seed's softmax over a score tensor with labels that are not labels.

Scoring every item is done without a pass per (user, item) through the first layer: its
weights split as W₁[p'; q'] = W₁ᵤp' + W₁ᵢq', so both halves are computed once per user and
once per item and only the deeper layers run on user × item blocks (of bounded size).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EngineError
from engine.recommend.base import Params
from engine.recommend.sampled import PairScorer, SampledModel

BLOCK_BUDGET = 1 << 24  # user × item × hidden activations held at once when scoring


@dataclass(frozen=True)
class NCFParams(Params):
    factors: int = 32
    layers: tuple[int, ...] = (64, 32, 16)
    epochs: int = 15
    lr: float = 0.01
    reg: float = 1e-5
    batch_size: int = 2048
    negatives: int = 4
    loss: str = "bce"
    seed: int = 42
    patience: int = 0


class NeuMF(PairScorer):
    def __init__(self, n_users: int, n_items: int, factors: int, layers: tuple[int, ...]) -> None:
        super().__init__()
        if len(layers) < 1 or layers[0] % 2 or any(h < 1 for h in layers):
            raise EngineError(f"NCF layers {'-'.join(map(str, layers))}: need at least one layer, the first even")
        half = layers[0] // 2
        self.gmf_user = nn.Parameter(torch.empty(n_users, factors))
        self.gmf_item = nn.Parameter(torch.empty(n_items, factors))
        self.mlp_user = nn.Parameter(torch.empty(n_users, half))
        self.mlp_item = nn.Parameter(torch.empty(n_items, half))
        self.first_user = nn.Parameter(torch.empty(layers[0], half))
        self.first_item = nn.Parameter(torch.empty(layers[0], half))
        self.first_bias = nn.Parameter(torch.zeros(layers[0]))
        self.deeper = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(layers))
        self.out = nn.Linear(factors + layers[-1], 1)

    def init(self, rng: torch.Generator) -> NeuMF:
        with torch.no_grad():
            for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
                nn.init.normal_(emb, std=0.01, generator=rng)
            for w in (self.first_user, self.first_item):
                nn.init.xavier_uniform_(w, generator=rng)
            for layer in self.deeper:
                nn.init.xavier_uniform_(layer.weight, generator=rng)
                layer.bias.zero_()
            nn.init.uniform_(self.out.weight, -0.1, 0.1, generator=rng)
            self.out.bias.zero_()
        return self

    def _head(self, gmf: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        h = F.relu(first)
        for layer in self.deeper:
            h = F.relu(layer(h))
        return self.out(torch.cat([gmf, h], dim=-1)).squeeze(-1)

    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.lookup(self.gmf_user, users)[:, None, :] * self.lookup(self.gmf_item, items)
        first = ((self.lookup(self.mlp_user, users) @ self.first_user.t())[:, None, :]
                 + self.lookup(self.mlp_item, items) @ self.first_item.t())
        return self._head(gmf, first + self.first_bias)

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return ((self.lookup(self.gmf_user, users) ** 2).sum(-1) + (self.lookup(self.mlp_user, users) ** 2).sum(-1)
                + (self.lookup(self.gmf_item, items) ** 2).sum((-1, -2))
                + (self.lookup(self.mlp_item, items) ** 2).sum((-1, -2)))

    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        n_items = self.gmf_item.shape[0]
        user_first = self.mlp_user[users] @ self.first_user.t() + self.first_bias
        item_first = self.mlp_item @ self.first_item.t()
        width = max(self.first_bias.shape[0], self.gmf_item.shape[1])
        block = max(1, BLOCK_BUDGET // max(1, n_items * width))
        out = []
        for start in range(0, len(users), block):
            u = slice(start, start + block)
            gmf = self.gmf_user[users[u]][:, None, :] * self.gmf_item[None, :, :]
            out.append(self._head(gmf, user_first[u][:, None, :] + item_first[None, :, :]))
        return torch.cat(out) if out else torch.zeros(0, n_items, device=users.device)


class NCF(SampledModel):
    algo = "ncf"
    Params = NCFParams
    user_tensors = ("gmf_user", "mlp_user")
    item_tensors = ("gmf_item", "mlp_item")

    def build_network(self, n_users: int, n_items: int, rng: torch.Generator) -> NeuMF:
        return NeuMF(n_users, n_items, self.params.factors, tuple(self.params.layers)).init(rng)

    def network_for_shapes(self, shapes: dict[str, tuple[int, ...]]) -> NeuMF:
        n_users, factors = shapes["gmf_user"]
        layers = (shapes["first_bias"][0],) + tuple(shapes[f"deeper.{i}.weight"][0] for i in range(
            sum(1 for k in shapes if k.startswith("deeper.") and k.endswith(".weight"))))
        return NeuMF(n_users, shapes["gmf_item"][0], factors, layers)

    def user_embeddings(self) -> torch.Tensor:
        return self.net.gmf_user.detach()

    def item_embeddings(self) -> torch.Tensor:
        return self.net.gmf_item.detach()
