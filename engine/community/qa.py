"""Q&A health of a community, rated against Stack Exchange's Area 51 targets.

Inputs are two frames: ``questions`` (question_id, user_id, created_at) and ``answers``
(question_id, user_id, created_at, score, accepted). :func:`posts_from_items` builds them from
a Stack Exchange import's items (which know scores and accepted answers);
:func:`posts_from_events` from ``ask``/``answer`` events (scores unknown).

Figures, over the whole history (window: first to last post):

* questions per day = questions / window days;
* % answered = questions with an accepted answer or an answer scored > 0 — Stack Exchange's own
  "unanswered" rule; where scores are unknown, any answer counts (``answered_rule`` says which);
  % with any answer and % with an accepted answer beside it;
* answers per question = answers / questions;
* time to first answer: median and 90th percentile (hours) over questions with an answer;
* avid users: users with reputation ≥ 200, 2,000 and 3,000;
* contribution inequality: Gini and top-1 % share of posts (questions + answers) per
  contributor, over users with at least one post;
* badges: total, by class (1 gold, 2 silver, 3 bronze), users with one, the most awarded.

Area 51 published one "excellent" target per figure (:data:`AREA51_TARGETS`: 15 questions a
day, 90 % answered, 2.5 answers per question, 150 users at 200+, 10 at 2,000+, 5 at 3,000+);
each figure is reported with its target, the share of the target reached and ✓/✗.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.community.inequality import gini, top_share
from engine.errors import EngineError
from engine.scalars import as_datetime, as_float

AREA51_TARGETS = {
    "questions_per_day": 15.0,
    "answered_pct": 90.0,
    "answers_per_question": 2.5,
    "users_200": 150,
    "users_2000": 10,
    "users_3000": 5,
}
REPUTATION_LEVELS = (200, 2_000, 3_000)
BADGE_CLASSES = {1: "gold", 2: "silver", 3: "bronze"}


def posts_from_items(items: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Questions and answers from a Stack Exchange import's items (kind, parent_id, score, …)."""
    schema = items.collect_schema()
    needed = ("item_id", "kind", "creator_id", "created_at", "parent_id")
    missing = [c for c in needed if c not in schema]
    if missing:
        raise EngineError(f"items lack column(s) {', '.join(missing)}: not a Stack Exchange–shaped dataset")
    questions = items.filter(pl.col("kind") == "question").select(
        pl.col("item_id").alias("question_id"), pl.col("creator_id").alias("user_id"), "created_at",
    ).collect()
    answers = items.filter(pl.col("kind") == "answer").select(
        pl.col("parent_id").alias("question_id"), pl.col("creator_id").alias("user_id"), "created_at",
        (pl.col("score") if "score" in schema else pl.lit(None, dtype=pl.Int64)).alias("score"),
        (pl.col("is_accepted") if "is_accepted" in schema else pl.lit(None, dtype=pl.Boolean)).alias("accepted"),
    ).collect()
    return questions, answers


def posts_from_events(events: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Questions (``ask`` events) and answers (``answer`` events on the question) — no scores."""
    questions = (events.filter(pl.col("kind") == "ask")
                 .group_by("item_id").agg(pl.col("user_id").sort_by("ts").first(), pl.col("ts").min().alias("created_at"))
                 .rename({"item_id": "question_id"}).collect())
    answers = events.filter(pl.col("kind") == "answer").select(
        pl.col("item_id").alias("question_id"), "user_id", pl.col("ts").alias("created_at"),
        pl.lit(None, dtype=pl.Int64).alias("score"), pl.lit(None, dtype=pl.Boolean).alias("accepted"),
    ).collect()
    return questions, answers


@dataclass(frozen=True)
class QAHealth:
    figures: dict
    area51: list[dict]
    badges: dict | None
    weekly: pl.DataFrame

    def as_dict(self) -> dict:
        return {**self.figures, "area51": self.area51, "badges": self.badges, "weekly": self.weekly.to_dicts()}


def per_question(questions: pl.DataFrame, answers: pl.DataFrame) -> pl.DataFrame:
    """Each question with its answer count, whether it is answered, and the first-answer delay."""
    scored = answers["score"].null_count() < answers.height if answers.height else False
    agg = answers.group_by("question_id").agg(
        pl.len().alias("answers"),
        pl.col("created_at").min().alias("first_answer_at"),
        ((pl.col("score") > 0) | pl.col("accepted").fill_null(False)).any().alias("_good"),
        pl.col("accepted").fill_null(False).any().alias("has_accepted"),
    )
    return questions.join(agg, on="question_id", how="left").with_columns(
        pl.col("answers").fill_null(0),
        pl.col("has_accepted").fill_null(False),
        (pl.col("_good").fill_null(False) if scored else pl.col("answers").fill_null(0) > 0).alias("answered"),
        ((pl.col("first_answer_at") - pl.col("created_at")).dt.total_microseconds() / 3.6e9).alias("first_answer_hours"),
    ).drop("_good")


def qa_health(questions: pl.DataFrame, answers: pl.DataFrame, users: pl.DataFrame | None = None,
              badges: pl.DataFrame | None = None, comments: int | None = None) -> QAHealth:
    """The figures of the module docstring; ``users`` needs reputation for avid users."""
    if questions.height == 0:
        raise EngineError("no questions: community health needs a Q&A dataset (questions and answers)")
    q = per_question(questions, answers)
    scored = answers.height > 0 and answers["score"].null_count() < answers.height
    stamps = pl.concat([questions["created_at"], answers["created_at"]]).drop_nulls()
    window_days = max((as_datetime(stamps.max()) - as_datetime(stamps.min())).total_seconds() / 86_400, 1.0)
    latency = q["first_answer_hours"].drop_nulls()
    posts = pl.concat([questions.select("user_id"), answers.select("user_id")]).drop_nulls()
    per_user = posts.group_by("user_id").len()["len"].to_numpy()
    figures = {
        "questions": q.height,
        "answers": answers.height,
        "comments": comments,
        "window_start": stamps.min(),
        "window_end": stamps.max(),
        "window_days": window_days,
        "questions_per_day": q.height / window_days,
        "answered_pct": 100.0 * as_float(q["answered"].mean()),
        "answered_rule": "accepted or score > 0" if scored else "any answer (no scores in the data)",
        "any_answer_pct": 100.0 * as_float((q["answers"] > 0).mean()),
        "accepted_pct": 100.0 * as_float(q["has_accepted"].mean()) if scored else None,
        "answers_per_question": answers.height / q.height,
        "first_answer_median_hours": as_float(latency.median()) if latency.len() else None,
        "first_answer_p90_hours": as_float(latency.quantile(0.9, interpolation="linear")) if latency.len() else None,
        "contributors": int(len(per_user)),
        "contribution_gini": gini(per_user),
        "contribution_top1_share": top_share(per_user, 0.01),
    }
    if users is not None and "reputation" in users.columns:
        rep = users["reputation"].fill_null(0)
        figures.update({f"users_{level}": int((rep >= level).sum()) for level in REPUTATION_LEVELS})
        figures["users"] = users.height
    return QAHealth(figures, area51_ratings(figures), badge_summary(badges), weekly_series(q, answers, users))


def area51_ratings(figures: dict) -> list[dict]:
    """Each Area 51 figure present: value, target, share of target, and whether it is met."""
    rows = []
    for name, target in AREA51_TARGETS.items():
        value = figures.get(name)
        if value is None:
            continue
        rows.append({"figure": name, "value": value, "target": target, "of_target": value / target,
                     "meets": bool(value >= target)})
    return rows


def badge_summary(badges: pl.DataFrame | None, top: int = 5) -> dict | None:
    """Badges awarded, by class, users holding one, and the ``top`` most awarded names."""
    if badges is None:
        return None
    by_class = badges.group_by("class").len().sort("class")
    names = badges.group_by("name").len().sort(["len", "name"], descending=[True, False]).head(top)
    return {
        "total": badges.height,
        "users": badges["user_id"].n_unique(),
        "by_class": {BADGE_CLASSES.get(c, str(c)): n for c, n in by_class.iter_rows()},
        "top": [{"name": n, "count": c} for n, c in names.iter_rows()],
    }


def weekly_series(q: pl.DataFrame, answers: pl.DataFrame, users: pl.DataFrame | None) -> pl.DataFrame:
    """Per week (Monday start): questions, answers, % of that week's questions answered, their
    median first-answer hours, distinct posters, and new users (when users have joined_at)."""
    week = pl.col("created_at").dt.truncate("1w").alias("week")
    asked = q.group_by(week).agg(
        pl.len().alias("questions"),
        (100.0 * pl.col("answered").mean()).alias("answered_pct"),
        pl.col("first_answer_hours").median().alias("first_answer_median_hours"),
    )
    answered = answers.group_by(week).agg(pl.len().alias("answers"))
    posters = (pl.concat([q.select("user_id", "created_at"), answers.select("user_id", "created_at")])
               .drop_nulls("user_id").group_by(week).agg(pl.col("user_id").n_unique().alias("posters")))
    frames = [asked, answered, posters]
    if users is not None and "joined_at" in users.columns:
        frames.append(users.group_by(pl.col("joined_at").dt.truncate("1w").alias("week")).agg(pl.len().alias("new_users")))
    weeks = pl.concat([f.select("week") for f in frames]).drop_nulls().unique()
    start, end = as_datetime(weeks["week"].min()), as_datetime(weeks["week"].max())
    series = pl.DataFrame({"week": pl.datetime_range(start, end, "1w", eager=True, time_unit="us")})
    for frame in frames:
        series = series.join(frame, on="week", how="left")
    counts = [c for c in ("questions", "answers", "posters", "new_users") if c in series.columns]
    return series.with_columns(pl.col(c).fill_null(0) for c in counts).sort("week")

