"""Train/test splits of the interaction pairs, all seeded and described by plain parameters.

* ``random`` — per user: of a user's ``n`` pairs, ``clamp(round(ratio·n), 1, n−1)`` chosen at
  random go to test (users with one pair stay in train only);
* ``temporal`` — every pair first seen at or after a cut time goes to test; the cut is a
  given date, or the time that leaves ``ratio`` of the pairs after it;
* ``loo`` (leave-last-out) — per user with at least two pairs, the latest pair goes to test
  (ties broken at random);
* ``cold-items`` — an item is first seen at its earliest pair; items first seen at or after a
  cut (a given date, or the time that leaves ``ratio`` of the *items* after it) are held out
  whole: every pair on them goes to test, so every user who touches one is tested on it. The
  training side keeps every pair before the cut (all on older items); pairs on older items at
  or after the cut are in neither side. Evaluation ranks only the held-out items (the older
  ones are :meth:`Split.blocked_items`): the question is which of the *new* items a user
  takes up, where a model that knows items only by their interactions cannot play.

A pair is in train or in test, never both. Evaluation ranks only for *test users*: users with
at least one pair in each (a user with test pairs but no history cannot be personalised;
those are counted as ``cold_test_users``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.device import generator
from engine.recommend.matrix import UserItemMatrix

METHODS = ("random", "temporal", "loo", "cold-items")
COLD_ITEMS = "cold-items"


@dataclass(frozen=True)
class Split:
    train: UserItemMatrix
    test: UserItemMatrix
    params: dict

    def test_users(self) -> torch.Tensor:
        """Users with at least one train pair and one test pair (the ones evaluated)."""
        both = (self.train.row_counts() > 0) & (self.test.row_counts() > 0)
        return torch.nonzero(both).flatten()

    def blocked_items(self) -> torch.Tensor | None:
        """Items evaluation never ranks (None: none): on a cold-items split, every item with a
        training pair, so that only the held-out new items compete."""
        if self.params.get("method") != COLD_ITEMS:
            return None
        return torch.nonzero(self.train.item_counts() > 0).flatten()

    def describe(self) -> dict:
        has_test = self.test.row_counts() > 0
        cold = has_test & (self.train.row_counts() == 0)
        return {**self.params, "train_pairs": self.train.nnz, "test_pairs": self.test.nnz,
                "test_users": len(self.test_users()), "cold_test_users": int(cold.sum())}


def _rank_within_user(matrix: UserItemMatrix, key: torch.Tensor) -> torch.Tensor:
    """For every pair, its 0-based rank among its user's pairs when ordered by ``key``."""
    rows = matrix.rows()
    order = torch.argsort(key, stable=True)
    order = order[torch.argsort(rows[order], stable=True)]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order)) - matrix.indptr[rows[order]]
    return rank


def _split(matrix: UserItemMatrix, is_test: torch.Tensor, params: dict) -> Split:
    return Split(matrix.select(~is_test), matrix.select(is_test), params)


def random_split(matrix: UserItemMatrix, ratio: float, seed: int) -> Split:
    """Per user, hold out ``clamp(round(ratio·n), 1, n−1)`` random pairs (users with n ≥ 2)."""
    _check_ratio(ratio)
    key = torch.rand(matrix.nnz, generator=generator(seed), dtype=torch.float64)
    rank = _rank_within_user(matrix, key)
    n = matrix.row_counts()
    n_test = torch.where(n >= 2, torch.floor(ratio * n + 0.5).long().clamp(min=1).minimum(n - 1), 0)
    return _split(matrix, rank < n_test[matrix.rows()], {"method": "random", "test_ratio": ratio, "seed": seed})


def leave_last_out(matrix: UserItemMatrix, pair_ts: torch.Tensor, seed: int) -> Split:
    """Per user with at least two pairs, the latest pair (random among ties) goes to test."""
    jitter = torch.rand(matrix.nnz, generator=generator(seed), dtype=torch.float64)
    order = torch.argsort(jitter)
    order = order[torch.argsort(pair_ts[order], stable=True)]
    position = torch.empty_like(order)
    position[order] = torch.arange(len(order))
    rank = _rank_within_user(matrix, position)
    n = matrix.row_counts()
    is_test = (rank == (n - 1)[matrix.rows()]) & (n >= 2)[matrix.rows()]
    return _split(matrix, is_test, {"method": "loo", "seed": seed})


def temporal_split(
    matrix: UserItemMatrix, pair_ts: torch.Tensor, *, ratio: float | None = None, cut: dt.datetime | None = None
) -> Split:
    """Pairs first seen at or after ``cut`` go to test; without ``cut``, the time that leaves
    ``ratio`` of the pairs after it."""
    if (ratio is None) == (cut is None):
        raise EngineError("a temporal split needs either a cut date or a test ratio")
    if cut is None:
        cut_us = _time_leaving(pair_ts, _check_ratio(ratio))
        params = {"method": "temporal", "test_ratio": ratio}
    else:
        cut_us = _cut_us(cut)
        params = {"method": "temporal"}
    params["cut"] = _iso(cut_us)
    return _split(matrix, pair_ts >= cut_us, params)


def _cut_us(cut: dt.datetime) -> int:
    if cut.tzinfo is None:
        return int(cut.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
    return int(cut.timestamp() * 1_000_000)


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).replace(tzinfo=None).isoformat()


def _time_leaving(times: torch.Tensor, ratio: float) -> int:
    """The time (µs) at or after which the last ``ratio`` of ``times`` lie (never past the latest one)."""
    ordered = torch.sort(times).values
    return int(ordered[min(int((1 - ratio) * len(ordered)), len(ordered) - 1)])


def item_first_seen(matrix: UserItemMatrix, pair_ts: torch.Tensor) -> torch.Tensor:
    """Each item's earliest pair time (µs; int64 max for an item without pairs)."""
    first = torch.full((matrix.n_items,), torch.iinfo(torch.int64).max, dtype=torch.int64)
    return first.scatter_reduce(0, matrix.indices, pair_ts.to(torch.int64), reduce="amin")


def cold_items_split(
    matrix: UserItemMatrix, pair_ts: torch.Tensor, *, ratio: float | None = None, cut: dt.datetime | None = None
) -> Split:
    """Items first seen at or after ``cut`` held out whole (see the module docstring); without
    ``cut``, the cut is the first-seen time that leaves ``ratio`` of the items after it."""
    if (ratio is None) == (cut is None):
        raise EngineError("a cold-items split needs either a cut date or a test ratio")
    first = item_first_seen(matrix, pair_ts)
    if cut is None:
        cut_us = _time_leaving(first, _check_ratio(ratio))
        params: dict = {"method": COLD_ITEMS, "test_ratio": ratio}
    else:
        cut_us = _cut_us(cut)
        params = {"method": COLD_ITEMS}
    cold = first >= cut_us
    is_test = cold[matrix.indices]
    before = pair_ts < cut_us
    params.update(cut=_iso(cut_us), cold_items=int(cold.sum()), dropped_pairs=int((~is_test & ~before).sum()))
    return Split(matrix.select(before & ~is_test), matrix.select(is_test), params)


def make_split(
    matrix: UserItemMatrix,
    pair_ts: torch.Tensor,
    method: str,
    *,
    test_ratio: float = 0.2,
    seed: int = 42,
    cut: dt.datetime | None = None,
) -> Split:
    """The split ``method`` asks for; refuses one that leaves no user to evaluate."""
    if method == "random":
        split = random_split(matrix, test_ratio, seed)
    elif method == "temporal":
        split = temporal_split(matrix, pair_ts, ratio=None if cut else test_ratio, cut=cut)
    elif method == "loo":
        split = leave_last_out(matrix, pair_ts, seed)
    elif method == COLD_ITEMS:
        split = cold_items_split(matrix, pair_ts, ratio=None if cut else test_ratio, cut=cut)
    else:
        raise EngineError(f"unknown split '{method}' (one of {', '.join(METHODS)})")
    if len(split.test_users()) == 0:
        info = split.describe()
        raise EngineError(
            f"the {method} split leaves no test users ({info['train_pairs']} train pairs, {info['test_pairs']} test "
            f"pairs, {info['cold_test_users']} test users without history): choose another split or ratio"
        )
    return split


def validation_split(train: UserItemMatrix, ratio: float, seed: int) -> Split:
    """A validation slice carved from the training pairs (random per user), for early stopping."""
    return random_split(train, ratio, seed)


def _check_ratio(ratio: float | None) -> float:
    """``ratio``, refused unless it is given and strictly between 0 and 1."""
    if ratio is None or not 0 < ratio < 1:
        raise EngineError(f"test ratio {ratio} must be between 0 and 1 (exclusive)")
    return ratio
