"""Item-kNN: score an item by how similar it is to the items the user already has.

Similarity is cosine with shrinkage (Sarwar et al. 2001; shrinkage after Koren 2008) on the
binary user × item matrix X, G = XᵀX:

    sim(i, j) = G_ij / (√G_ii · √G_jj + shrinkage),  sim(i, i) = 0

For every target item only its ``neighbors`` most similar items are kept (of equally similar
ones, the lower item index), W[j, i] = sim(j, i) when j is among i's neighbours; then
score(u, i) = Σ_j X_uj · W[j, i]. The contribution of each history item j is that product,
which is what explanations show.

Scaling: memory is n_items × neighbors; building it needs one block of G at a time, so it
scales with the number of items and co-occurrences, not with users.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.recommend.base import FitReport, Params, Recommender, top_k
from engine.recommend.cooccurrence import gram_blocks
from engine.recommend.matrix import UserItemMatrix

BLOCK_BUDGET = 1 << 25  # dense co-occurrence entries held at once


@dataclass(frozen=True)
class ItemKNNParams(Params):
    neighbors: int = 100
    shrinkage: float = 10.0


class ItemKNN(Recommender):
    algo = "itemknn"
    Params = ItemKNNParams
    params: ItemKNNParams

    def fit(self, train: UserItemMatrix, *, progress: Progress = no_progress,
            validation: UserItemMatrix | None = None, checkpoint_dir: Path | None = None,
            resume: bool = False) -> FitReport:
        p = self.params
        if p.neighbors < 1 or p.shrinkage < 0:
            raise EngineError("item-kNN needs neighbors ≥ 1 and shrinkage ≥ 0")
        began = time.perf_counter()
        self.history = train
        n = train.n_items
        k = min(p.neighbors, max(1, n - 1))
        norms = train.item_counts().to(torch.float32).sqrt().to(self.device)
        block = max(1, BLOCK_BUDGET // max(1, n))
        sources, targets, weights = [], [], []
        for start, g in gram_blocks(train, self.device, block):
            rows = torch.arange(start, start + len(g), device=self.device)
            sim = g / (norms[rows, None] * norms[None, :] + p.shrinkage)
            sim[torch.arange(len(g), device=self.device), rows] = 0.0
            top, idx = top_k(sim, k)  # row = target item i, its k nearest items j (ties: lower j)
            keep = top > 0
            targets.append(rows[:, None].expand(-1, k)[keep])
            sources.append(idx[keep])
            weights.append(top[keep])
            progress(min(1.0, (start + len(g)) / n), f"similarities {start + len(g):,}/{n:,} items")
        self.source = torch.cat(sources)
        self.target = torch.cat(targets)
        self.weight = torch.cat(weights)
        self._build()
        return FitReport(seconds=time.perf_counter() - began)

    def _build(self) -> None:
        """Wᵀ as a sparse CSR matrix: row i holds item i's neighbours j with sim(j, i)."""
        n = self.require_history().n_items
        self.neighbours = UserItemMatrix.from_pairs(self.target.cpu(), self.source.cpu(), self.weight.cpu(), n, n)
        self.wt = self.neighbours.to_torch(self.device)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        x = self.require_history().dense_rows(users, self.device, binary=True)
        return (self.wt @ x.t()).t()

    def contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_items``: what each history item j adds to each item's score (x_uj · W[j, i])."""
        x = self.require_history().dense_rows(torch.tensor([user]), self.device, binary=True)
        return self.neighbours.dense_rows(items, self.device) * x

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"source": self.source.cpu(), "target": self.target.cpu(), "weight": self.weight.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.source = state["source"].to(self.device)
        self.target = state["target"].to(self.device)
        self.weight = state["weight"].to(self.device)
        self._build()
