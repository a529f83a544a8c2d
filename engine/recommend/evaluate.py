"""Full-ranking evaluation: every item is ranked for every test user, training items excluded.

No sampled negatives (Krichene & Rendle 2020 show they change which model wins): for each
batch of test users the model scores the whole catalog, the user's training items are set to
−inf, the top ``max(ks)`` are taken, and every metric at every K is accumulated from that one
ranking. Accuracy metrics are in :mod:`engine.recommend.metrics`, list-level ones in
:mod:`engine.recommend.exposure`; each is the mean over test users (users with pairs in both
train and test) unless it is a catalog-level figure (coverage, creator Gini).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.recommend import exposure
from engine.recommend.base import Recommender, mask_scores, top_k
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.metrics import ACCURACY

#: Scores held at once while ranking: users per batch = this / n_items.
SCORE_BUDGET = 1 << 24


@dataclass(frozen=True)
class EvalSetup:
    """What evaluation needs besides the model: the pairs, who is evaluated, item facts, and
    ``blocked`` items never ranked (a cold-items split ranks only its new items)."""

    train: UserItemMatrix
    test: UserItemMatrix
    users: torch.Tensor
    item_creator: torch.Tensor | None = None
    n_creators: int = 0
    blocked: torch.Tensor | None = None


def check_ks(ks: Sequence[int], n_items: int) -> list[int]:
    """Sorted distinct cut-offs; refuses k ≤ 0 and k above the catalog size."""
    if not ks:
        raise EngineError("give at least one cut-off k")
    for k in ks:
        if k < 1:
            raise EngineError(f"k must be at least 1 (got {k})")
        if k > n_items:
            raise EngineError(f"k={k} exceeds the number of items ({n_items})")
    return sorted({int(k) for k in ks})


def evaluate(
    model: Recommender,
    setup: EvalSetup,
    ks: Sequence[int] = (10,),
    *,
    beyond_accuracy: bool = True,
    progress: Progress = no_progress,
) -> dict[str, float]:
    """Mean metrics over ``setup.users`` at each k in ``ks``: ``{"ndcg@10": …, …, "users": n}``."""
    ks = check_ks(ks, setup.train.n_items)
    users = setup.users
    if len(users) == 0:
        raise EngineError("no test users to evaluate (each needs pairs in both train and test)")
    device = model.device
    n_items, k_max = setup.train.n_items, max(ks)
    sums = {f"{name}@{k}": 0.0 for name in ACCURACY for k in ks}
    extra = _BeyondAccuracy(setup, ks, device) if beyond_accuracy else None
    batch = max(1, min(8192, SCORE_BUDGET // max(1, n_items)))
    n_relevant_all = setup.test.row_counts()
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        scores = mask_scores(model.score(chunk), chunk, setup.train, setup.blocked)
        top, lists = top_k(scores, k_max)
        valid = torch.isfinite(top)
        in_test = setup.test.contains(chunk[:, None].expand_as(lists).reshape(-1), lists.reshape(-1).cpu())
        hits = in_test.reshape(lists.shape).to(device) & valid
        n_relevant = n_relevant_all[chunk].to(device)
        for name, metric in ACCURACY.items():
            for k in ks:
                sums[f"{name}@{k}"] += float(metric(hits, n_relevant, k).sum())
        if extra is not None:
            extra.add(lists, valid)
        progress(min(1.0, (start + len(chunk)) / len(users)), f"evaluated {start + len(chunk):,}/{len(users):,} users")
    out = {key: value / len(users) for key, value in sums.items()}
    if extra is not None:
        out.update(extra.result(len(users)))
    out["users"] = len(users)
    return out


class _BeyondAccuracy:
    """Accumulates coverage, novelty, diversity, popularity bias and creator exposure."""

    def __init__(self, setup: EvalSetup, ks: list[int], device: torch.device) -> None:
        self.ks = ks
        self.n_items = setup.train.n_items
        self.n_users = setup.train.n_users
        self.popularity = setup.train.item_counts().to(device)
        self.percentiles = exposure.popularity_percentiles(self.popularity)
        self.items_users = exposure.item_users(setup.train)
        self.creator = setup.item_creator.to(device) if setup.item_creator is not None and setup.n_creators else None
        self.n_creators = setup.n_creators
        self.exposure = {k: torch.zeros(self.n_items, dtype=torch.int64, device=device) for k in ks}
        self.sums = {f"{name}@{k}": 0.0 for name in ("novelty", "popularity", "ild") for k in ks}
        self.ild_lists = dict.fromkeys(ks, 0)

    def add(self, lists: torch.Tensor, valid: torch.Tensor) -> None:
        diversity = exposure.intra_list_diversity_at(lists, valid, self.items_users, self.ks)
        for k in self.ks:
            top, ok = lists[:, :k], valid[:, :k]
            self.exposure[k] += exposure.item_exposure(top, ok, self.n_items)
            self.sums[f"novelty@{k}"] += float(exposure.novelty(top, ok, self.popularity, self.n_users).sum())
            self.sums[f"popularity@{k}"] += float(exposure.popularity_bias(top, ok, self.percentiles).sum())
            ild, has_pairs = diversity[k]
            self.sums[f"ild@{k}"] += float(ild.sum())
            self.ild_lists[k] += int(has_pairs.sum())

    def result(self, n_users: int) -> dict[str, float]:
        out = {}
        for k in self.ks:
            out[f"coverage@{k}"] = exposure.catalog_coverage(self.exposure[k])
            out[f"novelty@{k}"] = self.sums[f"novelty@{k}"] / n_users
            out[f"popularity@{k}"] = self.sums[f"popularity@{k}"] / n_users
            out[f"ild@{k}"] = self.sums[f"ild@{k}"] / max(1, self.ild_lists[k])
            if self.creator is not None:
                slots = exposure.creator_exposure(self.exposure[k], self.creator, self.n_creators)
                out[f"creator_gini@{k}"] = exposure.gini(slots)
        return out
