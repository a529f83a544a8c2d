"""Fold new events into a trained model (warm start) and report how far it moved (drift).

**Update.** The child model lives in the new data's index space; users and items are matched
to the parent's by ID. The new data is split the way the parent's was (same method, ratio and
seed; a temporal split by ratio gets a new cut). Pairs the parent trained on are never test
pairs of the child — they move to its training side — so the child is only scored on
interactions neither model has seen. Iterative models (iALS, BPR-MF, NCF) start from the
parent's weights (known users and items copied by ID, new ones freshly initialised) and run
``epochs`` more epochs (default the parent's ÷ the model's ``update_divisor``: a third for iALS,
all of them for BPR and NCF, whose warm starts save no epochs); closed-form models
(popularity, item-kNN, EASE) are simply refitted, which is exact and cheap.

**Drift** against the parent, over users and items both models know:

* ``rank_correlation`` — mean Spearman correlation of the two models' item scores per user
  (tied scores share their mean rank), over a seeded sample of up to ``DRIFT_USERS`` users;
* ``top10_overlap`` — mean Jaccard overlap of the two top-10 lists (training items excluded);
* ``metrics`` — NDCG/Recall/HR@10 of parent and child on the child's test users the parent
  knows (the parent cannot rank items it never saw: they come last), and the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import torch

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.recommend.algorithms import make_model
from engine.recommend.artifact import ModelBundle
from engine.recommend.base import FitReport, Recommender, mask_scores, top_k
from engine.device import generator
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.interactions import Interactions
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.splits import Split, make_split
from engine.recommend.training import EpochModel

DRIFT_USERS = 2000
DRIFT_K = 10


@dataclass(frozen=True)
class UpdateResult:
    bundle: ModelBundle
    fit: FitReport
    drift: dict


def align(parent_ids: pl.Series, child_ids: pl.Series) -> torch.Tensor:
    """For each child index, the parent index of the same ID, or -1."""
    parent = pl.DataFrame({"id": parent_ids, "p": pl.int_range(len(parent_ids), dtype=pl.Int64, eager=True)})
    child = pl.DataFrame({"id": child_ids.cast(parent_ids.dtype, strict=False)})
    joined = child.join(parent, on="id", how="left", maintain_order="left")
    return torch.from_numpy(joined["p"].fill_null(-1).to_numpy().copy())


def child_split(parent: ModelBundle, data: Interactions, users: torch.Tensor, items: torch.Tensor) -> Split:
    """Split ``data`` as the parent was split, then move pairs the parent trained on to train."""
    p = parent.split.params
    cut = dt.datetime.fromisoformat(p["cut"]) if p["method"] == "temporal" and "test_ratio" not in p else None
    split = make_split(data.matrix, data.pair_ts, p["method"], test_ratio=p.get("test_ratio", 0.2),
                       seed=p.get("seed", 42), cut=cut)
    child_of_user = torch.full((parent.train.n_users,), -1, dtype=torch.int64)
    child_of_user[users[users >= 0]] = torch.nonzero(users >= 0).flatten()
    child_of_item = torch.full((parent.train.n_items,), -1, dtype=torch.int64)
    child_of_item[items[items >= 0]] = torch.nonzero(items >= 0).flatten()
    cu = child_of_user[parent.train.rows()]
    ci = child_of_item[parent.train.indices]
    known = (cu >= 0) & (ci >= 0)
    cu, ci = cu[known], ci[known]
    seen = split.test.contains(cu, ci)
    if not bool(seen.any()):
        return split
    trained = torch.zeros(split.test.nnz, dtype=torch.bool)
    trained[torch.searchsorted(split.test.keys(), cu[seen] * split.test.n_items + ci[seen])] = True
    return Split(split.train.union(split.test.select(trained)), split.test.select(~trained),
                 {**p, "moved_to_train": int(trained.sum())})


def _warm_start(parent: Recommender, users: torch.Tensor, items: torch.Tensor) -> Callable[[EpochModel], None]:
    """A hook that copies the parent's weights into a freshly allocated child, matched by ID."""
    parent_state = parent.state_dict()

    def start(child: EpochModel) -> None:
        state = child.state_dict()
        for name, tensor in state.items():
            old = parent_state[name]
            if name in child.user_tensors or name in child.item_tensors:
                index = users if name in child.user_tensors else items
                known = index >= 0
                tensor[known] = old[index[known]].to(tensor.dtype)
            elif old.shape == tensor.shape:
                tensor.copy_(old)
        child.load_state_dict(state)

    return start


def warm_start_update(
    parent: ModelBundle,
    data: Interactions,
    *,
    epochs: int | None = None,
    device: str | torch.device = "auto",
    progress: Progress = no_progress,
) -> UpdateResult:
    """Train the child of ``parent`` on ``data`` (see the module docstring)."""
    if tuple(parent.kinds) != tuple(data.kinds):
        raise EngineError(f"the update must use the parent's interaction kinds ({', '.join(parent.kinds)})")
    users = align(parent.user_ids, data.user_ids)
    items = align(parent.item_ids, data.item_ids)
    if not bool((users >= 0).any()) or not bool((items >= 0).any()):
        raise EngineError("the new data shares no users or no items with the parent model: train a new model instead")
    split = child_split(parent, data, users, items)
    params = parent.model.params.as_dict()
    if isinstance(parent.model, EpochModel):
        params["epochs"] = epochs if epochs is not None else max(1, int(params["epochs"]) // parent.model.update_divisor)
        params["patience"] = 0
    child = make_model(parent.model.algo, params, device)
    fit_progress = scaled(progress, 0.0, 0.85)
    if isinstance(child, EpochModel):  # the parent's algorithm: iterative exactly when the parent is
        report = child.fit(split.train, progress=fit_progress,
                           warm_start=_warm_start(parent.model, users, items))
    else:
        report = child.fit(split.train, progress=fit_progress)
    bundle = ModelBundle(child, split, data.user_ids, data.item_ids, data.item_creator, data.creator_ids,
                         data.kinds, data.weights, report.as_dict())
    progress(0.9, "drift against the parent")
    drift = drift_report(parent, bundle, users, items)
    progress(1.0, "updated")
    return UpdateResult(bundle, report, drift)


class _ParentInChildSpace(Recommender):
    """The parent model scoring in the child's index space (items it never saw get −inf)."""

    algo = "parent"

    def __init__(self, parent: Recommender, users: torch.Tensor, items: torch.Tensor,
                 history: UserItemMatrix | None) -> None:
        self.parent, self.users, self.items = parent, users, items
        self.device = parent.device
        self.history = history
        self.params = parent.params

    def fit(self, train: UserItemMatrix, **kwargs: Any) -> FitReport:  # never trained: it wraps a fitted parent
        raise EngineError("the parent view is read-only")

    def score(self, users: torch.Tensor) -> torch.Tensor:
        parent_scores = self.parent.score(self.users[users.cpu()])
        out = torch.full((len(users), len(self.items)), float("-inf"), device=parent_scores.device)
        known = torch.nonzero(self.items >= 0).flatten()
        out[:, known.to(out.device)] = parent_scores[:, self.items[known].to(out.device)]
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.parent.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.parent.load_state_dict(state)


def _mid_ranks(x: torch.Tensor) -> torch.Tensor:
    """Row-wise ranks 0 … n−1 of ``x``; tied values share the mean of the ranks they span, so the
    ranks do not depend on how a sort orders ties (fractional ranking)."""
    x = x.contiguous()
    ordered = torch.sort(x, dim=1).values
    below = torch.searchsorted(ordered, x, right=False)
    at_or_below = torch.searchsorted(ordered, x, right=True)
    return (below + at_or_below - 1).to(torch.float64) / 2


def _spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise Spearman correlation of two ``B × n`` score matrices: the Pearson correlation
    of their mid-ranks (0 for a row whose scores are all equal)."""
    ra, rb = _mid_ranks(a), _mid_ranks(b)
    ra = ra - ra.mean(1, keepdim=True)
    rb = rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1)).clamp(min=1e-12)


def drift_report(parent: ModelBundle, child: ModelBundle, users: torch.Tensor, items: torch.Tensor) -> dict:
    """Rank correlation, top-10 overlap and metric change of ``child`` against ``parent``."""
    shared_users = torch.nonzero(users >= 0).flatten()
    shared_items = torch.nonzero(items >= 0).flatten()
    view = _ParentInChildSpace(parent.model, users, items, child.train)
    sample = shared_users[torch.randperm(len(shared_users), generator=generator(0))[:DRIFT_USERS]].sort().values
    corr, overlap = [], []
    for start in range(0, len(sample), 256):
        chunk = sample[start:start + 256]
        p_scores = view.score(chunk)[:, shared_items.to(view.device)].cpu()
        c_scores = child.model.score(chunk)[:, shared_items.to(child.model.device)].cpu()
        corr.append(_spearman(p_scores, c_scores))
        k = min(DRIFT_K, len(shared_items))
        p_top = top_k(mask_scores(view.score(chunk), chunk, child.train, None), k)[1].cpu()
        c_top = top_k(mask_scores(child.model.score(chunk), chunk, child.train, None), k)[1].cpu()
        same = (p_top[:, :, None] == c_top[:, None, :]).any(2).sum(1).to(torch.float64)
        overlap.append(same / (2 * k - same))
    test_users = child.split.test_users()
    shared_test = test_users[users[test_users] >= 0]
    report: dict[str, Any] = {
        "parent_users": parent.train.n_users, "parent_items": parent.train.n_items,
        "users": child.train.n_users, "items": child.train.n_items,
        "new_users": int((users < 0).sum()), "new_items": int((items < 0).sum()),
        "train_pairs": child.train.nnz, "parent_train_pairs": parent.train.nnz,
        "rank_correlation": float(torch.cat(corr).mean()) if corr else None,
        f"top{DRIFT_K}_overlap": float(torch.cat(overlap).mean()) if overlap else None,
        "compared_users": len(shared_test),
    }
    if len(shared_test):
        setup = EvalSetup(child.train, child.test, shared_test)
        keys = (f"ndcg@{DRIFT_K}", f"recall@{DRIFT_K}", f"hr@{DRIFT_K}")
        before = evaluate(view, setup, [DRIFT_K], beyond_accuracy=False)
        after = evaluate(child.model, setup, [DRIFT_K], beyond_accuracy=False)
        report["metrics"] = {key: {"parent": before[key], "child": after[key], "change": after[key] - before[key]}
                             for key in keys}
    return report
