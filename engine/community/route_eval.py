"""Honest, temporal evaluation of question routing, with popularity, tag and text baselines.

Protocol (:func:`evaluate_routing`): the router is fitted on everything before the cut
(:func:`engine.community.route.fit_router`); the test questions are those posted at or after
the cut with at least one answer by a known user; a question's relevant users are its
answerers (``accepted`` variant: its accepted answer's author, over the questions with one).
Every user active before the cut (any event) is ranked, from the profiles at the cut. An
answerer who was not active before the cut cannot be ranked: that question scores 0.

Metrics per question, averaged over questions (rank r of a relevant user counts from 1):

* Hit@k = 1 if a relevant user is in the top k;
* MRR = 1 / r of the best-ranked relevant user (0 if none is ranked);
* NDCG@10 = Σ_{relevant, r ≤ 10} 1/log2(r + 1) / Σ_{i=1..min(R, 10)} 1/log2(i + 1), R relevant users.

Baselines, from the same profiles (ties broken by MostPop, then the lower user id — the router's
own ties by user id): MostPop (answers before the cut), RecentPop (answers in the last 90 days),
TagPop (answers on questions carrying the test question's tags) and BM25 (the question's words
against each user's answer profile). Each is reported with the paired bootstrap of the router's
difference: questions resampled with replacement ``bootstrap`` times (seeded), the 2.5 and 97.5
percentiles of the mean difference.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.community.route import BATCH, ROUTERS, RouterModel, fit_router, router_scores
from engine.community.route_features import FEATURES, Profiles, QAPosts, profiles_at, question_features
from engine.errors import EngineError
from engine.progress import Progress, no_progress

METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")
BASELINES = ROUTERS[1:]  # mostpop, recentpop, tagpop, bm25


def relevant_ranks(primary: np.ndarray, relevant: list[np.ndarray], secondary: np.ndarray | None = None) -> list[np.ndarray]:
    """The rank (from 1) of each relevant column in each row of ``primary`` (questions × users),
    highest score first; ties go to ``secondary`` (higher first), then to the lower column.

    >>> [r.tolist() for r in relevant_ranks(np.array([[0.1, 0.9, 0.9]]), [np.array([2, 0])])]
    [[2, 3]]
    """
    n_q, n_u = primary.shape
    second = np.zeros(n_u) if secondary is None else secondary
    out = []
    for q in range(n_q):
        order = np.lexsort((np.arange(n_u), -second, -primary[q]))
        position = np.empty(n_u, dtype=np.int64)
        position[order] = np.arange(1, n_u + 1)
        out.append(position[relevant[q]])
    return out


def metrics_of_ranks(ranks: list[np.ndarray], n_relevant: np.ndarray) -> dict[str, np.ndarray]:
    """Per-question Hit@1/5/10, MRR and NDCG@10 (module docstring) from the ranks of the relevant
    users who could be ranked, and each question's count of relevant users.

    >>> m = metrics_of_ranks([np.array([3]), np.array([], dtype=int)], np.array([2, 1]))
    >>> [round(float(m[k][0]), 4) for k in ("hit@1", "hit@5", "mrr", "ndcg@10")]
    [0.0, 1.0, 0.3333, 0.3066]
    """
    best = np.array([r.min() if len(r) else np.inf for r in ranks])
    out = {f"hit@{k}": (best <= k).astype(float) for k in (1, 5, 10)}
    out["mrr"] = np.where(np.isfinite(best), 1.0 / best, 0.0)
    ideal = np.array([sum(1.0 / math.log2(i + 2) for i in range(min(int(n), 10))) for n in n_relevant])
    dcg = np.array([float(np.sum(1.0 / np.log2(r[r <= 10] + 1.0))) for r in ranks])
    out["ndcg@10"] = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)
    return out


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, samples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a − b`` and its 95 % percentile interval over ``samples`` resamples of the rows."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diff) == 0:
        return 0.0, 0.0, 0.0
    picks = np.random.default_rng(seed).integers(0, len(diff), size=(samples, len(diff)))
    means = diff[picks].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass(frozen=True)
class RoutingEvaluation:
    """Mean metrics of the router and each baseline, the router's paired differences
    (mean, low, high) against each, and the same on the accepted-answerer-only questions."""

    cut: dt.datetime
    questions: int
    candidates: int
    router: dict[str, float]
    baselines: dict[str, dict[str, float]]
    differences: dict[str, dict[str, tuple[float, float, float]]]
    accepted: dict  # {"questions", "router", "baselines", "differences"}
    model: RouterModel
    unreachable: int  # test questions none of whose answerers was active before the cut

    def as_dict(self) -> dict:
        return {"cut": self.cut.isoformat(), "questions": self.questions, "candidates": self.candidates,
                "router": self.router, "baselines": self.baselines,
                "differences": {b: {m: list(v) for m, v in d.items()} for b, d in self.differences.items()},
                "accepted": self.accepted, "unreachable": self.unreachable,
                "weights": dict(zip(self.model.features, self.model.weights.round(6).tolist(), strict=True)),
                "trained": self.model.trained}


def _score_tables(model: RouterModel, profiles: Profiles, test: pl.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Per router (:data:`~engine.community.route.ROUTERS`): (questions × users primary scores,
    tie-breaking secondary or None), the questions' features built in batches."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ROUTERS}
    seconds: dict[str, np.ndarray | None] = {}
    for start in range(0, test.height, BATCH):
        chunk = test.slice(start, BATCH)
        x = question_features(profiles, chunk["tags"].to_list(), chunk["tokens"].to_list(),
                              chunk["user_id"].fill_null(-1).to_numpy())
        for name in ROUTERS:
            primary, seconds[name] = router_scores(name, model, profiles, x)
            parts[name].append(primary)
    return {name: (np.concatenate(p), seconds[name]) for name, p in parts.items()}


def _summaries(tables: dict, relevant: list[np.ndarray], n_relevant: np.ndarray, *, samples: int, seed: int) -> dict:
    per = {name: metrics_of_ranks(relevant_ranks(p, relevant, s), n_relevant) for name, (p, s) in tables.items()}
    mean = {name: {m: round(float(v.mean()), 4) if len(v) else 0.0 for m, v in values.items()}
            for name, values in per.items()}
    diffs = {b: {m: tuple(round(x, 4) for x in paired_bootstrap(per["router"][m], per[b][m], samples=samples, seed=seed))
                 for m in METRICS} for b in BASELINES}
    return {"router": mean["router"], "baselines": {b: mean[b] for b in BASELINES}, "differences": diffs}


def cut_at(posts: QAPosts, ratio: float) -> dt.datetime:
    """The moment ``ratio`` of the way from the first post to the last."""
    first, last = posts.span
    return first + (last - first) * ratio


def evaluate_routing(posts: QAPosts, cut: dt.datetime, *, windows: int = 6, negatives: int = 200,
                     loss: str = "pairwise", l2: float = 1.0, features: tuple[str, ...] = FEATURES, seed: int = 0,
                     bootstrap: int = 2000, progress: Progress = no_progress) -> RoutingEvaluation:
    """The protocol of the module docstring."""
    first, last = posts.span
    if not first < cut <= last:
        raise EngineError(f"the cut {cut:%Y-%m-%d %H:%M} is outside the posts ({first:%Y-%m-%d} .. {last:%Y-%m-%d})")
    model = fit_router(posts, cut, windows=windows, negatives=negatives, loss=loss, l2=l2, features=features, seed=seed,
                       progress=lambda f, m="", _x=None: progress(0.6 * (f or 0.0), m))
    progress(0.6, "profiling users at the cut")
    profiles = profiles_at(posts, cut)
    answers = posts.answers.filter(pl.col("user_id").is_not_null())
    test = (posts.questions.filter(pl.col("created_at") >= cut)
            .join(answers.group_by("question_id").agg(pl.col("user_id").unique().sort().alias("answerers")),
                  on="question_id", how="inner", maintain_order="left"))
    if test.height == 0:
        raise EngineError("no answered question was posted after the cut: nothing to test on")
    relevant = [profiles.index_of(np.asarray(ids, dtype=np.int64)) for ids in test["answerers"].to_list()]
    n_relevant = test["answerers"].list.len().to_numpy()
    relevant = [r[r >= 0] for r in relevant]
    progress(0.7, f"ranking {len(profiles.users):,} users for {test.height:,} questions")
    tables = _score_tables(model, profiles, test)
    summary = _summaries(tables, relevant, n_relevant, samples=bootstrap, seed=seed)

    acc = answers.filter(pl.col("accepted")).group_by("question_id").agg(pl.col("user_id").first())
    with_acc = test.with_row_index("_q").join(acc, on="question_id", how="inner", suffix="_acc", maintain_order="left")
    accepted: dict = {"questions": with_acc.height}
    if with_acc.height:
        rows = with_acc["_q"].to_numpy()
        target = profiles.index_of(with_acc["user_id_acc"].to_numpy())
        acc_relevant = [np.asarray([t]) if t >= 0 else np.asarray([], dtype=np.int64) for t in target]
        acc_tables = {name: (p[rows], s) for name, (p, s) in tables.items()}
        accepted |= _summaries(acc_tables, acc_relevant, np.ones(len(rows)), samples=bootstrap, seed=seed)
    progress(1.0, "evaluated")
    return RoutingEvaluation(
        cut=cut, questions=test.height, candidates=len(profiles.users), router=summary["router"],
        baselines=summary["baselines"], differences=summary["differences"], accepted=accepted, model=model,
        unreachable=int(sum(len(r) == 0 for r in relevant)),
    )
