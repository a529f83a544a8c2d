"""The popularity baseline: every user gets the items the most users interacted with.

score(u, i) = |{v : (v, i) ∈ train}| — the same ranking for everyone (minus what each user
already has). Every personalised model must beat it; it is also the cold-start fallback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.progress import Progress, no_progress
from engine.recommend.base import FitReport, Params, Recommender
from engine.recommend.matrix import UserItemMatrix


@dataclass(frozen=True)
class PopularityParams(Params):
    """Popularity has no hyper-parameters."""


class Popularity(Recommender):
    algo = "pop"
    Params = PopularityParams

    def fit(self, train: UserItemMatrix, *, progress: Progress = no_progress,
            validation: UserItemMatrix | None = None, checkpoint_dir: Path | None = None,
            resume: bool = False) -> FitReport:
        began = time.perf_counter()
        self.history = train
        self.counts = train.item_counts().to(torch.float32).to(self.device)
        progress(1.0, "counted item popularity")
        return FitReport(seconds=time.perf_counter() - began)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.counts.unsqueeze(0).expand(len(users), -1).clone()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.counts = state["counts"].to(self.device)
