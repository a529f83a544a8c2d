"""What the question router knows about each user at a moment, and the features of (question, user).

:func:`qa_posts` turns a Stack Exchange import (items, post_texts, events) into questions,
answers and activity with their tokens. :func:`profiles_at` summarises everything posted
strictly before a moment ``t`` for every user *active* before it (any event: ask, answer,
comment, vote, edit): answer counts overall and in the last 7, 30 and 90 days, accepted answers,
days since the last answer, the last event and the first, the tags of the questions they answered and
asked (sparse users × tags), and a BM25 index over their *answer profile* — the words of their
answers plus the title and tags of each question they answered.

:func:`question_features` gives, for a batch of questions and every profiled user, the
columns of :data:`FEATURES` (one ``float64`` array, questions × users × features):

=================  =============================================================================
tag_answers        ln(1 + Σ_{tag ∈ q} answers of u on questions with that tag)
tag_share          Σ_{tag ∈ q} answers of u in the tag / max(1, answers of u)
tag_recent         ln(1 + Σ_{tag ∈ q} Σ_{answers of u in the tag} exp(−age in days / 90))
tag_recent_share   that decayed sum (before the log) / (1 + Σ_{every tag} the same): how much of u's
                   recent answering is in q's tags
tag_asks           ln(1 + Σ_{tag ∈ q} questions u asked with that tag)
bm25               BM25(q, answer profile of u) / max over users (0 … 1 within the question)
bm25_log           ln(1 + BM25(q, answer profile of u))
answers_7          ln(1 + answers of u in the 7 days before t)
answers_30         ln(1 + answers of u in the 30 days before t)
answers_90         ln(1 + answers of u in the 90 days before t)
answer_rate        answers of u in the last 30 days / the days (1 … 30) since u's first event: a
                   newcomer's burst counts as much as a regular's month
answer_recency     exp(−days since u's last answer / 30); 0 if u never answered
active_recency     exp(−days since u's last event / 30)
events_30          ln(1 + events of u of any kind — comments, votes, edits, posts — in the last 30 days)
acceptance         (accepted + 1) / (answers + 2): the Beta(1, 1)-smoothed acceptance rate
accepted_log       ln(1 + accepted answers of u)
answer_score       ln(1 + Σ max(score, 0) over u's answers): how well the community rated them
popularity         ln(1 + answers of u): the popularity prior
is_asker           1 if u asked q (people seldom answer themselves)
hybrid             the hybrid recommender's cold-item score of (u, q) — a factorisation of who
                   answered what, with the questions' tags and words as item features
                   (:mod:`engine.community.route_hybrid`) — when one is given, else 0
=================  =============================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from engine.community.route_availability import AVAILABILITY
from engine.community.route_text import BM25Index, tokens_expr
from engine.errors import EngineError
from engine.scalars import as_datetime

FEATURES = ("tag_answers", "tag_share", "tag_recent", "tag_recent_share", "tag_asks", "bm25", "bm25_log", "answers_7",
            "answers_30", "answers_90", "answer_rate", "answer_recency", "active_recency", "events_30", "acceptance",
            "accepted_log", "answer_score", "popularity", "is_asker", "hybrid", *AVAILABILITY)
TAG_DECAY_DAYS = 90.0
RECENT_DAYS = (7, 30, 90)
DAY_US = 86_400e6


@dataclass(frozen=True)
class QAPosts:
    """A Q&A community's posts: ``questions`` (question_id, user_id, created_at, tags, tokens),
    ``answers`` (answer_id, question_id, user_id, created_at, accepted, score, tokens) and ``activity``
    (user_id, ts: every event that carries a user). ``has_bodies``: whether the texts include the
    posts' bodies (a dump with texts removed has titles and tags only)."""

    questions: pl.DataFrame
    answers: pl.DataFrame
    activity: pl.DataFrame
    has_bodies: bool

    @property
    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """First and last post (question or answer)."""
        stamps = pl.concat([self.questions["created_at"], self.answers["created_at"]])
        return as_datetime(stamps.min()), as_datetime(stamps.max())


def qa_posts(items: pl.LazyFrame, events: pl.LazyFrame, texts: pl.LazyFrame | None = None) -> QAPosts:
    """:class:`QAPosts` from a Stack Exchange import's items (kind, parent_id, tags, title, …),
    events and, when there is one, its ``post_texts`` (item_id, body in HTML)."""
    schema = items.collect_schema()
    missing = [c for c in ("item_id", "kind", "creator_id", "created_at", "parent_id") if c not in schema]
    if missing:
        raise EngineError(f"items lack column(s) {', '.join(missing)}: not a Q&A dataset (a Stack Exchange dump)")
    if texts is not None:
        bodies = texts.select("item_id", tokens_expr(pl.col("body")).alias("_body"))
        items = items.join(bodies, on="item_id", how="left", maintain_order="left")
    else:
        items = items.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("_body"))
    empty = pl.lit([], dtype=pl.List(pl.String))
    tags = pl.col("tags").fill_null(empty) if "tags" in schema else empty
    title = tokens_expr(pl.col("title"), is_html=False) if "title" in schema else empty
    questions = items.filter(pl.col("kind") == "question").select(
        pl.col("item_id").alias("question_id"), pl.col("creator_id").alias("user_id"), "created_at",
        tags.alias("tags"),
        pl.concat_list(title, tags, pl.col("_body").fill_null(empty)).alias("tokens"),
    ).sort("created_at", "question_id").collect()
    accepted = pl.col("is_accepted").fill_null(False) if "is_accepted" in schema else pl.lit(False)
    answers = items.filter((pl.col("kind") == "answer") & pl.col("parent_id").is_not_null()).select(
        pl.col("item_id").alias("answer_id"), pl.col("parent_id").alias("question_id"),
        pl.col("creator_id").alias("user_id"), "created_at", accepted.alias("accepted"),
        (pl.col("score").fill_null(0) if "score" in schema else pl.lit(0)).cast(pl.Float64).alias("score"),
        pl.col("_body").fill_null(empty).alias("tokens"),
    ).sort("created_at", "answer_id").collect()
    if questions.height == 0 or answers.height == 0:
        raise EngineError("no questions with answers: routing needs a Q&A dataset (a Stack Exchange dump)")
    activity = events.filter(pl.col("user_id").is_not_null()).select("user_id", "ts").collect()
    has_bodies = texts is not None and bool(answers["tokens"].list.len().sum())
    return QAPosts(questions, answers, activity, has_bodies)


@dataclass(frozen=True)
class Profiles:
    """Every user active before ``at`` (``users``, ascending id: their index is their column in
    every array and matrix here) and what they did before it (see the module docstring)."""

    at: dt.datetime
    users: np.ndarray
    answers: np.ndarray
    answers_7: np.ndarray
    answers_30: np.ndarray
    answers_90: np.ndarray
    accepted: np.ndarray
    answer_score: np.ndarray
    events_30: np.ndarray
    days_since_answer: np.ndarray  # inf where the user never answered
    days_since_active: np.ndarray
    days_since_first: np.ndarray  # days since the user's first event
    answer_tags: sp.csr_matrix  # users × tags
    recent_tags: sp.csr_matrix  # users × tags, each answer weighted exp(−age / TAG_DECAY_DAYS)
    ask_tags: sp.csr_matrix
    tags: dict[str, int]
    text: BM25Index  # one document per user: the answer profile

    def index_of(self, user_ids: np.ndarray) -> np.ndarray:
        """Row of each user id (−1 where the user is not profiled)."""
        return positions(self.users, user_ids)


def positions(users: np.ndarray, user_ids: np.ndarray) -> np.ndarray:
    """Index of each of ``user_ids`` in the ascending ``users`` (−1 where it is not there)."""
    pos = np.searchsorted(users, user_ids)
    pos = np.clip(pos, 0, max(len(users) - 1, 0))
    found = (users[pos] == user_ids) if len(users) else np.zeros(len(user_ids), dtype=bool)
    return np.where(found, pos, -1)


def active_users(posts: QAPosts, at: dt.datetime) -> np.ndarray:
    """The ids, ascending, of every user with an event (of any kind) strictly before ``at``."""
    return np.unique(posts.activity.filter(pl.col("ts") < at)["user_id"].to_numpy())


def _days(stamps: pl.Series, at: dt.datetime) -> np.ndarray:
    """Days from each stamp to ``at`` (NaN where a stamp is null)."""
    gap = stamps.to_frame("ts").select((pl.lit(at).cast(stamps.dtype) - pl.col("ts")).dt.total_microseconds())
    return gap.to_series().cast(pl.Float64).to_numpy() / DAY_US


def profiles_at(posts: QAPosts, at: dt.datetime) -> Profiles:
    """:class:`Profiles` of everything strictly before ``at``."""
    users = active_users(posts, at)
    index = pl.DataFrame({"user_id": users, "row": np.arange(len(users), dtype=np.int64)})
    n = len(users)
    answers = posts.answers.filter(pl.col("created_at") < at).join(index, on="user_id", how="inner", maintain_order="left")
    questions = posts.questions.filter(pl.col("created_at") < at)
    per_user = answers.group_by("row").agg(
        pl.len().alias("n"), pl.col("accepted").sum().alias("acc"), pl.col("created_at").max().alias("last"),
        pl.col("score").clip(lower_bound=0).sum().alias("score"),
        *[(pl.col("created_at") >= at - dt.timedelta(days=d)).sum().alias(f"n{d}") for d in RECENT_DAYS],
    )
    rows = per_user["row"].to_numpy()

    def column(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(n, fill, dtype=np.float64)
        out[rows] = values
        return out

    last_event = posts.activity.filter(pl.col("ts") < at).group_by("user_id").agg(
        pl.col("ts").max(), pl.col("ts").min().alias("first"), (pl.col("ts") >= at - dt.timedelta(days=30)).sum().alias("n30"))
    last_event = index.join(last_event, on="user_id", how="left", maintain_order="left").sort("row")
    all_tags = questions["tags"].explode().drop_nulls().unique().sort()
    tags = {t: i for i, t in enumerate(all_tags.to_list())}
    tag_frame = pl.DataFrame({"tag": all_tags, "col": np.arange(len(tags), dtype=np.int64)})
    answered = answers.join(questions.select("question_id", pl.col("tags").alias("q_tags"),
                                             pl.col("tokens").alias("q_tokens")), on="question_id", how="left", maintain_order="left")
    answered = answered.with_columns(
        (-pl.lit(_days(answered["created_at"], at)) / TAG_DECAY_DAYS).exp().alias("decay"))
    answer_tags = _count_matrix(answered.select("row", pl.col("q_tags").alias("tag")).explode("tag"),
                                tag_frame, n)
    recent_tags = _count_matrix(answered.select("row", pl.col("q_tags").alias("tag"), pl.col("decay").alias("weight"))
                                .explode("tag"), tag_frame, n)
    asked = questions.join(index, on="user_id", how="inner", maintain_order="left").select("row", pl.col("tags").alias("tag"))
    ask_tags = _count_matrix(asked.explode("tag"), tag_frame, n)
    words = answered.select("row", pl.concat_list(pl.col("tokens"), pl.col("q_tokens").fill_null([])).alias("term"))
    words = words.explode("term").drop_nulls("term").rename({"row": "doc"})
    return Profiles(
        at=at, users=users,
        answers=column(per_user["n"].to_numpy(), 0.0),
        answers_7=column(per_user["n7"].to_numpy(), 0.0), answers_30=column(per_user["n30"].to_numpy(), 0.0), answers_90=column(per_user["n90"].to_numpy(), 0.0),
        accepted=column(per_user["acc"].to_numpy(), 0.0),
        answer_score=column(per_user["score"].to_numpy(), 0.0),
        events_30=last_event["n30"].cast(pl.Float64).to_numpy(),
        days_since_answer=column(_days(per_user["last"], at), np.inf),
        days_since_active=_days(last_event["ts"], at), days_since_first=_days(last_event["first"], at),
        answer_tags=answer_tags, recent_tags=recent_tags, ask_tags=ask_tags, tags=tags,
        text=BM25Index.fit_pairs(words, n),
    )


def _count_matrix(pairs: pl.DataFrame, tag_frame: pl.DataFrame, n_rows: int) -> sp.csr_matrix:
    """rows × tags counts (sums of ``weight`` where the pairs have one) from (row, tag) pairs."""
    cells = pairs.drop_nulls("tag").join(tag_frame, on="tag", how="inner", maintain_order="left")
    weight = cells["weight"].to_numpy() if "weight" in cells.columns else np.ones(cells.height)
    return sp.csr_matrix((weight, (cells["row"].to_numpy(), cells["col"].to_numpy())),
                         shape=(n_rows, tag_frame.height))


def tag_matrix(tag_lists: list[list[str]], tags: dict[str, int]) -> sp.csr_matrix:
    """Questions × tags, 1 where the question carries the tag (tags nobody used before drop out)."""
    cells = {(q, tags[t]) for q, ts in enumerate(tag_lists) for t in ts if t in tags}
    rows, cols = (list(x) for x in zip(*cells, strict=True)) if cells else ([], [])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(tag_lists), len(tags)))


def question_features(profiles: Profiles, tag_lists: list[list[str]], tokens: list[list[str]],
                      askers: np.ndarray, hybrid: np.ndarray | None = None,
                      availability: np.ndarray | None = None) -> np.ndarray:
    """Questions × users × :data:`FEATURES` (see the module docstring); ``askers`` holds each
    question's asker id (−1 or any unknown id for none), ``hybrid`` a questions × users score,
    ``availability`` questions × users × :data:`AVAILABILITY` at each question's own posting
    (:func:`~engine.community.route_availability.availability_features`; None: those columns stay 0)."""
    n_q, n_u = len(tag_lists), len(profiles.users)
    out = np.zeros((n_q, n_u, len(FEATURES)), dtype=np.float64)
    col = {name: i for i, name in enumerate(FEATURES)}
    qt = tag_matrix(tag_lists, profiles.tags)
    tag_answers = np.asarray((qt @ profiles.answer_tags.T).todense())
    out[..., col["tag_answers"]] = np.log1p(tag_answers)
    out[..., col["tag_share"]] = tag_answers / np.maximum(profiles.answers, 1.0)
    tag_recent = np.asarray((qt @ profiles.recent_tags.T).todense())
    out[..., col["tag_recent"]] = np.log1p(tag_recent)
    recent_total = np.asarray(profiles.recent_tags.sum(axis=1)).ravel()
    out[..., col["tag_recent_share"]] = tag_recent / (recent_total + 1.0)
    out[..., col["tag_asks"]] = np.log1p(np.asarray((qt @ profiles.ask_tags.T).todense()))
    bm25 = profiles.text.scores(tokens)
    top = bm25.max(axis=1, keepdims=True)
    out[..., col["bm25"]] = np.divide(bm25, top, out=np.zeros_like(bm25), where=top > 0)
    out[..., col["bm25_log"]] = np.log1p(bm25)
    out[..., col["answers_7"]] = np.log1p(profiles.answers_7)
    out[..., col["answers_30"]] = np.log1p(profiles.answers_30)
    out[..., col["answers_90"]] = np.log1p(profiles.answers_90)
    out[..., col["answer_rate"]] = profiles.answers_30 / np.clip(profiles.days_since_first, 1.0, 30.0)
    out[..., col["answer_recency"]] = np.exp(-profiles.days_since_answer / 30.0)
    out[..., col["active_recency"]] = np.exp(-profiles.days_since_active / 30.0)
    out[..., col["events_30"]] = np.log1p(profiles.events_30)
    out[..., col["acceptance"]] = (profiles.accepted + 1.0) / (profiles.answers + 2.0)
    out[..., col["accepted_log"]] = np.log1p(profiles.accepted)
    out[..., col["answer_score"]] = np.log1p(profiles.answer_score)
    out[..., col["popularity"]] = np.log1p(profiles.answers)
    rows = profiles.index_of(np.asarray(askers, dtype=np.int64))
    has = rows >= 0
    out[np.flatnonzero(has), rows[has], col["is_asker"]] = 1.0
    if hybrid is not None:
        out[..., col["hybrid"]] = hybrid
    if availability is not None:
        first = col[AVAILABILITY[0]]
        out[..., first:first + len(AVAILABILITY)] = availability
    return out
