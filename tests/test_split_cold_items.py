"""The cold-items split: items first seen after the cut are held out whole, and only they are ranked."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from conftest import SAMPLE_DATA

from engine.errors import EngineError
from engine.recommend.interactions import build_interactions, default_kinds
from engine.recommend.splits import cold_items_split, item_first_seen, make_split
from kpconsole.errors import InvalidField
from kpconsole.services.model_requests import TrainRequest


@pytest.fixture(scope="module")
def platform():
    events = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv", try_parse_dates=True)
    return build_interactions(events, default_kinds(events["kind"].unique()))


def test_cold_items_split_holds_out_exactly_the_items_first_seen_after_the_cut(platform):
    split = make_split(platform.matrix, platform.pair_ts, "cold-items", test_ratio=0.2)
    first = item_first_seen(platform.matrix, platform.pair_ts)
    cut = torch.sort(first).values[int(0.8 * platform.n_items)]
    cold = first >= cut
    assert split.params["cold_items"] == int(cold.sum()) > 0
    assert torch.equal(torch.unique(split.test.indices), torch.nonzero(cold).flatten())
    # every pair on a new item is a test pair: the held-out items keep all their users
    assert split.test.nnz == int(cold[platform.matrix.indices].sum())
    # the training side is every pair before the cut, none on a new item
    before = platform.pair_ts < cut
    assert split.train.nnz == int(before.sum()) and not bool(cold[split.train.indices].any())
    assert split.train.nnz + split.test.nnz + split.params["dropped_pairs"] == platform.matrix.nnz
    blocked = split.blocked_items()
    assert torch.equal(blocked, torch.nonzero(~cold).flatten())


def test_a_cut_date_gives_the_same_split_as_the_ratio_that_lands_on_it(platform):
    by_ratio = cold_items_split(platform.matrix, platform.pair_ts, ratio=0.3)
    import datetime as dt
    by_date = cold_items_split(platform.matrix, platform.pair_ts, cut=dt.datetime.fromisoformat(by_ratio.params["cut"]))
    assert torch.equal(by_ratio.test.indices, by_date.test.indices)
    assert by_date.params["cut"] == by_ratio.params["cut"]


def test_cold_items_requests_accept_a_cut_and_other_splits_refuse_it():
    assert TrainRequest(data="d", algo="hybrid", split="cold-items", cut="2026-05-01").cut_datetime().year == 2026
    with pytest.raises(InvalidField):
        TrainRequest(data="d", algo="als", split="loo", cut="2026-05-01")
    with pytest.raises(EngineError):
        cold_items_split(torch.zeros(0), torch.zeros(0))  # neither a ratio nor a cut
