"""Availability features (is this person around when the question arrives?): each one worked out
by hand on a small community, day-stamped events counted from the end of their day, nothing at or
after the question's moment read, and a router fitted with them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from conftest import SAMPLE_DATA, qa_posts_of
from engine.community.route import SHIPPED_FEATURES, fit_router, route
from engine.community.route_availability import AVAILABILITY, CAP_HOURS, availability_features
from engine.community.route_eval import cut_at
from engine.community.route_features import QAPosts, profiles_at
from engine.errors import EngineError

QC_SAMPLE = SAMPLE_DATA / "stackexchange" / "quantumcomputing"
D = dt.datetime


def community() -> QAPosts:
    """Three questions; user 20 answers two of them, 21 one, 22 only favourites (a day stamp)."""
    questions = pl.DataFrame({"question_id": [1, 2, 3], "user_id": [10, 11, 10],
                              "created_at": [D(2024, 1, 1, 10), D(2024, 1, 2, 9), D(2024, 1, 3, 12)],
                              "tags": [["a"], ["b"], ["a"]], "tokens": [["x"], ["y"], ["x"]]})
    answers = pl.DataFrame({"answer_id": [4, 5, 6], "question_id": [1, 2, 2], "user_id": [20, 20, 21],
                            "created_at": [D(2024, 1, 1, 12), D(2024, 1, 2, 10), D(2024, 1, 2, 20)],
                            "accepted": [True, False, False], "score": [1.0, 0.0, 0.0], "tokens": [["x"], ["y"], ["y"]]})
    activity = pl.DataFrame({"user_id": [10, 11, 10, 20, 20, 21, 22],
                             "ts": [D(2024, 1, 1, 10), D(2024, 1, 2, 9), D(2024, 1, 3, 12), D(2024, 1, 1, 12),
                                    D(2024, 1, 2, 10), D(2024, 1, 2, 20), D(2024, 1, 2)]})
    return QAPosts(questions, answers, activity, has_bodies=False)


def features_at(posts: QAPosts, users: list[int], moment: dt.datetime) -> dict[int, dict[str, float]]:
    x = availability_features(posts, np.asarray(users), [moment])[0]
    return {u: dict(zip(AVAILABILITY, x[i].tolist(), strict=True)) for i, u in enumerate(users)}


def test_each_feature_is_what_the_users_events_before_the_moment_say():
    f = features_at(community(), [20, 21, 22, 30], D(2024, 1, 3, 11))
    busy = f[20]  # answered at 01-01 12:00 (2 h after the question) and 01-02 10:00 (1 h after)
    assert busy["since_event_log"] == pytest.approx(np.log1p(25.0)) and busy["since_answer_log"] == pytest.approx(np.log1p(25.0))
    assert busy["answers_1d"] == 0.0 and busy["answers_3d"] == pytest.approx(np.log(3.0)) and busy["online_2h"] == 0.0
    assert busy["hour_share"] == pytest.approx(8 * (1 + 1) / (2 + 8))  # one of two timed events in 09–12 h
    assert busy["recent_questions"] == pytest.approx(np.log(3.0))  # both questions before 11:00; q3 at 12:00 is not
    assert busy["answer_latency"] == pytest.approx((np.log(3.0) + np.log(2.0) + 2 * np.log(13.0)) / 4)
    assert f[21]["answers_1d"] == pytest.approx(np.log(2.0)) and f[21]["since_answer_log"] == pytest.approx(np.log1p(15.0))
    stranger = f[30]  # no events at all
    assert stranger["since_event_log"] == pytest.approx(np.log1p(CAP_HOURS)) and stranger["answers_3d"] == 0.0
    assert stranger["hour_share"] == 1.0 and stranger["answer_latency"] == pytest.approx(np.log(13.0))


def test_a_day_stamped_event_counts_from_the_end_of_its_day():
    posts = community()  # user 22's favourite is stamped 2024-01-02 00:00: a date, not a time
    assert features_at(posts, [22], D(2024, 1, 2, 12))[22]["since_event_log"] == pytest.approx(np.log1p(CAP_HOURS))
    late = features_at(posts, [22], D(2024, 1, 3, 1))[22]
    assert late["since_event_log"] == pytest.approx(np.log1p(1.0), abs=1e-6) and late["online_2h"] == 1.0
    assert late["hour_share"] == 1.0  # no timed event: no time-of-day preference


@pytest.fixture(scope="module")
def qc(tmp_path_factory) -> QAPosts:
    return qa_posts_of(QC_SAMPLE, tmp_path_factory.mktemp("route_availability") / "qc", texts=False)


@pytest.mark.skipif(not QC_SAMPLE.exists(), reason="sample Stack Exchange dump not present")
def test_nothing_at_or_after_the_moment_is_read(qc):
    cut = cut_at(qc, 0.67)
    later = qc.questions.filter(pl.col("created_at") >= cut)["created_at"].to_list()[:5]
    users = np.sort(qc.activity["user_id"].unique().to_numpy())[:300]
    for moment in later:
        past = QAPosts(qc.questions.filter(pl.col("created_at") < moment),
                       qc.answers.filter(pl.col("created_at") < moment),
                       qc.activity.filter(pl.col("ts") < moment), qc.has_bodies)
        assert np.array_equal(availability_features(qc, users, [moment]), availability_features(past, users, [moment]))
    both = availability_features(qc, users, later[:2])
    assert np.array_equal(both[1], availability_features(qc, users, [later[1]])[0])  # a batch is its questions one by one


@pytest.mark.skipif(not QC_SAMPLE.exists(), reason="sample Stack Exchange dump not present")
def test_a_router_fitted_with_them_weighs_them_and_the_shipped_one_does_not(qc):
    cut = cut_at(qc, 0.67)
    with_them = fit_router(qc, cut, features=SHIPPED_FEATURES + AVAILABILITY, seed=0)
    shipped = fit_router(qc, cut, seed=0)
    weight = lambda m: dict(zip(m.features, m.weights.tolist(), strict=True))
    assert weight(with_them)["since_answer_log"] < 0  # the longer since their last answer, the less likely now
    assert all(weight(shipped)[name] == 0.0 for name in AVAILABILITY)
    assert with_them.uses_availability and not shipped.uses_availability
    profiles = profiles_at(qc, cut)
    with pytest.raises(EngineError, match="weighs availability"):
        route(with_them, profiles, ["qiskit"], ["qiskit"], k=3)
    now = availability_features(qc, profiles.users, [cut])[0]
    got = route(with_them, profiles, ["qiskit"], ["qiskit"], k=3, availability=now)
    assert len(got) == 3 and got[0].score >= got[1].score >= got[2].score
