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
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EngineError
from engine.recommend.base import Params
from engine.recommend.sampled import PairScorer, RowGrads, SampledModel

BLOCK_BUDGET = 1 << 24  # user × item × hidden activations held at once when scoring


@dataclass(frozen=True)
class NCFParams(Params):
    factors: int = 32
    layers: tuple[int, ...] = (64, 32, 16)
    epochs: int = 6
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
        self.step_width = 2 * (factors + layers[0] * half + sum(a * b for a, b in itertools.pairwise(layers)))

    def linears(self) -> list[nn.Linear]:
        """The layers after the first (``deeper``): ``nn.ModuleList`` types its items as plain
        ``Module``, whose attributes mypy cannot see, so they are cast back to what was put in."""
        return [cast(nn.Linear, layer) for layer in self.deeper]

    def init(self, rng: torch.Generator) -> NeuMF:
        with torch.no_grad():
            for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
                nn.init.normal_(emb, std=0.01, generator=rng)
            for w in (self.first_user, self.first_item):
                nn.init.xavier_uniform_(w, generator=rng)
            for layer in self.linears():
                nn.init.xavier_uniform_(layer.weight, generator=rng)
                layer.bias.zero_()
            nn.init.uniform_(self.out.weight, -0.1, 0.1, generator=rng)
            self.out.bias.zero_()
        return self

    def _head(self, gmf: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        h = F.relu(first)
        for layer in self.linears():
            h = F.relu(layer(h))
        logits: torch.Tensor = self.out(torch.cat([gmf, h], dim=-1))
        return logits.squeeze(-1)

    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user[users][:, None, :] * self.gmf_item[items]
        first = (self.mlp_user[users] @ self.first_user.t())[:, None, :] + self.mlp_item[items] @ self.first_item.t()
        return self._head(gmf, first + self.first_bias)

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return ((self.gmf_user[users] ** 2).sum(-1) + (self.mlp_user[users] ** 2).sum(-1)
                + (self.gmf_item[items] ** 2).sum((-1, -2)) + (self.mlp_item[items] ** 2).sum((-1, -2)))

    def scores(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        b, m = items.shape
        flat = items.reshape(-1)
        pu, mu = self.gmf_user.index_select(0, users), self.mlp_user.index_select(0, users)
        qi, mi = self.gmf_item.index_select(0, flat), self.mlp_item.index_select(0, flat)
        gmf = torch.mul(pu[:, None, :], qi.view(b, m, -1)).view(b * m, -1)
        first = torch.addmm(self.first_bias, mu, self.first_user.t())
        hidden = [torch.addmm(first.repeat_interleave(m, 0), mi, self.first_item.t()).relu_()]
        for layer in self.linears():
            hidden.append(torch.addmm(layer.bias, hidden[-1], layer.weight.t()).relu_())
        w = self.out.weight[0]
        factors = pu.shape[1]
        s = torch.addmv(torch.mv(gmf, w[:factors]).add_(self.out.bias), hidden[-1], w[factors:]).view(b, m)
        norms = (pu.square().sum(-1) + mu.square().sum(-1)
                 + qi.square().sum(-1).view(b, m).sum(1) + mi.square().sum(-1).view(b, m).sum(1))
        return s, norms, {"users": users, "flat": flat, "pu": pu, "mu": mu, "qi": qi, "mi": mi, "gmf": gmf,
                          "hidden": hidden}

    def gradients(self, saved: dict, grad_scores: torch.Tensor, reg: float) -> tuple[RowGrads, dict[str, torch.Tensor]]:
        """Backpropagation through the head written out (ReLU passes the gradient where its output > 0)."""
        b, m = grad_scores.shape
        g = grad_scores.reshape(-1)
        pu, mu, qi, mi, gmf, hidden = (saved[k] for k in ("pu", "mu", "qi", "mi", "gmf", "hidden"))
        factors = pu.shape[1]
        w = self.out.weight[0]
        # the dense layers' gradients are sums over the whole batch: taken in float64, so that the
        # same batch split over processes (each summing its slice, then all-reduced) rounds to the
        # same float32 step as one process
        g64 = g.double()
        dense = {"out.weight": torch.cat([g64 @ gmf.double(), g64 @ hidden[-1].double()])[None, :],
                 "out.bias": g64.sum()[None]}
        # GMF branch: s ⊃ wᵍ · (p_u ⊙ q_i)
        wg = w[:factors]
        grad_pu = (qi.view(b, m, -1) * grad_scores[..., None]).sum(1).mul_(wg)
        grad_qi = torch.mul(g[:, None], pu.mul(wg).repeat_interleave(m, 0))
        # MLP branch
        delta = _relu_backward(torch.outer(g, w[factors:]), hidden[-1])
        deeper = self.linears()
        for i in range(len(deeper) - 1, -1, -1):
            layer = deeper[i]
            dense[f"deeper.{i}.weight"] = delta.t().double() @ hidden[i].double()
            dense[f"deeper.{i}.bias"] = delta.sum(0, dtype=torch.float64)
            delta = _relu_backward(delta @ layer.weight, hidden[i])
        delta_user = delta.view(b, m, -1).sum(1)
        dense["first_item"] = delta.t().double() @ mi.double()
        dense["first_user"] = delta_user.t().double() @ mu.double()
        dense["first_bias"] = delta_user.sum(0, dtype=torch.float64)
        flat = saved["flat"]
        rows = {"gmf_user": (saved["users"], grad_pu.add_(pu, alpha=2 * reg)),
                "mlp_user": (saved["users"], torch.addmm(mu, delta_user, self.first_user, beta=2 * reg)),
                "gmf_item": (flat, grad_qi.add_(qi, alpha=2 * reg)),
                "mlp_item": (flat, torch.addmm(mi, delta, self.first_item, beta=2 * reg))}
        return rows, dense

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


def _relu_backward(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """The gradient through a ReLU, given its output: ``grad`` where the output is > 0, else 0."""
    through: torch.Tensor = torch.ops.aten.threshold_backward(grad, output, 0.0)
    return through


class NCF(SampledModel):
    algo = "ncf"
    Params = NCFParams
    params: NCFParams
    net: NeuMF
    user_tensors = ("gmf_user", "mlp_user")
    item_tensors = ("gmf_item", "mlp_item")
    #: With 6 epochs by default (15 before issue 16), a third of them (2) from the parent's weights
    #: reached 88.5 % of a full retrain's NDCG@10 on a 600-user generated platform: an update
    #: runs all of them (see docs/recommend.md, "Updates and drift").
    update_divisor = 1

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
