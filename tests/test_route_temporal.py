"""Routing evaluation at each question's moment: no test question sees itself or anything after
it, the baselines move with the router, and the frozen protocol still gives its first figures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from conftest import SAMPLE_DATA, qa_posts_of
from engine.community.route import SHIPPED_FEATURES, fit_router
from engine.community.route_eval import (
    ScoreTables, cut_at, evaluate_routing, featuring_moments, relevant_ranks, score_tables,
)
from engine.community.route_features import QAPosts, active_users

QC_SAMPLE = SAMPLE_DATA / "stackexchange" / "quantumcomputing"
#: The features of the router first shipped (before answers_7, answer_rate, tag_recent_share, and
#: while the hybrid's column was an empty slot).
FIRST_FEATURES = tuple(f for f in SHIPPED_FEATURES if f not in ("answers_7", "answer_rate", "tag_recent_share"))


@pytest.fixture(scope="module")
def qc(tmp_path_factory) -> QAPosts:
    return qa_posts_of(QC_SAMPLE, tmp_path_factory.mktemp("route_temporal") / "qc", texts=False)


def answered_after(posts: QAPosts, cut: dt.datetime) -> pl.DataFrame:
    """The questions posted at or after the cut that got an answer, in posting order."""
    answered = posts.answers.select("question_id").unique()
    return posts.questions.filter(pl.col("created_at") >= cut).join(answered, on="question_id",
                                                                    maintain_order="left")


def before(posts: QAPosts, moment: dt.datetime) -> QAPosts:
    """The posts as they stood just before ``moment``: nothing at or after it exists."""
    return QAPosts(posts.questions.filter(pl.col("created_at") < moment),
                   posts.answers.filter(pl.col("created_at") < moment),
                   posts.activity.filter(pl.col("ts") < moment), posts.has_bodies)


@pytest.mark.parametrize("profiles", ["question", "day"])
def test_no_test_question_sees_its_own_answers_or_anything_at_or_after_its_posting(qc, profiles):
    cut = cut_at(qc, 0.67)
    test = answered_after(qc, cut)
    model = fit_router(qc, cut, seed=0)
    moments = featuring_moments(test, cut, profiles)
    stamps = test["created_at"].to_list()
    for at, rows in moments:
        assert all(cut <= at <= stamps[q] for q in rows)
        if profiles == "question":
            assert all(at == stamps[q] for q in rows)
        else:
            assert at == cut or (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0)
    assert sorted(np.concatenate([rows for _, rows in moments]).tolist()) == list(range(test.height))
    candidates = active_users(qc, cut)
    full = score_tables(model, qc, test, candidates, moments)
    # the questions answered soonest after their posting, and the last one (the most history after the cut)
    first_answer = qc.answers.group_by("question_id").agg(pl.col("created_at").min().alias("answered"))
    soonest = (test.with_row_index("q").join(first_answer, on="question_id", maintain_order="left")
               .sort(pl.col("answered") - pl.col("created_at"))["q"].head(4).to_list())
    for at, rows in moments:
        picked = [q for q in rows if q in soonest or q == test.height - 1]
        if not picked:
            continue
        own = score_tables(model, before(qc, at), test[picked], candidates, [(at, np.arange(len(picked)))])
        for name, (primary, secondary) in full.scores.items():
            assert np.array_equal(primary[picked], own.scores[name][0]), (name, at)
            assert np.array_equal(secondary[picked], own.scores[name][1]), (name, at)


def test_question_profiles_let_every_baseline_see_the_answers_given_since_the_cut(qc):
    cut = cut_at(qc, 0.67)
    frozen = evaluate_routing(qc, cut, profiles="cut", bootstrap=200)
    live = evaluate_routing(qc, cut, profiles="question", bootstrap=200)
    assert frozen.profiles == "cut" and live.profiles == "question" and live.as_dict()["profiles"] == "question"
    assert live.questions == frozen.questions == 130 and live.candidates == frozen.candidates == 448
    assert live.unreachable == frozen.unreachable == 14  # the same candidates: the same ceiling
    # MostPop counts the answers up to each question: measured 0.677 → 0.708 (Hit@10), as in docs/community.md
    assert frozen.baselines["mostpop"]["hit@10"] == pytest.approx(0.6769, abs=1e-4)
    assert live.baselines["mostpop"]["hit@10"] == pytest.approx(0.7077, abs=1e-4)
    assert live.router["hit@10"] > frozen.router["hit@10"]
    assert live.router["hit@10"] > live.baselines["mostpop"]["hit@10"] + 0.05
    assert live.differences["mostpop"]["hit@10"][1] > 0


def test_the_frozen_protocol_with_the_first_features_gives_the_first_published_figures(qc):
    ev = evaluate_routing(qc, cut_at(qc, 0.67), profiles="cut", features=FIRST_FEATURES, bootstrap=200)
    got = {m: round(v, 3) for m, v in ev.router.items()}
    assert got == {"hit@1": 0.346, "hit@5": 0.677, "hit@10": 0.731, "mrr": 0.491, "ndcg@10": 0.440}


def test_candidates_active_before_the_question_include_newcomers_since_the_cut(qc):
    cut = cut_at(qc, 0.67)
    ev = evaluate_routing(qc, cut, candidates="question", bootstrap=200)
    assert ev.candidate_set == "question" and ev.candidates > 448
    assert ev.unreachable == 5  # of 130 (14 with the cut's candidates): answered only by people first seen after it
    tables = score_tables(fit_router(qc, cut), qc, answered_after(qc, cut), active_users(qc, qc.span[1]),
                          featuring_moments(answered_after(qc, cut), cut, "question"))
    late = ~tables.seen
    assert late.any() and np.isneginf(tables.scores["router"][0][late]).all()


def test_a_user_not_yet_seen_is_never_relevant_and_ties_can_break_per_question():
    tables = ScoreTables(np.array([3, 5, 9]), np.array([[True, True, False], [True, True, True]]), {})
    assert [r.tolist() for r in tables.relevant([[9, 5], [9, 7]])] == [[1], [2]]
    scores = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    ties = np.array([[0.0, 2.0, 0.0], [2.0, 0.0, 0.0]])
    assert [r.tolist() for r in relevant_ranks(scores, [np.array([0]), np.array([0])], ties)] == [[2], [1]]


def test_unknown_protocols_are_refused(qc):
    from engine.errors import EngineError

    cut = cut_at(qc, 0.67)
    with pytest.raises(EngineError, match="unknown profiles 'weekly'"):
        evaluate_routing(qc, cut, profiles="weekly")
    with pytest.raises(EngineError, match="unknown candidates 'all'"):
        evaluate_routing(qc, cut, candidates="all")
    with pytest.raises(EngineError, match="unknown featured_at 'day'"):
        fit_router(qc, cut, featured_at="day")
