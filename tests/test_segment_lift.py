"""Segment portraits by lift: what sets a segment apart is what its share of events most exceeds
everyone's share — checked on the generator's planted tastes and behaviour segments."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import SAMPLE_DATA

from engine.segment.lift import distinctive_values
from engine.segment.profiles import segment_profiles
from engine.segment.run import segment_users
from kpconsole.services.segment_portraits import NOTHING, portrait

PLATFORM = SAMPLE_DATA / "platform"


@pytest.fixture(scope="module")
def platform():
    events = pl.read_csv(PLATFORM / "events.csv", try_parse_dates=True)
    items = pl.read_csv(PLATFORM / "items.csv", try_parse_dates=True).with_columns(pl.col("tags").str.split("|"))
    truth = pl.read_csv(PLATFORM / "truth_users.csv")
    # the planted topic of each catalog item; a question (made during the run) is on its asker's taste: its tag
    topics = {str(i): tags[0] for i, tags in items.select("item_id", "tags").iter_rows()}
    topics |= dict(pl.read_csv(PLATFORM / "truth_items.csv").select(pl.col("item_id").cast(pl.String), "topic")
                   .iter_rows())
    return events, items, truth, topics


def _profiles_by(platform, planted: str) -> dict[str, dict]:
    """Profiles of the segments made of the users sharing one planted ``taste`` or ``segment``."""
    events, items, truth, _ = platform
    names = sorted(truth[planted].unique().to_list())
    assigned = truth.select("user_id", pl.col(planted).alias("segment")).with_columns(
        pl.col("segment").replace_strict({n: i + 1 for i, n in enumerate(names)}, return_dtype=pl.Int64)
        .alias("segment_id"))
    features = events.group_by("user_id").agg(pl.len().alias("events"), pl.col("ts").dt.date().n_unique()
                                              .alias("active_days"), pl.lit(0.0).alias("recency_days"),
                                              pl.col("amount").sum().alias("monetary"))
    return {p["segment"]: p for p in segment_profiles(assigned, features, events.lazy(), items.lazy())}


def test_each_planted_taste_stands_out_by_its_own_tag_and_its_own_items(platform):
    *_, topics = platform
    profiles = _profiles_by(platform, "taste")
    assert len(profiles) == 6
    for taste, p in profiles.items():
        tags, items = p["distinctive"]["tags"], p["distinctive"]["items"]
        assert tags[0]["value"] == taste and tags[0]["lift"] > 3, (taste, tags[:2])
        assert all(topics[i["value"]] == taste for i in items), (taste, items)
        assert f"{taste} ×" in portrait(p)


def test_each_planted_behaviour_segment_stands_out_by_what_it_was_planted_to_do(platform):
    profiles = _profiles_by(platform, "segment")
    top_kind = {name: p["distinctive"]["kinds"][0]["value"] for name, p in profiles.items()}
    assert top_kind["contributor"] == "answer"
    assert top_kind["member"] in {"renew", "subscribe"}
    assert top_kind["casual"] == "view"
    assert "purchase" in [k["value"] for k in profiles["learner"]["distinctive"]["kinds"][:2]]
    assert profiles["member"]["distinctive"]["content"][0]["value"] == "membership"
    assert profiles["contributor"]["distinctive"]["content"][0]["value"] == "question"


def test_kmeans_portraits_name_a_different_thing_for_every_segment(platform):
    events, items, _, _ = platform
    result = segment_users(events.lazy(), None, items.lazy(), method="kmeans", k=4, resamples=0, device="cpu")
    portraits = [portrait(p) for p in result.segments]
    assert len({text.split(" · ")[0] for text in portraits}) == 4, portraits
    firsts = [p["distinctive"]["items"][0]["value"] for p in result.segments]
    assert len(set(firsts)) == 4, firsts  # no globally popular item heads several portraits


def test_lift_is_the_share_in_the_segment_over_the_share_overall():
    # segment 1: 6 events, 3 answers (share 1/2); everyone: 12 events, 4 answers (1/3) -> lift 1.5
    events = pl.LazyFrame({
        "segment_id": [1] * 6 + [2] * 6,
        "user_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        "kind": ["answer"] * 3 + ["view"] * 3 + ["answer"] + ["view"] * 5,
    })
    out = {s: v for s, v in distinctive_values(events, "kind", min_users=1).collect().iter_rows()}
    answer = out[1][0]
    assert (answer["value"], answer["share"], answer["overall"], answer["lift"]) == ("answer", 0.5, 0.3333, 1.5)
    assert answer["users"] == 3
    assert [v["value"] for v in out[2]] == ["view"]  # answer's lift in segment 2 is 0.5: not kept


def test_a_one_off_cannot_win_without_enough_members_behind_it():
    # one user of segment 1 does 'refund' 50 times: the highest lift, but one member is no support
    users = list(range(1, 21))
    events = pl.LazyFrame({
        "segment_id": [1] * 20 + [1] * 50 + [2] * 20,
        "user_id": users + [1] * 50 + list(range(21, 41)),
        "kind": ["answer"] * 10 + ["view"] * 10 + ["refund"] * 50 + ["view"] * 20,
    })
    kept = distinctive_values(events, "kind", min_users=5).collect().row(0, named=True)["kind"]
    assert [v["value"] for v in kept] == ["answer"]
    assert "refund" in [v["value"] for v in
                        distinctive_values(events, "kind", min_users=1).collect().row(0, named=True)["kind"]]
    # and the member share: 10 answerers are 50 % of segment 1, not enough when 60 % is asked
    strict = distinctive_values(events, "kind", min_users=1, min_member_share=0.6).collect()
    assert strict["segment_id"].to_list() == [2]


def test_a_portrait_names_kinds_content_tags_and_an_item_with_their_lift():
    profile = {"distinctive": {
        "kinds": [{"value": "renew", "lift": 4.567}, {"value": "cancel", "lift": 4.1}, {"value": "ask", "lift": 3.0}],
        "content": [{"value": "membership", "lift": 4.4}],
        "tags": [{"value": "membership", "lift": 4.4}, {"value": "python", "lift": 1.1}],
        "items": [{"value": "347", "lift": 4.4, "title": "Membership (monthly)"}],
    }}
    assert portrait(profile) == "renew ×4.6, cancel ×4.1 · membership ×4.4 · “Membership (monthly)” ×4.4"
    assert portrait({"distinctive": {"kinds": [{"value": "view", "lift": 1.05}]}}) == NOTHING
    assert portrait({"top_kinds": []}) is None  # a profile from before lifts
