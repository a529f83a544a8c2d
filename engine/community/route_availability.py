"""Short-horizon availability of each user at a question's posting: is this person around *now*?

The router's other features say who *can* answer (tags, words, history) and who has been busy
this month; these say who is likely to be at the keyboard when the question arrives. For each
question q (posted at t) and user u, from u's events strictly before t only:

=================  =============================================================================
since_event_log    ln(1 + hours from u's last event to t), hours capped at :data:`CAP_HOURS`
since_answer_log   ln(1 + hours from u's last answer to t), the same cap (also for no answer yet)
answers_1d         ln(1 + answers of u in the 24 h before t)
answers_3d         ln(1 + answers of u in the 72 h before t)
online_2h          1 if u had an event of any kind in the 2 h before t
hour_share         8 × (events of u in t's 3-hour band of the day (UTC) + 1) / (events of u + 8):
                   u's smoothed share of activity at this time of day (1 = no preference)
recent_questions   ln(1 + how many of the :data:`RECENT_QUESTIONS` questions posted last before t
                   u answered before t)
answer_latency     the mean of ln(1 + hours from question to u's answer) over u's answers before
                   t, shrunk to ln(1 + 12) with the weight of 2 answers
=================  =============================================================================

*Day-precision stamps.* Some events carry a date, not a time (Stack Exchange's favourites are
stamped at midnight): they count for the 24-hour and longer windows from the end of their day
(a conservative shift: never before they can have happened) and are left out of the
time-of-day profile.

:func:`availability_features` computes them for any batch of (question moment, user) pairs
with Polars' as-of joins (one backward, strict join per window: the count of a user's events
before a moment is the index of the last one before it), so a training question is featured at
its own posting even when the rest of its features come from its window's start.
"""

from __future__ import annotations

import datetime as dt

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from engine.community.route_features import QAPosts

AVAILABILITY = ("since_event_log", "since_answer_log", "answers_1d", "answers_3d", "online_2h", "hour_share",
                "recent_questions", "answer_latency")
CAP_HOURS = 10_000.0
BAND_HOURS = 3
BANDS = 24 // BAND_HOURS
RECENT_QUESTIONS = 10
LATENCY_PRIOR = (float(np.log1p(12.0)), 2.0)  # (prior mean of ln(1 + hours), its weight in answers)
HOUR_US = 3_600e6


def _event_table(posts: QAPosts) -> pl.DataFrame:
    """Every user event with its usable moment ``ts`` (day-precision stamps moved to the end of
    their day), whether its time of day is known (``timed``) and its index among the user's events."""
    stamp = pl.col("ts")
    dated = stamp == stamp.dt.truncate("1d")
    return (posts.activity.select(
        "user_id", pl.when(dated).then(stamp + pl.duration(days=1) - pl.duration(microseconds=1)).otherwise(stamp).alias("ts"),
        (~dated).alias("timed"), stamp.dt.hour().floordiv(BAND_HOURS).cast(pl.Int32).alias("band"))
        .sort("user_id", "ts"))


def _count_before(pairs: pl.DataFrame, events: pl.DataFrame, offset: dt.timedelta | None, by: list[str]) -> np.ndarray:
    """For each row of ``pairs`` (``by`` columns and moment ``t``): the events of the same ``by``
    strictly before ``t − offset`` (``offset`` None: before ``t``)."""
    ranked = events.sort(*by, "ts").with_columns(pl.int_range(1, pl.len() + 1).over(by).alias("_n"))
    probe = pairs.with_row_index("_row").with_columns(
        (pl.col("t") - offset if offset is not None else pl.col("t")).alias("ts")).sort("ts")
    joined = probe.join_asof(ranked.select(*by, "ts", "_n").sort("ts"), on="ts", by=by, strategy="backward",
                             allow_exact_matches=False,
                             check_sortedness=False)
    return joined.sort("_row")["_n"].fill_null(0).cast(pl.Float64).to_numpy()


def _last_before(pairs: pl.DataFrame, events: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """For each row of ``pairs`` (user_id, t): ``columns`` of the user's last event strictly before t."""
    probe = pairs.with_row_index("_row").with_columns(pl.col("t").alias("ts")).sort("ts")
    taken = events.select("user_id", "ts", *[pl.col(c).alias(f"_{c}") for c in columns]).sort("ts")
    joined = probe.join_asof(taken, on="ts", by="user_id", strategy="backward", allow_exact_matches=False,
                             check_sortedness=False)
    return joined.sort("_row").select(pl.col(f"_{c}").alias(c) for c in columns)


def availability_features(posts: QAPosts, users: np.ndarray, moments: list[dt.datetime]) -> np.ndarray:
    """Questions × users × :data:`AVAILABILITY` (module docstring) for questions posted at
    ``moments``, from each user's events strictly before the question's moment."""
    n_q, n_u = len(moments), len(users)
    out = np.zeros((n_q, n_u, len(AVAILABILITY)), dtype=np.float64)
    if n_q == 0 or n_u == 0:
        return out
    col = {name: i for i, name in enumerate(AVAILABILITY)}
    dtype = posts.activity.schema["ts"]
    t = pl.Series("t", moments).cast(dtype)
    pairs = pl.DataFrame({"q": np.repeat(np.arange(n_q), n_u), "user_id": np.tile(np.asarray(users, dtype=np.int64), n_q),
                          "t": np.repeat(t.to_numpy(), n_u)}).with_columns(pl.col("t").cast(dtype))
    shape = (n_q, n_u)

    events = _event_table(posts)
    last = _last_before(pairs, events, ["ts"]).rename({"ts": "last"})
    hours = ((pairs["t"] - last["last"]).dt.total_microseconds().cast(pl.Float64) / HOUR_US).fill_null(CAP_HOURS)
    out[..., col["since_event_log"]] = np.log1p(np.minimum(hours.to_numpy(), CAP_HOURS)).reshape(shape)
    before = _count_before(pairs, events, None, ["user_id"])
    out[..., col["online_2h"]] = (before - _count_before(pairs, events, dt.timedelta(hours=2), ["user_id"]) > 0).reshape(shape)

    timed = events.filter("timed").select("user_id", "band", "ts")
    band_pairs = pairs.with_columns(pl.col("t").dt.hour().floordiv(BAND_HOURS).cast(pl.Int32).alias("band"))
    in_band = _count_before(band_pairs, timed, None, ["user_id", "band"])
    all_timed = _count_before(pairs, timed, None, ["user_id"])
    out[..., col["hour_share"]] = (BANDS * (in_band + 1.0) / (all_timed + BANDS)).reshape(shape)

    questions = posts.questions.select("question_id", pl.col("created_at").alias("q_at"))
    answers = (posts.answers.filter(pl.col("user_id").is_not_null())
               .join(questions, on="question_id", how="left", maintain_order="left")
               .select("user_id", "question_id", pl.col("created_at").alias("ts"),
                       (pl.col("created_at") - pl.col("q_at")).dt.total_microseconds()
                       .cast(pl.Float64).truediv(HOUR_US).clip(lower_bound=0.0).log1p().fill_null(LATENCY_PRIOR[0])
                       .alias("latency"))
               .sort("user_id", "ts")
               .with_columns(pl.col("latency").cum_sum().over("user_id").alias("latency_sum")))
    last_answer = _last_before(pairs, answers, ["ts", "latency_sum"])
    hours = ((pairs["t"] - last_answer["ts"]).dt.total_microseconds().cast(pl.Float64) / HOUR_US).fill_null(CAP_HOURS)
    out[..., col["since_answer_log"]] = np.log1p(np.minimum(hours.to_numpy(), CAP_HOURS)).reshape(shape)
    n_answers = _count_before(pairs, answers, None, ["user_id"])
    out[..., col["answers_1d"]] = np.log1p(n_answers - _count_before(pairs, answers, dt.timedelta(days=1), ["user_id"])).reshape(shape)
    out[..., col["answers_3d"]] = np.log1p(n_answers - _count_before(pairs, answers, dt.timedelta(days=3), ["user_id"])).reshape(shape)
    mean, weight = LATENCY_PRIOR
    total = last_answer["latency_sum"].fill_null(0.0).to_numpy()
    out[..., col["answer_latency"]] = ((total + mean * weight) / (n_answers + weight)).reshape(shape)

    out[..., col["recent_questions"]] = np.log1p(_recent_answered(posts, answers, users, t)).reshape(shape)
    return out


def _recent_answered(posts: QAPosts, answers: pl.DataFrame, users: np.ndarray, t: pl.Series) -> np.ndarray:
    """Questions × users: how many of the RECENT_QUESTIONS questions posted last before each
    moment the user answered before it."""
    stamps = posts.questions["created_at"].cast(t.dtype)
    ids = posts.questions["question_id"].to_numpy()
    ends = np.searchsorted(stamps.to_numpy(), t.to_numpy(), side="left")  # questions strictly before t
    rows = [(q, int(ids[i])) for q, end in enumerate(ends) for i in range(max(0, end - RECENT_QUESTIONS), end)]
    out = np.zeros((len(t), len(users)))
    if not rows:
        return out
    recent = pl.DataFrame(rows, schema={"q": pl.Int64, "question_id": pl.Int64}, orient="row")
    recent = recent.with_columns(t.gather(recent["q"]).alias("t"))
    hit = (recent.join(answers.select("question_id", "user_id", "ts"), on="question_id", how="inner")
           .filter(pl.col("ts") < pl.col("t")).group_by("q", "user_id").agg(pl.col("question_id").n_unique().alias("n")))
    col = np.searchsorted(users, hit["user_id"].to_numpy())
    found = (col < len(users)) & (users[np.minimum(col, len(users) - 1)] == hit["user_id"].to_numpy())
    out[hit["q"].to_numpy()[found], col[found]] = hit["n"].to_numpy()[found]
    return out
