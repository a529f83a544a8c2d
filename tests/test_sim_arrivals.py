"""A growing catalog: items arrive during a run at the calibrated rate and are never shown before
they have; new questions are asked and answered; a world that does not grow runs as it did."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import SAMPLE_DATA

from engine.simulate.arrivals import NEVER_ARRIVES, draw_new_items
from engine.simulate.levers import Levers, Membership, Money, Settings, Tier
from engine.simulate.policies import PolicySpec
from engine.simulate.run import Simulation, simulate
from engine.simulate.world import ItemArrivals, World, toy_world, uniform_segments

RATES = {"article": 0.5, "course": 2.0}
BUSY = uniform_segments(("a", "b"), visit_mean=[0.3, 0.5], attention=1.0, buy_intercept=-1.0, contribute=[0.2, 0.4])


def growing_world(rates: dict[str, float] = RATES, users: int = 400, items: int = 60, **kinds_by_index) -> World:
    """A toy world whose catalog grows by ``rates`` items a day of each kind."""
    world = toy_world(users, items, segments=BUSY, seed=2)
    return dataclasses.replace(world, item_arrivals=ItemArrivals.resampling(world.catalog, rates))


def qa_world(contribute: float = 0.4) -> World:
    """A community of questions (every other item) and articles; 3 new questions and 1 article a day."""
    world = toy_world(600, 60, segments=uniform_segments(visit_mean=0.4, attention=1.0, contribute=contribute), seed=4)
    catalog = dataclasses.replace(world.catalog, kind=np.where(np.arange(60) % 2 == 0, "question", "article"))
    return dataclasses.replace(world, catalog=catalog,
                               item_arrivals=ItemArrivals.resampling(catalog, {"question": 3.0, "article": 1.0}))


def test_items_of_each_kind_arrive_at_their_calibrated_rate():
    world, days, replicates = growing_world(), 60, 40
    new = draw_new_items(world.item_arrivals, world.catalog, replicates, days, seed=5)
    kinds = world.catalog.kind[new.template]
    for kind, rate in RATES.items():
        arrived = ((new.arrival < days) & (kinds == kind)[None, :]).sum(axis=1)  # per replicate
        se = np.sqrt(rate * days / replicates)
        assert abs(arrived.mean() - rate * days) < 4 * se, kind
    assert set(kinds) == set(RATES) and (new.arrival[new.arrival < NEVER_ARRIVES] < days).all()
    result = simulate(world, PolicySpec("random"), Levers(), Settings(days=days, replicates=8, seed=5, device="cpu"))
    drawn = draw_new_items(world.item_arrivals, world.catalog, 8, days, seed=5)
    assert result.totals("new_items").tolist() == (drawn.arrival < days).sum(axis=1).tolist()


def test_the_same_seed_draws_the_same_arrivals_and_another_seed_others():
    world = growing_world()
    a, b = (draw_new_items(world.item_arrivals, world.catalog, 4, 30, seed=1) for _ in range(2))
    other = draw_new_items(world.item_arrivals, world.catalog, 4, 30, seed=2)
    assert np.array_equal(a.arrival, b.arrival) and np.array_equal(a.template, b.template)
    assert not np.array_equal(a.arrival, other.arrival[:, :a.slots]) or a.slots != other.slots
    longer = draw_new_items(world.item_arrivals, world.catalog, 4, 45, seed=1)
    assert (longer.arrival < 30).sum() == (a.arrival < 30).sum()  # a longer run starts with the same days


@pytest.mark.parametrize("policy", ["organic", "random", "popularity"])
def test_no_item_is_shown_or_opened_before_it_arrives(policy):
    world, days = growing_world({"article": 3.0, "course": 3.0}, items=30), 12
    sim = Simulation(world, PolicySpec(policy), Levers(), Settings(days=days, replicates=3, seed=7, slate_size=8,
                                                                   device="cpu"))
    m0, arrival = world.catalog.size, sim.new_items.arrival
    shown = []
    choose = sim._recommend_and_choose

    def recorded(*args):
        out = choose(*args)
        shown.append(out[1])  # the day's impressions per (replicate, item)
        return out

    sim._recommend_and_choose = recorded  # type: ignore[method-assign]
    views_before = np.zeros_like(arrival)
    for day in range(days):
        sim.step(day)
        impressions = shown[-1][:, m0:].numpy()
        views = sim.item_views.view(3, -1)[:, m0:].numpy()
        hidden = arrival > day
        assert impressions[hidden].sum() == 0 and views[hidden].sum() == 0, day
        views_before = views
    assert views_before[arrival < days].sum() > 0 or policy == "popularity"  # arrived items are opened


def test_coverage_counts_the_items_available_that_day():
    # a slate larger than the catalog: every visitor is shown every item it holds that day
    world = toy_world(300, 8, segments=uniform_segments(visit_mean=0.9), new_items_per_day=1.0, seed=3)
    result = simulate(world, PolicySpec("organic"), Levers(), Settings(days=10, replicates=2, seed=1, slate_size=40,
                                                                       device="cpu"))
    assert result.new_items.slots > 0
    assert np.array_equal(result.series("coverage"), np.ones((10, 2)))


def test_a_world_that_does_not_grow_gives_the_numbers_it_gave_before_arrivals_existed():
    # sums of daily KPIs these runs gave before the catalog could grow (and a rate of 0 is no growth);
    # gross as per-replicate segment sums give it (a running sum over all rows differed in the last bits)
    segs = uniform_segments(("a", "b"), visit_mean=[0.15, 0.3], visit_concentration=8.0, churn_mean=0.003,
                            churn_concentration=4.0, attention=0.5, buy_intercept=-2.0, refund=0.05, subscribe=0.005,
                            cancel=0.1, contribute=0.05)
    levers = Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                    money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))
    full = simulate(toy_world(3000, 300, segments=segs, seed=1), PolicySpec("popularity"), levers,
                    Settings(days=20, replicates=3, seed=2, device="cpu"))
    world = toy_world(2000, 200, segments=segs, seed=3)
    still = dataclasses.replace(world, item_arrivals=ItemArrivals.resampling(world.catalog, {"course": 0.0}))
    organic = simulate(still, PolicySpec("organic"), levers, Settings(days=15, replicates=2, seed=1, device="cpu"))
    before = {"full": {"dau": 39265.0, "views": 55424.0, "gross": 38836.219999999994, "coverage": 2.3966666666666674,
                       "satisfaction": -4.19797693686058, "homogenisation": 13.845037931711456, "mrr": 31995.0},
              "organic": {"dau": 13283.0, "views": 19993.0, "gross": 35674.96399999999, "coverage": 29.985,
                          "satisfaction": -0.1155745465811839, "homogenisation": 0.6804614708075585, "mrr": 7680.0}}
    for name, result in (("full", full), ("organic", organic)):
        assert {m: float(result.series(m).sum()) for m in before[name]} == before[name], name
        assert result.new_items.slots == 0 and not result.series("questions_asked").any()


def test_a_saved_world_keeps_its_arrival_model_and_a_file_saved_before_loads_without_one(tmp_path):
    world = qa_world()
    world.save(tmp_path / "w.npz")
    back = World.load(tmp_path / "w.npz")
    assert back.item_arrivals.kinds == ("article", "question")
    assert np.array_equal(back.item_arrivals.per_day, world.item_arrivals.per_day)
    assert np.array_equal(back.item_arrivals.pool, world.item_arrivals.pool)
    with np.load(tmp_path / "w.npz") as data:  # the file as it was written before item arrivals
        old = {k: data[k] for k in data.files if not k.startswith("arrivals.")}
        meta = json.loads(str(data["meta"]))
    del meta["arrival_kinds"]
    old["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(tmp_path / "old.npz", **old)
    loaded = World.load(tmp_path / "old.npz")
    assert loaded.item_arrivals.kinds == () and loaded.catalog.size == world.catalog.size
    run = lambda w: simulate(w, PolicySpec("random"), Levers(), Settings(days=5, replicates=2, seed=0, device="cpu"))
    assert run(loaded).new_items.slots == 0


def test_new_questions_are_asked_by_contributors_and_answered_on_a_later_or_the_same_day():
    days = 30
    sim = Simulation(qa_world(), PolicySpec("organic"), Levers(), Settings(days=days, replicates=3, seed=2,
                                                                             device="cpu"))
    for day in range(days):
        before = sim.agents.contributions.clone()
        kpis = sim.step(day)
        contributed = (sim.agents.contributions - before).numpy() > 0
        q = sim.questions
        today = (q.asked == day).numpy()
        askers = q.asker.numpy()[today]
        assert contributed[askers[askers >= 0]].all()  # an asker contributed that day
        assert kpis["questions_asked"].tolist() == today.sum(axis=1).tolist()
    q = sim.questions
    asked, first = q.asked.numpy(), q.first_answer.numpy()
    answered = first >= 0
    assert (asked < days).sum() > 150 and answered.sum() > 0
    assert (first[answered] >= asked[answered]).all() and (asked[~(asked < days)] == NEVER_ARRIVES).all()
    final = {k: float(v) for k, v in zip(("rate", "wait"), (kpis["answer_rate"][0], kpis["time_to_first_answer"][0]),
                                         strict=True)}
    assert final["rate"] == pytest.approx(answered[0].sum() / (asked[0] < days).sum())
    assert final["wait"] == pytest.approx((first[0] - asked[0])[answered[0]].mean())


def test_without_contributors_nobody_asks_or_answers():
    result = simulate(qa_world(contribute=0.0), PolicySpec("organic"), Levers(),
                      Settings(days=10, replicates=2, seed=0, device="cpu"))
    assert result.totals("questions_asked").min() > 0  # questions still arrive (asked from outside)
    assert not result.totals("answer_rate").any() and not result.totals("time_to_first_answer").any()


QC = SAMPLE_DATA / "stackexchange" / "quantumcomputing"


@pytest.mark.slow
@pytest.mark.skipif(not QC.exists(), reason="sample Stack Exchange dump not present")
def test_a_backtest_on_the_quantum_computing_dump_sets_simulated_answers_next_to_the_real_ones(tmp_path):
    import datetime as dt

    import polars as pl

    from engine.data.stackexchange import import_dump
    from engine.simulate.backtest import run_backtest

    import_dump(QC, tmp_path)
    users, items, events = (pl.read_parquet(tmp_path / f"{t}.parquet") for t in ("users", "items", "events"))
    bt = run_backtest(users, items, events, 0.67, settings=Settings(replicates=2, seed=1, device="cpu"))
    community = bt.as_dict()["community"]
    # the actual figures from the dump's own answer times: questions created in the horizon
    start = dt.datetime.fromisoformat(bt.cut)
    end = start + dt.timedelta(days=len(bt.actual_actives))
    q = items.filter((pl.col("kind") == "question") & (pl.col("created_at") >= start) & (pl.col("created_at") < end))
    answered = q.filter(pl.col("first_answer_at") < end)
    waits = (answered["first_answer_at"].dt.date() - answered["created_at"].dt.date()).dt.total_days()
    assert community["questions_asked"]["actual"] == q.height
    assert community["answer_rate"]["actual"] == pytest.approx(answered.height / q.height)
    assert community["time_to_first_answer"]["actual"] == pytest.approx(waits.mean())
    for name in ("questions_asked", "answer_rate", "time_to_first_answer"):
        sim = community[name]
        assert sim["low"] <= sim["simulated"] <= sim["high"]
    assert community["questions_asked"]["simulated"] > 0 and 0 < community["answer_rate"]["simulated"] <= 1
    rate = bt.calibration.world.item_arrivals.table()["question"]
    assert community["questions_asked"]["simulated"] == pytest.approx(rate * len(bt.actual_actives), rel=0.25)
