"""The question router: who will answer this question? A pairwise logistic ranker over the
features of :mod:`engine.community.route_features`.

Training (:func:`fit_router`) uses only what happened before a moment ``before``: the questions
posted before it are cut into ``windows`` consecutive windows of equal question counts; for
the questions of window w the features come from the profiles at the window's start
(``featured_at="window"``, the default: six profile builds, whatever the dump's size) or from
those strictly before each question's own posting (``"question"``: one build per training
question, the way the evaluation features its test questions) — either way a question never
sees its own answers. The positives are its answerers (answers posted before
``before``) and the negatives up to ``negatives`` other profiled users, drawn with a seeded
generator. The first window only builds history. The ``hybrid`` feature of a window's questions
comes from a hybrid recommender fitted on the answers strictly before the window's start
(:func:`engine.community.route_hybrid.fit_answerer_hybrid`, one fit per window, whichever
``featured_at``), so it too never sees a question's own answers; the router ships without it
(:data:`SHIPPED_FEATURES`: it did not help on every dump). The ranker (``loss="pairwise"``, the default)
minimises the RankNet loss (Burges et al. 2005) over (answerer p, non-answerer n) pairs of the
same question (``"listwise"``: a softmax over the question's users instead)::

    L(w) = mean_{(p, n)} ln(1 + exp(−w · (x̃_p − x̃_n))) + λ/2 · ‖w‖²,   x̃ = (x − μ) / σ

with μ, σ the features' mean and deviation over the training rows (a constant feature gets
weight 0), solved by L-BFGS (SciPy). A user's score is w · x̃; ties are broken by the lower user
index (ascending user id). Fitting quantumcomputing takes well under a second.

:func:`route` ranks every profiled user for one question and says why: the tags they share
with the question (their answers in each), their answers in the last 30 days, their acceptance
rate, and whether they are still active.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.optimize
import scipy.special

from engine.community.route_availability import AVAILABILITY, availability_features
from engine.community.route_features import FEATURES, Profiles, QAPosts, profiles_at, question_features
from engine.community.route_hybrid import AnswererHybrid, fit_answerer_hybrid
from engine.errors import EngineError
from engine.progress import Progress, no_progress

ACTIVE_DAYS = 90
#: The features the router ships with: every one but ``hybrid`` and the availability ones
#: (:mod:`engine.community.route_availability`), each a named variant. The hybrid recommender's
#: score (:data:`WITH_HYBRID`) lifted MRR by +0.006 on quantumcomputing (interval [−0.003, +0.018])
#: but lowered it by −0.017 on bicycles.meta ([−0.043, −0.000]); availability
#: (:data:`WITH_AVAILABILITY`) lifted it by +0.054 on bicycles.meta ([+0.001, +0.110]) and moved it
#: by −0.007 on quantumcomputing ([−0.030, +0.015]), with Hit@10 −0.02 on bicycles.meta.
SHIPPED_FEATURES = tuple(f for f in FEATURES if f != "hybrid" and f not in AVAILABILITY)
WITH_HYBRID = (*SHIPPED_FEATURES, "hybrid")
WITH_AVAILABILITY = (*SHIPPED_FEATURES, *AVAILABILITY)
BATCH = 256  # questions whose features are built at once


@dataclass(frozen=True)
class RouterModel:
    """A fitted ranker: ``score = ((x − mean) / scale) · weights`` over :data:`FEATURES`."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    features: tuple[str, ...] = FEATURES
    trained: dict = field(default_factory=dict)  # before, windows, questions, pairs, seed, …

    def score(self, x: np.ndarray) -> np.ndarray:
        """Scores of feature rows (any leading shape, last axis the features)."""
        return np.einsum("...f,f->...", (x - self.mean) / self.scale, self.weights)

    @property
    def uses_hybrid(self) -> bool:
        """Whether the ``hybrid`` feature carries weight: scoring then needs a fitted hybrid."""
        return bool(self.weights[FEATURES.index("hybrid")] != 0.0)

    @property
    def uses_availability(self) -> bool:
        """Whether an availability feature carries weight: scoring then needs them at each
        question's moment (:func:`~engine.community.route_availability.availability_features`)."""
        return bool(np.any(self.weights[[FEATURES.index(f) for f in AVAILABILITY]] != 0.0))

    def as_dict(self) -> dict:
        return {"features": list(self.features), "weights": self.weights.tolist(), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "trained": self.trained}

    @classmethod
    def from_dict(cls, data: dict) -> RouterModel:
        if tuple(data["features"]) != FEATURES:
            raise EngineError("a kept router was fitted on other features; fit it again")
        return cls(np.asarray(data["weights"]), np.asarray(data["mean"]), np.asarray(data["scale"]),
                   FEATURES, dict(data.get("trained", {})))


def window_starts(posts: QAPosts, before: dt.datetime, windows: int) -> list[dt.datetime]:
    """Starts of ``windows`` windows of equal question counts before ``before``, and ``before``."""
    stamps = posts.questions.filter(pl.col("created_at") < before)["created_at"]
    if stamps.len() < windows:
        return []
    cuts = [stamps[int(i * stamps.len() / windows)] for i in range(windows)]
    return [*sorted(set(cuts)), before]


def answerers(posts: QAPosts, before: dt.datetime) -> pl.DataFrame:
    """question_id → the list of users who answered it before ``before``."""
    return (posts.answers.filter((pl.col("created_at") < before) & pl.col("user_id").is_not_null())
            .group_by("question_id").agg(pl.col("user_id").unique().sort().alias("answerers")))


#: When a training question is featured from: its window's start, or its own posting.
FEATURED_AT = ("window", "question")


def training_moments(questions: pl.DataFrame, start: dt.datetime,
                     featured_at: str) -> list[tuple[dt.datetime, pl.DataFrame]]:
    """The moments a window's ``questions`` (from ``start`` on) are featured at, each with its
    questions (:data:`FEATURED_AT`)."""
    if featured_at == "window":
        return [(start, questions)]
    return [(at, group) for (at,), group in questions.group_by("created_at", maintain_order=True)]


def training_rows(posts: QAPosts, before: dt.datetime, *, windows: int = 6, negatives: int = 200,
                  featured_at: str = "window", with_hybrid: bool = False, with_availability: bool = False,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Feature rows of the training users of every training question, each row's question
    (``groups``, 0 …) and whether that user answered it (``positive``), and what was used
    (see the module docstring); ``with_hybrid`` fits a hybrid per window for the hybrid column
    (False: the column stays 0) and ``with_availability`` the availability columns, each
    training question at its own posting (False: they stay 0)."""
    rng = np.random.default_rng(seed)
    starts = window_starts(posts, before, windows)
    answered = answerers(posts, before)
    blocks: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for start, end in zip(starts[1:-1], starts[2:], strict=True):
        chosen = (posts.questions.filter((pl.col("created_at") >= start) & (pl.col("created_at") < end))
                  .join(answered, on="question_id", how="inner", maintain_order="left"))
        hybrid = fit_answerer_hybrid(posts, start) if with_hybrid else None
        for at, group in training_moments(chosen, start, featured_at):
            profiles = profiles_at(posts, at)
            x = question_features(profiles, group["tags"].to_list(), group["tokens"].to_list(),
                                  group["user_id"].fill_null(-1).to_numpy(),
                                  hybrid_scores(hybrid, profiles, group["tags"].to_list(), group["tokens"].to_list()),
                                  availability_features(posts, profiles.users, group["created_at"].to_list())
                                  if with_availability else None)
            n_users = len(profiles.users)
            for q, ids in enumerate(group["answerers"].to_list()):
                pos = profiles.index_of(np.asarray(ids, dtype=np.int64))
                pos = pos[pos >= 0]
                if len(pos) == 0 or len(pos) == n_users:
                    continue
                others = np.setdiff1d(np.arange(n_users), pos)
                neg = others if len(others) <= negatives else rng.choice(others, negatives, replace=False)
                blocks.append(x[q, np.concatenate([pos, neg])])
                groups.append(np.full(len(pos) + len(neg), len(groups)))
                labels.append(np.arange(len(pos) + len(neg)) < len(pos))
    if not blocks:
        raise EngineError("too few answered questions before the cut to train the router")
    info = {"before": before.isoformat(), "windows": windows, "negatives": negatives, "featured_at": featured_at,
            "hybrid": with_hybrid, "seed": seed,
            "questions": len(blocks)}
    return np.concatenate(blocks), np.concatenate(groups), np.concatenate(labels), info


def hybrid_scores(hybrid: AnswererHybrid | None, profiles: Profiles, tag_lists: list[list[str]],
                  tokens: list[list[str]]) -> np.ndarray | None:
    """The hybrid's questions × profiled users scores (``None`` without a hybrid: the column stays 0)."""
    return None if hybrid is None else hybrid.scores(profiles.users, tag_lists, tokens)


def _standardise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    constant = scale < 1e-12
    scale = np.where(constant, 1.0, scale)
    z = (rows - mean) / scale
    z[:, constant] = 0.0
    return z, mean, scale, constant


def pairwise_loss(z: np.ndarray, groups: np.ndarray, positive: np.ndarray,
                  l2: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """RankNet: mean over same-question (answerer, non-answerer) pairs of ln(1 + e^(−w·(z_p − z_n)))."""
    pairs = []
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        pos, neg = rows[positive[rows]], rows[~positive[rows]]
        pairs.append(np.stack(np.meshgrid(pos, neg, indexing="ij"), axis=-1).reshape(-1, 2))
    pair = np.concatenate(pairs)
    diff = z[pair[:, 0]] - z[pair[:, 1]]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = np.einsum("pf,f->p", diff, w)
        value = np.logaddexp(0.0, -margin).mean() + 0.5 * l2 * w @ w
        grad = -np.einsum("pf,p->f", diff, scipy.special.expit(-margin)) / len(margin) + l2 * w
        return float(value), grad

    return loss


def listwise_loss(z: np.ndarray, groups: np.ndarray, positive: np.ndarray,
                  l2: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Softmax over each question's users (a multinomial logit, ListNet top-1): the mean over
    answerers p of −ln(e^{w·z_p} / Σ_{u ∈ question} e^{w·z_u})."""
    n_groups = int(groups.max()) + 1
    n_pos = np.bincount(groups, weights=positive.astype(float), minlength=n_groups)
    total = n_pos.sum()
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])  # groups are contiguous, 0, 1, …

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = np.einsum("rf,f->r", z, w)
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[groups])
        norm = np.bincount(groups, weights=e, minlength=n_groups)
        lse = top + np.log(norm)
        value = (n_pos @ lse - s[positive].sum()) / total + 0.5 * l2 * w @ w
        p = e / norm[groups]
        grad = (np.einsum("rf,r->f", z, n_pos[groups] * p) - z[positive].sum(axis=0)) / total + l2 * w
        return float(value), grad

    return loss


LOSSES = {"pairwise": pairwise_loss, "listwise": listwise_loss}
# The products above are written with einsum, which never calls BLAS: for these thin matrices
# OpenBLAS's threads cost more than the work on a busy machine (a fit took 9.5 s against 0.3 s).


def fit_ranker(rows: np.ndarray, groups: np.ndarray, positive: np.ndarray, *, loss: str = "pairwise",
               l2: float = 1.0, use: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, mean, scale) minimising ``loss`` (:data:`LOSSES`) + λ/2 ‖w‖² by L-BFGS; the
    columns where ``use`` is False (and constant ones) get weight 0."""
    z, mean, scale, constant = _standardise(rows)
    kept = ~constant if use is None else use & ~constant
    objective = LOSSES[loss](z[:, kept], groups, positive, l2)  # the columns left out play no part
    found = scipy.optimize.minimize(objective, np.zeros(int(kept.sum())), jac=True, method="L-BFGS-B")
    weights = np.zeros(rows.shape[1])
    weights[kept] = found.x
    return weights, mean, scale


def fit_router(posts: QAPosts, before: dt.datetime | None = None, *, windows: int = 6, negatives: int = 200,
               loss: str = "pairwise", l2: float = 1.0, features: tuple[str, ...] = SHIPPED_FEATURES,
               featured_at: str = "window", seed: int = 0, progress: Progress = no_progress) -> RouterModel:
    """Fit the router on everything before ``before`` (default: after the last post), on the
    ``features`` named (the others get weight 0; :data:`SHIPPED_FEATURES` by default,
    :data:`WITH_HYBRID` and :data:`WITH_AVAILABILITY` the named variants)."""
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise EngineError(f"unknown router feature(s) {', '.join(unknown)} (known: {', '.join(FEATURES)})")
    if before is None:
        before = posts.span[1] + dt.timedelta(microseconds=1)
    if loss not in LOSSES:
        raise EngineError(f"unknown ranking loss {loss!r} (known: {', '.join(LOSSES)})")
    if featured_at not in FEATURED_AT:
        raise EngineError(f"unknown featured_at {featured_at!r} (known: {', '.join(FEATURED_AT)})")
    progress(0.0, "building training windows")
    rows, groups, positive, info = training_rows(posts, before, windows=windows, negatives=negatives,
                                                 featured_at=featured_at, with_hybrid="hybrid" in features,
                                                 with_availability=bool(set(features) & set(AVAILABILITY)), seed=seed)
    progress(0.7, f"fitting the ranker on {info['questions']:,} questions")
    use = np.asarray([name in features for name in FEATURES])
    weights, mean, scale = fit_ranker(rows, groups, positive, loss=loss, l2=l2, use=use)
    progress(1.0, "fitted")
    return RouterModel(weights, mean, scale, FEATURES, info | {"rows": int(len(rows)), "loss": loss, "l2": l2})


@dataclass(frozen=True)
class Suggestion:
    """One suggested answerer and why."""

    user_id: int
    score: float
    shared_tags: dict[str, int]  # the question's tags this user answered, with their answers in each
    answers: int
    recent_answers: int  # in the 30 days before the question
    acceptance_rate: float | None  # accepted / answers (None without answers)
    active: bool  # an event in the last ACTIVE_DAYS days (of the data, or before the moment routed at)
    days_since_seen: float  # days from the user's last event to then

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "score": round(self.score, 6), "shared_tags": self.shared_tags,
                "answers": self.answers, "recent_answers": self.recent_answers,
                "acceptance_rate": self.acceptance_rate, "active": self.active,
                "days_since_seen": round(self.days_since_seen, 2)}


#: The ways to rank answerers: the learned router and the baselines it is judged against.
ROUTERS = ("router", "mostpop", "recentpop", "tagpop", "bm25")


def router_scores(by: str, model: RouterModel, profiles: Profiles, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Questions × users scores of router ``by`` from the questions' features ``x`` (see
    :func:`~engine.community.route_features.question_features`), and the tie-break (higher
    first) — ``None`` where ties go straight to the lower user id, as the learned router's do.
    The baselines: MostPop (answers), RecentPop (answers in the last 90 days), TagPop (answers
    on questions with the question's tags), BM25 (the question's words against each user's
    answers); every baseline but MostPop breaks its ties by MostPop."""
    col = {name: i for i, name in enumerate(FEATURES)}
    shape = x.shape[:2]
    if by == "router":
        return model.score(x), None
    if by == "mostpop":
        return np.broadcast_to(profiles.answers, shape), None
    if by == "recentpop":
        return np.broadcast_to(profiles.answers_90, shape), profiles.answers
    if by == "tagpop":
        return np.expm1(x[..., col["tag_answers"]]), profiles.answers
    if by == "bm25":
        return np.expm1(x[..., col["bm25_log"]]), profiles.answers
    raise EngineError(f"unknown router {by!r} (one of {', '.join(ROUTERS)})")


def route(model: RouterModel, profiles: Profiles, tags: list[str], tokens: list[str], *, asker: int | None = None,
          k: int = 10, hybrid: AnswererHybrid | None = None, days_since_active: np.ndarray | None = None,
          availability: np.ndarray | None = None, by: str = "router") -> list[Suggestion]:
    """The ``k`` profiled users most likely to answer a question with these tags and tokens
    (ranked by ``by``, one of :data:`ROUTERS`); ``hybrid`` (fitted before the profiles' moment)
    fills the hybrid feature — pass it whenever ``model.uses_hybrid`` — and ``availability``
    (users × :data:`AVAILABILITY` at the profiles' moment) the availability features, needed
    whenever ``model.uses_availability``.

    ``days_since_active`` (per profiled user) says how long ago each was last seen for the
    *active* flag — pass it from the data's end to ask "still active?" of an old question;
    by default it is the profiles' own (days before the moment profiled)."""
    return route_many(model, profiles, [tags], [tokens], [asker], k=k, hybrid=hybrid,
                      days_since_active=days_since_active, availability=availability, by=by)[0]


def route_many(model: RouterModel, profiles: Profiles, tag_lists: list[list[str]], tokens: list[list[str]],
               askers: list[int | None], *, k: int = 10, hybrid: AnswererHybrid | None = None,
               days_since_active: np.ndarray | None = None, availability: np.ndarray | None = None,
               by: str = "router") -> list[list[Suggestion]]:
    """:func:`route` for several questions, their features built :data:`BATCH` questions at a time
    (questions × users × features floats: a batch bounds the memory, not the question count)."""
    if by == "router" and model.uses_availability and availability is None:
        raise EngineError("this router weighs availability: pass the users' availability at the profiles' moment")
    seen = profiles.days_since_active if days_since_active is None else days_since_active
    users = np.arange(len(profiles.users))
    out: list[list[Suggestion]] = []
    for start in range(0, len(tag_lists), BATCH):
        end = start + BATCH
        batch = tag_lists[start:end]
        x = question_features(profiles, batch, tokens[start:end],
                              np.asarray([-1 if a is None else a for a in askers[start:end]]),
                              hybrid_scores(hybrid, profiles, batch, tokens[start:end]),
                              None if availability is None else np.broadcast_to(availability, (len(batch), *availability.shape)))
        primary, secondary = router_scores(by, model, profiles, x)
        second = np.zeros(len(users)) if secondary is None else secondary
        out += [_suggestions(profiles, tags, primary[q], np.lexsort((users, -second, -primary[q]))[:k], seen)
                for q, tags in enumerate(tag_lists[start:end])]
    return out


def _suggestions(profiles: Profiles, tags: list[str], scores: np.ndarray, order: np.ndarray,
                 seen: np.ndarray) -> list[Suggestion]:
    """The users at ``order`` (rows of ``profiles``) with why."""
    known = [t for t in dict.fromkeys(tags) if t in profiles.tags]
    per_tag = profiles.answer_tags[:, [profiles.tags[t] for t in known]].toarray() if known else None
    out = []
    for u in order:
        shared = {t: int(per_tag[u, j]) for j, t in enumerate(known) if per_tag[u, j] > 0} if per_tag is not None else {}
        answers = int(profiles.answers[u])
        days = float(seen[u])
        out.append(Suggestion(
            user_id=int(profiles.users[u]), score=float(scores[u]), shared_tags=shared, answers=answers,
            recent_answers=int(profiles.answers_30[u]),
            acceptance_rate=round(profiles.accepted[u] / answers, 4) if answers else None,
            active=bool(days <= ACTIVE_DAYS), days_since_seen=days,
        ))
    return out
