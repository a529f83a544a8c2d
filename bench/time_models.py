"""What bench/recommend.py measures besides the registered models, for issue 13's question of time:
a sweep of timepop's two parameters on validation slices carved from the training side (never
the test side), and a second time-aware approach, a time-decayed item-kNN, that only the bench
scores."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.recommend.algorithms import make_model
from engine.recommend.base import FitReport
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.splits import validation_split
from engine.recommend.timepop import DAY_US

from bench.recommend_inputs import BenchModel

WIDTHS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
FLOORS = (0.01, 0.03, 0.1, 0.3, 1.0)
VALIDATION_SEEDS = (43, 44, 45, 46, 47)
VALIDATION_RATIO = 0.2
TIMEKNN_MAX_PAIRS = 20_000_000  # co-activity pairs (Σ over users of n_u²) the time-decayed kNN builds at most


def ndcg10(model, setup: EvalSetup) -> float:
    return evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"]


@dataclass(frozen=True)
class Sweep:
    """Mean NDCG@10 over MostPop's on the validation slices, per (width_days, floor), and the best."""

    ratios: dict[tuple[float, float], float]

    @property
    def best(self) -> tuple[float, float]:
        return max(self.ratios, key=lambda key: self.ratios[key])


def sweep_timepop(train: UserItemMatrix) -> Sweep:
    """For each of ``VALIDATION_SEEDS``, carve ``VALIDATION_RATIO`` of each user's training pairs off
    as validation, fit MostPop and every (width, floor) of timepop on the rest, and average each
    setting's NDCG@10 over MostPop's on the same slice."""
    ratios: dict[tuple[float, float], list[float]] = {key: [] for key in itertools.product(WIDTHS, FLOORS)}
    for seed in VALIDATION_SEEDS:
        carved = validation_split(train, VALIDATION_RATIO, seed)
        setup = EvalSetup(carved.train, carved.test, carved.test_users())
        pop = make_model("pop", {}, "cpu")
        pop.fit(carved.train)
        reference = ndcg10(pop, setup)
        for width, floor in ratios:
            model = make_model("timepop", {"width_days": width, "floor": floor}, "cpu")
            model.fit(carved.train)
            ratios[width, floor].append(ndcg10(model, setup) / reference)
    return Sweep({key: sum(values) / len(values) for key, values in ratios.items()})


def print_sweep(sweep: Sweep) -> None:
    print(f"   timepop on validation ({len(VALIDATION_SEEDS)} slices of {VALIDATION_RATIO:.0%} carved from train), "
          "NDCG@10 ÷ MostPop's:")
    print("   width d \\ floor" + "".join(f"{floor:>8g}" for floor in FLOORS))
    for width in WIDTHS:
        print(f"   {width:>16g}" + "".join(f"{sweep.ratios[width, floor]:>8.3f}" for floor in FLOORS))


class TimeKNN(BenchModel):
    """Item-kNN whose co-occurrences are weighted by how close in time the two were touched:
    sim(j, i) = Σ_u exp(−|t_uj − t_ui| / w) / √(n_j n_i) (zero diagonal), score(u) = x_u · sim, plus
    popularity / (1 + max popularity) so items without a neighbour rank by popularity."""

    algo = "timeknn"

    def __init__(self, width_days: float) -> None:
        self.width_days, self.device, self.params, self.history = width_days, torch.device("cpu"), None, None

    def fit(self, train, **kwargs):
        rows, counts = train.rows(), train.row_counts()
        pairs = int((counts * counts).sum())
        if pairs > TIMEKNN_MAX_PAIRS:
            raise EngineError(f"{pairs:,} co-activity pairs (Σ n_u²; budget {TIMEKNN_MAX_PAIRS:,})")
        self.history = train
        first = torch.repeat_interleave(torch.arange(train.nnz), counts[rows])  # each pair, once per partner
        starts = train.indptr[rows[first]]
        offset = torch.arange(len(first)) - torch.repeat_interleave(torch.cumsum(counts[rows], 0) - counts[rows],
                                                                   counts[rows])
        second = starts + offset
        gap_days = (train.times[first] - train.times[second]).abs().to(torch.float64) / DAY_US
        sim = torch.zeros(train.n_items, train.n_items, dtype=torch.float64)
        sim.index_put_((train.indices[first], train.indices[second]), torch.exp(-gap_days / self.width_days),
                       accumulate=True)
        sim.fill_diagonal_(0)
        popularity = train.item_counts().to(torch.float64)
        norm = popularity.clamp(min=1).sqrt()
        self.sim = (sim / norm[:, None] / norm[None, :]).to(torch.float32)
        self.tie = (popularity / (1.0 + float(popularity.max()))).to(torch.float32)
        return FitReport()

    def score(self, users):
        return self.require_history().dense_rows(users, binary=True) @ self.sim + self.tie
