"""BPR-MF: matrix factorisation trained on sampled pairwise preferences.

Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback" (2009):
s_ui = p_uᵀ q_i + b_i, loss −log σ(s_ui − s_uj) for an observed i and a sampled j, with L2
on the embeddings touched, mini-batches on the device and Adagrad on the rows touched (see
:mod:`engine.recommend.sampled`, which also runs it across processes). The gradients are
written out: with g_k = ∂loss/∂s_uk, ∂/∂p_u = Σ_k g_k q_k + 2λp_u, ∂/∂q_k = g_k p_u + 2λq_k,
∂/∂b_k = g_k.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.recommend.base import Params
from engine.recommend.sampled import PairScorer, RowGrads, SampledModel


@dataclass(frozen=True)
class BPRParams(Params):
    factors: int = 32
    epochs: int = 6
    lr: float = 0.1
    reg: float = 0.01
    batch_size: int = 2048
    negatives: int = 4
    loss: str = "bpr"
    seed: int = 42
    patience: int = 0


class MFNet(PairScorer):
    """p_uᵀ q_i + b_i."""

    def __init__(self, n_users: int, n_items: int, factors: int) -> None:
        super().__init__()
        self.user = nn.Parameter(torch.empty(n_users, factors))
        self.item = nn.Parameter(torch.empty(n_items, factors))
        self.bias = nn.Parameter(torch.zeros(n_items, 1))
        self.step_width = 8 * factors

    def init(self, rng: torch.Generator) -> MFNet:
        with torch.no_grad():
            nn.init.normal_(self.user, std=0.1, generator=rng)
            nn.init.normal_(self.item, std=0.1, generator=rng)
        return self

    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        u, v = self.user[users], self.item[items]
        return (u[:, None, :] * v).sum(-1) + self.bias[items][..., 0]

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user[users] ** 2).sum(-1) + (self.item[items] ** 2).sum((-1, -2))

    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        return self.user[users] @ self.item.t() + self.bias[:, 0]

    def scores(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        flat = items.reshape(-1)
        p, q = self.user.index_select(0, users), self.item.index_select(0, flat).view(*items.shape, -1)
        s = torch.mul(q, p[:, None, :]).sum(-1).add_(self.bias.index_select(0, flat).view(items.shape))
        norms = p.square().sum(-1) + q.square().sum((-1, -2))
        return s, norms, {"users": users, "flat": flat, "p": p, "q": q}

    def gradients(self, saved: dict, grad_scores: torch.Tensor, reg: float) -> tuple[RowGrads, dict[str, torch.Tensor]]:
        p, q, g = saved["p"], saved["q"], grad_scores
        grad_p = torch.mul(g[..., None], q).sum(1).add_(p, alpha=2 * reg)
        grad_q = torch.mul(g[..., None], p[:, None, :]).add_(q, alpha=2 * reg)
        flat = saved["flat"]
        return {"user": (saved["users"], grad_p), "item": (flat, grad_q.reshape(len(flat), -1)),
                "bias": (flat, g.reshape(-1, 1))}, {}


class BPR(SampledModel):
    algo = "bpr"
    Params = BPRParams
    params: BPRParams
    net: MFNet
    user_tensors = ("user",)
    item_tensors = ("item", "bias")
    #: A warm start saves BPR no epochs: from the parent's weights, a third of its epochs fell
    #: short of a full retrain's NDCG@10 on generated platforms, all of them did not (see
    #: docs/recommend.md, "Updates and drift").
    update_divisor = 1

    def build_network(self, n_users: int, n_items: int, rng: torch.Generator) -> MFNet:
        return MFNet(n_users, n_items, self.params.factors).init(rng)

    def network_for_shapes(self, shapes: dict[str, tuple[int, ...]]) -> MFNet:
        n_users, factors = shapes["user"]
        return MFNet(n_users, shapes["item"][0], factors)

    def user_embeddings(self) -> torch.Tensor:
        return self.net.user.detach()

    def item_embeddings(self) -> torch.Tensor:
        return self.net.item.detach()
