"""Honest, temporal evaluation of question routing, with popularity, tag and text baselines.

Protocol (:func:`evaluate_routing`): the router's weights are fitted on everything before the
cut (:func:`engine.community.route.fit_router`); the test questions are those posted at or after
the cut with at least one answer by a known user; a question's relevant users are its
answerers (``accepted`` variant: its accepted answer's author, over the questions with one).

*Featured when* (``profiles``, :data:`PROFILES`): by default each test question is featured
from everything strictly before its own posting — answers given after the cut to earlier test
questions included, its own answers and anything later never — as a deployed router sees a new
question (the standard temporal protocol of question-routing work). ``"day"`` profiles at the
start of the question's day (never before the cut): one profile build a day instead of one a
question, for dumps with many test questions. ``"cut"`` freezes every profile at the cut for
the whole test period, the protocol first shipped. The ranker's weights never see the test
period in any of them.

*The hybrid feature* of every test question comes from one hybrid recommender fitted on the
answers strictly before the cut (:func:`engine.community.route_hybrid.fit_answerer_hybrid`):
it sees nothing at or after the cut, so it is leak-free for every test question under every
``profiles``, and per-question refits are not needed (they would only add the answers given
between the cut and the question — history the other features see under ``"question"``).

*Whom* (``candidates``, :data:`CANDIDATES`): every user active (any event) before the cut is
ranked, by default; an answerer first seen after the cut cannot be ranked, and a question none
of whose answerers was active before the cut scores 0 (the *ceiling* of Hit@k is the share of
the others). ``"question"`` ranks everyone active before the question's moment, as the deployed
``route`` does, newcomers since the cut included.

Metrics per question, averaged over questions (rank r of a relevant user counts from 1):

* Hit@k = 1 if a relevant user is in the top k;
* MRR = 1 / r of the best-ranked relevant user (0 if none is ranked);
* NDCG@10 = Σ_{relevant, r ≤ 10} 1/log2(r + 1) / Σ_{i=1..min(R, 10)} 1/log2(i + 1), R relevant users.

Baselines, from the same profiles as the router at each moment (ties broken by MostPop, then
the lower user id — the router's own ties by user id): MostPop (answers before the moment),
RecentPop (answers in the 90 days before it), TagPop (answers on questions carrying the test question's tags) and BM25 (the question's words
against each user's answer profile). Each is reported with the paired bootstrap of the router's
difference: questions resampled with replacement ``bootstrap`` times (seeded), the 2.5 and 97.5
percentiles of the mean difference.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.community.route import (
    BATCH, ROUTERS, SHIPPED_FEATURES, RouterModel, fit_router, hybrid_scores, router_scores,
)
from engine.community.route_availability import availability_features
from engine.community.route_features import (
    QAPosts, active_users, positions, profiles_at, question_features,
)
from engine.community.route_hybrid import AnswererHybrid, fit_answerer_hybrid
from engine.errors import EngineError
from engine.progress import Progress, no_progress

METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")
BASELINES = ROUTERS[1:]  # mostpop, recentpop, tagpop, bm25
#: When a test question is featured from: everything strictly before its own posting (the default,
#: as a deployed router sees it), or everything before the cut, frozen for the whole test period.
PROFILES = ("question", "day", "cut")
#: Whom a test question ranks: every user active before the cut (the issue's protocol), or every
#: user active before the question's moment (newcomers since the cut included).
CANDIDATES = ("cut", "question")


def relevant_ranks(primary: np.ndarray, relevant: list[np.ndarray], secondary: np.ndarray | None = None) -> list[np.ndarray]:
    """The rank (from 1) of each relevant column in each row of ``primary`` (questions × users),
    highest score first; ties go to ``secondary`` (one per column, or a row per question; higher
    first), then to the lower column.

    >>> [r.tolist() for r in relevant_ranks(np.array([[0.1, 0.9, 0.9]]), [np.array([2, 0])])]
    [[2, 3]]
    """
    n_q, n_u = primary.shape
    second = np.broadcast_to(np.zeros(n_u) if secondary is None else secondary, primary.shape)
    out = []
    for q in range(n_q):
        order = np.lexsort((np.arange(n_u), -second[q], -primary[q]))
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
    profiles: str  # when the test questions were featured from (PROFILES)
    candidate_set: str  # whom they ranked (CANDIDATES)
    questions: int
    candidates: int  # users ranked (for candidate_set "question": every user active before the last test question)
    router: dict[str, float]
    baselines: dict[str, dict[str, float]]
    differences: dict[str, dict[str, tuple[float, float, float]]]
    accepted: dict  # {"questions", "router", "baselines", "differences"}
    model: RouterModel
    unreachable: int  # test questions none of whose answerers could be ranked
    #: the router's metrics on each test question (METRICS → one value per question, in posting
    #: order), for a paired bootstrap between two routers on the same test questions
    per_question: dict[str, np.ndarray] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"cut": self.cut.isoformat(), "profiles": self.profiles, "candidate_set": self.candidate_set,
                "questions": self.questions, "candidates": self.candidates,
                "router": self.router, "baselines": self.baselines,
                "differences": {b: {m: list(v) for m, v in d.items()} for b, d in self.differences.items()},
                "accepted": self.accepted, "unreachable": self.unreachable,
                "weights": dict(zip(self.model.features, self.model.weights.round(6).tolist(), strict=True)),
                "trained": self.model.trained}


def featuring_moments(test: pl.DataFrame, cut: dt.datetime, profiles: str) -> list[tuple[dt.datetime, np.ndarray]]:
    """The moments the test questions are featured at, each with its questions (rows of ``test``),
    in time order (:data:`PROFILES`): ``"question"`` — each question's own posting (questions
    posted at the same instant share it); ``"day"`` — the start of the question's day (UTC), or
    the cut for the cut's own day; ``"cut"`` — the cut, for every question."""
    if profiles not in PROFILES:
        raise EngineError(f"unknown profiles {profiles!r} (one of {', '.join(PROFILES)})")
    if profiles == "cut":
        return [(cut, np.arange(test.height))]
    stamp = pl.col("created_at")
    moment = stamp if profiles == "question" else pl.max_horizontal(stamp.dt.truncate("1d"), pl.lit(cut))
    moments = (test.with_row_index("_q").group_by(moment.alias("_at"), maintain_order=True).agg("_q").sort("_at"))
    return [(at, np.asarray(rows, dtype=np.int64)) for at, rows in moments.iter_rows()]


@dataclass(frozen=True)
class ScoreTables:
    """Every router's scores of the test questions (rows) for the ``candidates`` (user ids,
    ascending: the columns). ``scores[name]`` is (primary, tie-breaking secondary), both
    questions × candidates; ``seen`` says which candidates were active before each question's
    moment — the others cannot be ranked (primary −inf) nor count as relevant."""

    candidates: np.ndarray
    seen: np.ndarray
    scores: dict[str, tuple[np.ndarray, np.ndarray]]

    def relevant(self, user_ids: list[list[int]]) -> list[np.ndarray]:
        """Columns of each question's relevant users that could be ranked for it."""
        out = []
        for q, ids in enumerate(user_ids):
            col = positions(self.candidates, np.asarray(ids, dtype=np.int64))
            col = col[col >= 0]
            out.append(col[self.seen[q, col]])
        return out

    def rows(self, rows: np.ndarray) -> ScoreTables:
        """The tables of these questions only."""
        return ScoreTables(self.candidates, self.seen[rows],
                           {name: (p[rows], s[rows]) for name, (p, s) in self.scores.items()})


def score_tables(model: RouterModel, posts: QAPosts, test: pl.DataFrame, candidates: np.ndarray,
                 moments: list[tuple[dt.datetime, np.ndarray]], hybrid: AnswererHybrid | None = None) -> ScoreTables:
    """:class:`ScoreTables` of every router (:data:`~engine.community.route.ROUTERS`) for the
    ``test`` questions, each featured from the profiles of everything strictly before its
    moment (:func:`featuring_moments`) and the ``hybrid`` fitted before the cut (``None``: the
    hybrid column 0), :data:`BATCH` questions at a time. A secondary is 0 where the router
    breaks its ties by user id alone."""
    shape = (test.height, len(candidates))
    seen = np.zeros(shape, dtype=bool)
    scores = {name: (np.full(shape, -np.inf), np.zeros(shape)) for name in ROUTERS}
    for at, rows in moments:
        profiles = profiles_at(posts, at)
        columns = profiles.index_of(candidates)
        known = np.flatnonzero(columns >= 0)
        seen[np.ix_(rows, known)] = True
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            picked = test[chunk]
            tags, tokens = picked["tags"].to_list(), picked["tokens"].to_list()
            x = question_features(profiles, tags, tokens, picked["user_id"].fill_null(-1).to_numpy(),
                                  hybrid_scores(hybrid, profiles, tags, tokens),
                                  availability_features(posts, profiles.users, picked["created_at"].to_list())
                                  if model.uses_availability else None)
            for name, (primary, secondary) in scores.items():
                score, tie = router_scores(name, model, profiles, x)
                primary[np.ix_(chunk, known)] = score[:, columns[known]]
                if tie is not None:
                    secondary[np.ix_(chunk, known)] = tie[columns[known]]
    return ScoreTables(candidates, seen, scores)


def _summaries(tables: ScoreTables, relevant: list[np.ndarray], n_relevant: np.ndarray, *, samples: int,
               seed: int) -> dict:
    per = {name: metrics_of_ranks(relevant_ranks(p, relevant, s), n_relevant) for name, (p, s) in tables.scores.items()}
    mean = {name: {m: round(float(v.mean()), 4) if len(v) else 0.0 for m, v in values.items()}
            for name, values in per.items()}
    diffs = {b: {m: tuple(round(x, 4) for x in paired_bootstrap(per["router"][m], per[b][m], samples=samples, seed=seed))
                 for m in METRICS} for b in BASELINES}
    return {"router": mean["router"], "baselines": {b: mean[b] for b in BASELINES}, "differences": diffs,
            "per_question": per["router"]}


def cut_at(posts: QAPosts, ratio: float) -> dt.datetime:
    """The moment ``ratio`` of the way from the first post to the last."""
    first, last = posts.span
    return first + (last - first) * ratio


def evaluate_routing(posts: QAPosts, cut: dt.datetime, *, windows: int = 6, negatives: int = 200,
                     loss: str = "pairwise", l2: float = 1.0, features: tuple[str, ...] = SHIPPED_FEATURES,
                     featured_at: str = "window", profiles: str = "question", candidates: str = "cut", seed: int = 0,
                     bootstrap: int = 2000, progress: Progress = no_progress) -> RoutingEvaluation:
    """The protocol of the module docstring: the ranker fitted before ``cut`` (``windows``,
    ``negatives``, ``loss``, ``l2``, ``features``, ``featured_at``: see
    :func:`~engine.community.route.fit_router`), each test question featured as ``profiles``
    says (:data:`PROFILES`), ranking the users ``candidates`` says (:data:`CANDIDATES`)."""
    first, last = posts.span
    if not first < cut <= last:
        raise EngineError(f"the cut {cut:%Y-%m-%d %H:%M} is outside the posts ({first:%Y-%m-%d} .. {last:%Y-%m-%d})")
    if candidates not in CANDIDATES:
        raise EngineError(f"unknown candidates {candidates!r} (one of {', '.join(CANDIDATES)})")
    answers = posts.answers.filter(pl.col("user_id").is_not_null())
    test = (posts.questions.filter(pl.col("created_at") >= cut)
            .join(answers.group_by("question_id").agg(pl.col("user_id").unique().sort().alias("answerers")),
                  on="question_id", how="inner", maintain_order="left"))
    if test.height == 0:
        raise EngineError("no answered question was posted after the cut: nothing to test on")
    moments = featuring_moments(test, cut, profiles)
    model = fit_router(posts, cut, windows=windows, negatives=negatives, loss=loss, l2=l2, features=features,
                       featured_at=featured_at, seed=seed,
                       progress=lambda f, m="", _x=None: progress(0.6 * (f or 0.0), m))
    pool = active_users(posts, cut if candidates == "cut" else moments[-1][0])
    progress(0.6, f"ranking {len(pool):,} users for {test.height:,} questions, profiled at {len(moments):,} moment(s)")
    hybrid = fit_answerer_hybrid(posts, cut) if "hybrid" in features else None
    tables = score_tables(model, posts, test, pool, moments, hybrid)
    relevant = tables.relevant(test["answerers"].to_list())
    summary = _summaries(tables, relevant, test["answerers"].list.len().to_numpy(), samples=bootstrap, seed=seed)

    acc = answers.filter(pl.col("accepted")).group_by("question_id").agg(pl.col("user_id").first())
    with_acc = test.with_row_index("_q").join(acc, on="question_id", how="inner", suffix="_acc", maintain_order="left")
    accepted: dict = {"questions": with_acc.height}
    if with_acc.height:
        acc_tables = tables.rows(with_acc["_q"].to_numpy())
        acc_relevant = acc_tables.relevant([[u] for u in with_acc["user_id_acc"].to_list()])
        accepted |= _summaries(acc_tables, acc_relevant, np.ones(with_acc.height), samples=bootstrap, seed=seed)
        del accepted["per_question"]
    progress(1.0, "evaluated")
    return RoutingEvaluation(
        cut=cut, profiles=profiles, candidate_set=candidates, questions=test.height, candidates=len(pool),
        router=summary["router"], baselines=summary["baselines"], differences=summary["differences"],
        accepted=accepted, model=model, unreachable=int(sum(len(r) == 0 for r in relevant)),
        per_question=summary["per_question"],
    )
