"""Interactions from events, and the three seeded splits."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import torch

from engine.errors import EngineError
from engine.recommend.interactions import build_interactions, check_kinds, default_kinds
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.splits import leave_last_out, make_split, random_split, temporal_split

T0 = dt.datetime(2026, 1, 1)


def events(rows):
    return pl.DataFrame(
        [{"user_id": u, "item_id": i, "kind": k, "ts": T0 + dt.timedelta(days=d), "value": 1.0, "amount": 0.0}
         for u, i, k, d in rows],
        schema={"user_id": pl.Int64, "item_id": pl.Int64, "kind": pl.String, "ts": pl.Datetime("us"),
                "value": pl.Float64, "amount": pl.Float64},
    )


def test_interactions_sum_per_kind_weights_and_keep_the_first_time():
    ev = events([(10, 7, "view", 3), (10, 7, "purchase", 5), (10, 7, "view", 1), (20, 9, "like", 2),
                 (20, 7, "refund", 4)])
    data = build_interactions(ev, ("view", "like", "purchase"), {"purchase": 5.0})
    assert data.user_ids.to_list() == [10, 20] and data.item_ids.to_list() == [7, 9]
    assert data.matrix.rows().tolist() == [0, 1] and data.matrix.indices.tolist() == [0, 1]
    assert data.matrix.values.tolist() == [1 + 1 + 5, 1]
    first = [T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)]
    assert data.pair_ts.tolist() == [int(t.replace(tzinfo=dt.UTC).timestamp() * 1e6) for t in first]


def test_default_kinds_follow_the_dataset_shape():
    assert default_kinds(["ask", "answer", "comment", "favorite", "bounty"], "stackexchange") == (
        "answer", "comment", "favorite")
    assert default_kinds(["view", "purchase", "refund", "like"], "folder") == ("view", "like", "purchase")
    with pytest.raises(EngineError, match="choose some with events"):
        default_kinds(["renew"], "folder")


def test_unknown_kinds_and_bad_weights_are_refused():
    with pytest.raises(EngineError, match="event kind 'clap' does not occur"):
        check_kinds(["clap"], {}, ["view"])
    with pytest.raises(EngineError, match="not among the interaction kinds"):
        check_kinds(["view"], {"purchase": 2.0}, ["view", "purchase"])
    with pytest.raises(EngineError, match="must be positive"):
        check_kinds(["view"], {"view": 0.0}, ["view"])


def grid(n_users: int, per_user: int) -> UserItemMatrix:
    users = torch.arange(n_users).repeat_interleave(per_user)
    items = torch.arange(per_user).repeat(n_users)
    return UserItemMatrix.from_pairs(users, items, None, n_users, per_user)


def test_random_split_holds_out_the_ratio_per_user_and_is_seeded():
    m = grid(50, 10)
    split = random_split(m, 0.3, seed=4)
    assert split.test.row_counts().tolist() == [3] * 50
    assert split.train.row_counts().tolist() == [7] * 50
    assert torch.equal(random_split(m, 0.3, seed=4).test.indices, split.test.indices)
    assert not torch.equal(random_split(m, 0.3, seed=5).test.indices, split.test.indices)
    both = split.train.contains(split.test.rows(), split.test.indices)
    assert not both.any()


def test_random_split_keeps_at_least_one_training_pair_and_leaves_single_pair_users_alone():
    m = UserItemMatrix.from_pairs(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), None, 2, 2)
    split = random_split(m, 0.9, seed=0)
    assert split.test.row_counts().tolist() == [0, 1]
    assert split.train.row_counts().tolist() == [1, 1]


def test_leave_last_out_holds_out_each_users_latest_pair():
    m = grid(3, 4)
    ts = torch.tensor([5, 9, 1, 3, 2, 2, 8, 1, 0, 0, 0, 7])
    split = leave_last_out(m, ts, seed=0)
    assert split.test.indices.tolist() == [1, 2, 3]
    assert split.train.row_counts().tolist() == [3, 3, 3]


def test_temporal_split_by_date_and_by_ratio():
    m = grid(2, 5)
    ts = torch.arange(10) * 1_000_000
    by_ratio = temporal_split(m, ts, ratio=0.3)
    assert by_ratio.test.nnz == 3 and by_ratio.params["cut"] == "1970-01-01T00:00:07"
    by_date = temporal_split(m, ts, cut=dt.datetime(1970, 1, 1, 0, 0, 2))
    assert by_date.train.nnz == 2 and by_date.test.nnz == 8


def test_a_split_that_leaves_no_test_users_is_refused():
    m = grid(2, 5)
    ts = torch.arange(10) * 1_000_000
    with pytest.raises(EngineError, match="leaves no test users"):
        make_split(m, ts, "temporal", cut=dt.datetime(2030, 1, 1))
    single = UserItemMatrix.from_pairs(torch.tensor([0, 1]), torch.tensor([0, 1]), None, 2, 2)
    with pytest.raises(EngineError, match="leaves no test users"):
        make_split(single, torch.tensor([0, 1]), "random")
