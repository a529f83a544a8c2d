"""Derived users and items: each ID with its first event time, whichever way it is computed
(a scatter-min into an array for integer IDs, a group-by for text IDs or integer IDs that
span too much), equals a plain group-by over the events written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.data import first_seen
from engine.data.first_seen import _DenseFirst
from engine.data.tabular import TableRequest, ingest_tables
from engine.errors import DataError


def _events_csv(path: Path, users: list[str], items: list[str], seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    n = 5_000
    ts = 1_700_000_000 + rng.permutation(n) * 37  # unsorted: the first event is not the first row
    pl.DataFrame({
        "user_id": rng.choice(users, n), "item_id": rng.choice(items, n), "kind": "view",
        "ts": pl.from_epoch(pl.Series(ts)).dt.strftime("%Y-%m-%dT%H:%M:%S"),
    }).write_csv(path)
    return path


def _assert_first_seen_is_a_group_by(folder: Path) -> None:
    events = pl.read_parquet(folder / "events.parquet")
    for table, key, column in (("users", "user_id", "joined_at"), ("items", "item_id", "created_at")):
        got = pl.read_parquet(folder / f"{table}.parquet").select(key, column)
        want = events.group_by(key).agg(pl.col("ts").min().alias(column)).sort(key)
        assert got.equals(want), table


@pytest.mark.parametrize("users, items", [
    ([str(i) for i in range(-40, 400, 3)], [str(i) for i in range(1, 90)]),  # integers, some negative
    ([f"u{i:04d}" for i in range(300)], [f"{i:05d}" for i in range(80)]),  # text (leading zeros stay text)
    ([str(i) for i in range(300)], [f"i{i}" for i in range(80)]),  # integer users, text items
])
def test_first_seen_users_and_items_equal_a_group_by_of_the_events(tmp_path, users, items):
    out = tmp_path / "out"
    out.mkdir()
    ingest_tables(TableRequest(_events_csv(tmp_path / "events.csv", users, items)), out)
    _assert_first_seen_is_a_group_by(out)


def test_integer_ids_too_spread_for_an_array_are_grouped_from_the_written_events(tmp_path, monkeypatch):
    monkeypatch.setattr(first_seen, "DENSE_MAX_SPAN", 1_000)
    out = tmp_path / "out"
    out.mkdir()
    users = [str(i * 10_007) for i in range(200)]  # spans 2 M: more than 1 000
    ingest_tables(TableRequest(_events_csv(tmp_path / "events.csv", users, [str(i) for i in range(50)])), out)
    _assert_first_seen_is_a_group_by(out)


def test_the_dense_array_grows_both_ways_and_keeps_each_ids_earliest_time():
    dense = _DenseFirst()
    batches = [([100, 101, 100], [5, 7, 3]), ([150, 90], [9, 1]), ([100, 5_000], [2, 8]), ([90], [4])]
    for ids, times in batches:
        dense.add(np.array(ids, dtype=np.int64), np.array(times, dtype=np.int64))
    got = dense.frame("user_id")
    assert got["user_id"].to_list() == [90, 100, 101, 150, 5_000]
    assert got["_first"].dt.epoch("us").to_list() == [1, 2, 7, 9, 8]


def test_dense_array_gives_up_past_its_span_limit(monkeypatch):
    monkeypatch.setattr(first_seen, "DENSE_MAX_SPAN", 100)
    dense = _DenseFirst()
    dense.add(np.array([1, 50]), np.array([1, 1]))
    assert not dense.overflowed
    dense.add(np.array([1_000]), np.array([1]))
    assert dense.overflowed and dense.first.size == 0


def test_a_missing_item_id_is_still_named_by_its_line(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,kind,ts\n1,10,view,2024-01-01\n2,,view,2024-01-02\n3,11,view,2024-01-03\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataError) as err:
        ingest_tables(TableRequest(path), out)
    assert (err.value.line, err.value.field) == (3, "item_id")
    assert "missing item_id" in str(err.value)
