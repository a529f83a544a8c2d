"""Simulated questions are answered the way the data says: contributors go to the newest open
questions with weight exp(−age/τ), τ and the share of such answers fitted on the data's answer ages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from engine.simulate.calibrate import _answering
from engine.simulate.levers import Levers, Settings
from engine.simulate.policies import PolicySpec
from engine.simulate.questions import fit_answering
from engine.simulate.run import Simulation
from engine.simulate.world import Answering, ItemArrivals, World, toy_world, uniform_segments


def planted_community(tau: float, boost: float, days: int = 500, window: int = 30, seed: int = 0):
    """Questions asked at 4 a day; each day ~6 answers pick an open question (asked in the last
    ``window`` days) with weight exp(−age/τ)·boost if it had no answer at the start of the day,
    and 1 in 5 more go to an older question: the questions' days, and each answer's question and day."""
    rng = np.random.default_rng(seed)
    asked = np.repeat(np.arange(days), rng.poisson(4.0, days))
    answered = np.zeros(len(asked), dtype=bool)
    of, on = [], []
    for t in range(days):
        open_ = np.flatnonzero((asked <= t) & (asked > t - window))
        old = np.flatnonzero(asked <= t - window)
        w = np.exp(-(t - asked[open_]) / tau) * np.where(answered[open_], 1.0, boost)
        picks = rng.choice(open_, size=rng.poisson(6.0), p=w / w.sum()) if len(open_) else np.zeros(0, dtype=int)
        late = rng.choice(old, size=rng.poisson(1.5)) if len(old) else np.zeros(0, dtype=int)
        answered[picks] = True
        of += [*picks, *late]
        on += [t] * (len(picks) + len(late))
    return asked, np.asarray(of), np.asarray(on)


@pytest.mark.parametrize(("tau", "boost"), [(0.5, 1.0), (2.5, 1.0), (8.0, 1.0), (2.5, 4.0)])
def test_tau_and_the_unanswered_boost_are_recovered_from_planted_answers(tau, boost):
    asked, of, on = planted_community(tau, boost)
    fit = fit_answering(asked, of, on, window=30)
    assert fit.tau_days == pytest.approx(tau, rel=0.1)
    assert fit.unanswered_boost == pytest.approx(boost, rel=0.15)
    young = (on - asked[of]) < 30
    assert fit.fresh_share == pytest.approx(young.mean()) and 0.7 < fit.fresh_share < 0.9 and fit.window_days == 30


def test_answers_the_day_of_asking_or_none_give_bounded_parameters():
    asked = np.arange(50)
    same_day = fit_answering(asked, np.arange(50), asked)  # every answer the day its question was asked
    # today's question (unanswered) outweighs yesterday's (answered) by the bounds' thousands
    assert np.exp(1 / same_day.tau_days) * same_day.unanswered_boost >= 1e3 and same_day.fresh_share == 1.0
    assert 1e-3 <= same_day.tau_days <= 1e6 and 1e-4 <= same_day.unanswered_boost <= 1e4 * (1 + 1e-9)
    assert fit_answering(asked, np.array([3, 4]), np.array([1, 400])) == Answering(fresh_share=0.0, window_days=30)
    assert fit_answering(asked, np.zeros(0), np.zeros(0)) == Answering()


def test_calibration_reads_answer_ages_from_question_creation_to_each_answer():
    day = lambda d: dt.datetime(2026, 1, d, 15)
    items = pl.DataFrame({"item_id": ["q1", "q2", "a"], "kind": ["question", "question", "article"],
                          "created_at": [day(1), day(3), day(1)]})
    ev = pl.DataFrame({"item_id": ["q1", "q1", "q2", "q2", "a"], "kind": ["answer", "answer", "answer", "view", "answer"],
                       "day": [0, 40, 3, 2, 1]})
    fit = _answering(items.with_columns(pl.col("created_at").cast(pl.Datetime("us"))), ev, dt.date(2026, 1, 1), dt.date(2026, 3, 1))
    # q1: ages 0 and 40, q2: age 1; the article's and the view's are not answers to questions
    assert fit.fresh_share == pytest.approx(2 / 3) and fit.tau_days > 0 and fit.unanswered_boost > 0


def qa_world(answering: Answering) -> World:
    """Questions (every other item) and articles; 3 new questions a day, few contributors."""
    world = toy_world(600, 60, segments=uniform_segments(visit_mean=0.4, attention=1.0, contribute=0.03), seed=4)
    catalog = dataclasses.replace(world.catalog, kind=np.where(np.arange(60) % 2 == 0, "question", "article"))
    return dataclasses.replace(world, catalog=catalog, answering=answering,
                               item_arrivals=ItemArrivals.resampling(catalog, {"question": 3.0, "article": 1.0}))


def run(world: World, days: int = 40, window: range | None = None) -> Simulation:
    sim = Simulation(world, PolicySpec("organic"), Levers(), Settings(days=days, replicates=3, seed=2, device="cpu"),
                     window=window)
    for day in range(days):
        sim.step(day)
    return sim


def test_answers_go_to_younger_questions_and_reach_more_of_them():
    days = 40
    today, fresh = run(qa_world(Answering()), days), run(qa_world(Answering(fresh_share=1.0, tau_days=1.0)), days)
    waits, rates = {}, {}
    for name, sim in (("today", today), ("fresh", fresh)):
        q = sim.questions
        asked, first = q.asked.numpy(), q.first_answer.numpy()
        answered = first >= 0
        assert (first[answered] >= asked[answered]).all()
        waits[name] = (first - asked)[answered].mean()
        rates[name] = answered.sum() / (asked < days).sum()
    assert waits["fresh"] < waits["today"] / 2 and rates["fresh"] > rates["today"] + 0.2
    # a young question is answered more often: the share answered within 2 days of asking
    q = fresh.questions
    soon = ((q.first_answer >= 0) & (q.first_answer - q.asked <= 2)).sum() / (q.asked < days - 2).sum()
    q0 = today.questions
    soon0 = ((q0.first_answer >= 0) & (q0.first_answer - q0.asked <= 2)).sum() / (q0.asked < days - 2).sum()
    assert float(soon) > float(soon0) + 0.2


def test_fresh_answers_never_go_to_a_question_older_than_the_window_or_not_yet_asked():
    days = 30
    sim = run(qa_world(Answering(fresh_share=1.0, tau_days=1e6, window_days=3)), days)
    q = sim.questions
    answered = q.first_answer >= 0
    wait = (q.first_answer - q.asked)[answered]
    # few contributors click new questions, so first answers all come from the fresh draw
    assert (wait >= 0).all() and float((wait < 3).float().mean()) > 0.95


def test_the_same_seed_gives_the_same_answers_and_a_window_of_replicates_the_whole_runs():
    world = qa_world(Answering(fresh_share=0.7, tau_days=2.0))
    a, b = run(world, 15), run(world, 15)
    assert np.array_equal(a.questions.first_answer.numpy(), b.questions.first_answer.numpy())
    part = run(world, 15, window=range(1, 3))
    assert np.array_equal(part.questions.first_answer.numpy(), a.questions.first_answer.numpy()[1:3])


def test_a_saved_world_keeps_its_answering_model_and_one_saved_before_answers_the_first_question_opened(tmp_path):
    world = qa_world(Answering(fresh_share=0.8, tau_days=0.7, unanswered_boost=3.0, window_days=20))
    world.save(tmp_path / "w.npz")
    assert World.load(tmp_path / "w.npz").answering == world.answering
    with np.load(tmp_path / "w.npz") as data:
        old = {k: data[k] for k in data.files}
        meta = json.loads(str(data["meta"]))
    del meta["answering"]
    old["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(tmp_path / "old.npz", **old)
    loaded = World.load(tmp_path / "old.npz")
    assert loaded.answering == Answering()
    assert np.array_equal(run(loaded, 10).questions.first_answer.numpy(),
                          run(dataclasses.replace(world, answering=Answering()), 10).questions.first_answer.numpy())
