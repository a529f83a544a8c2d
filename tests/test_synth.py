"""The generator is deterministic, matches the committed sample, and plants what it says."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import SAMPLE_DATA
from engine.data.synth import SynthConfig, generate


@pytest.fixture(scope="module")
def sample():
    return generate(SynthConfig())


def test_same_seed_same_data_other_seed_other_data():
    a = generate(SynthConfig(users=200, days=30, seed=1))
    b = generate(SynthConfig(users=200, days=30, seed=1))
    c = generate(SynthConfig(users=200, days=30, seed=2))
    assert a.events.equals(b.events) and a.items.equals(b.items) and a.users.equals(b.users)
    assert not a.events.equals(c.events)


def test_committed_sample_is_what_the_generator_makes(sample, tmp_path):
    sample.write(tmp_path)
    for name in ("users", "items", "events", "truth_users", "truth_items"):
        assert (tmp_path / f"{name}.csv").read_bytes() == (SAMPLE_DATA / "platform" / f"{name}.csv").read_bytes(), name


def test_views_follow_the_planted_tastes(sample):
    views = (sample.events.filter(pl.col("kind") == "view")
             .join(sample.truth_users.select("user_id", "taste"), on="user_id")
             .join(sample.truth_items.select("item_id", "topic"), on="item_id"))
    on_taste = (views["taste"] == views["topic"]).mean()
    assert on_taste > 0.6  # with 6 topics, chance would be ~0.17


def test_dearer_items_sell_less_per_view(sample):
    views = sample.events.filter(pl.col("kind") == "view").group_by("item_id").len("views")
    buys = sample.events.filter(pl.col("kind") == "purchase").group_by("item_id").len("buys")
    paid = (sample.items.filter(pl.col("price").is_not_null() & pl.col("kind").is_in(["course", "column", "live"]))
            .join(views, on="item_id").join(buys, on="item_id", how="left")
            .with_columns((pl.col("buys").fill_null(0) / pl.col("views")).alias("conversion")))
    by_price = paid.group_by("price").agg(pl.col("buys").sum() / pl.col("views").sum()).sort("price")
    rates = by_price["buys"].to_list()
    assert rates[0] > rates[-1] * 2  # 9 vs 199: planted price sensitivity


def test_segments_behave_as_planted(sample):
    ev = sample.events.join(sample.truth_users.select("user_id", "segment"), on="user_id")
    per = ev.group_by("segment").agg(
        (pl.col("kind") == "answer").sum().alias("answers"),
        (pl.col("kind") == "subscribe").sum().alias("subs"),
        pl.len().alias("events"),
    ).sort("segment")
    rows = {r["segment"]: r for r in per.to_dicts()}
    assert rows["contributor"]["answers"] > 10 * max(1, rows["learner"]["answers"])
    assert rows["member"]["subs"] > 5 * max(1, rows["learner"]["subs"])
    assert rows["casual"]["events"] < rows["learner"]["events"]


def test_heterogeneous_churn_makes_survivors_stickier():
    data = generate(SynthConfig(users=4000, days=180, seed=5, existing_share=1.0))
    truth = data.truth_users
    early = truth.filter(pl.col("churn_day").is_null() | (pl.col("churn_day") >= 60))
    late = truth.filter(pl.col("churn_day").is_null() | (pl.col("churn_day") >= 120))
    rate_early = truth.filter(pl.col("churn_day") < 60).height / truth.height / 60
    rate_late = early.filter(pl.col("churn_day") < 120).height / early.height / 60
    assert rate_late < rate_early and late["churn_hazard"].mean() < truth["churn_hazard"].mean()


def test_refuses_a_population_too_small():
    with pytest.raises(ValueError, match="at least 50 users"):
        generate(SynthConfig(users=10))
