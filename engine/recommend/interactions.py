"""From canonical events to the interactions a recommender learns from.

An interaction is a (user, item) pair with a strength ``r_ui = Σ w(kind)`` over the user's
events on the item whose kind is chosen (``kinds``), ``w`` being the per-kind weight (1 unless
given). Its time is the first such event, which is what temporal and leave-last-out splits
order by. Users and items are numbered ``0 … n-1`` in ascending ID order; the ID of index
``k`` is ``user_ids[k]`` / ``item_ids[k]``.

Which kinds by default depends on the dataset's shape (:func:`default_kinds`): in a Stack
Exchange community a person engages with a question thread by answering, commenting or
saving it; on a knowledge platform by viewing, liking, starring, saving, commenting, buying
or answering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl
import torch

from engine.errors import EngineError, InvalidParameter
from engine.recommend.matrix import UserItemMatrix

STACKEXCHANGE_KINDS = ("answer", "comment", "favorite")
PLATFORM_KINDS = ("view", "like", "star", "favorite", "comment", "purchase", "answer")


@dataclass(frozen=True)
class Interactions:
    """All interactions of a dataset: the matrix, each pair's first time, the ID maps.

    ``pair_ts`` (µs since the epoch, int64) is aligned with ``matrix.indices``; the matrix carries
    the same times (``matrix.times``), so the sides of a split keep their own pairs' times.
    ``item_creator`` gives each item's creator as an index into ``creator_ids`` (-1: none).
    """

    matrix: UserItemMatrix
    pair_ts: torch.Tensor
    user_ids: pl.Series
    item_ids: pl.Series
    item_creator: torch.Tensor
    creator_ids: pl.Series
    kinds: tuple[str, ...]
    weights: dict[str, float]

    @property
    def n_users(self) -> int:
        return self.matrix.n_users

    @property
    def n_items(self) -> int:
        return self.matrix.n_items


def default_kinds(event_kinds: Iterable[str], dataset_format: str | None = None) -> tuple[str, ...]:
    """The interaction kinds to use when none are given, among those the dataset has.

    >>> default_kinds(["ask", "answer", "comment", "favorite", "bounty"], "stackexchange")
    ('answer', 'comment', 'favorite')
    """
    present = set(event_kinds)
    wanted = STACKEXCHANGE_KINDS if dataset_format == "stackexchange" else PLATFORM_KINDS
    chosen = tuple(k for k in wanted if k in present)
    if not chosen:
        raise InvalidParameter(
            f"none of the default interaction kinds ({', '.join(wanted)}) occur in the events "
            f"(kinds: {', '.join(sorted(present)) or 'none'}); choose some with {{events}}", "events"
        )
    return chosen


def check_kinds(kinds: Iterable[str], weights: Mapping[str, float], event_kinds: Iterable[str]) -> None:
    """Refuse kinds the events do not have, weights for kinds not chosen, and bad weights."""
    present = set(event_kinds)
    kinds = tuple(kinds)
    for kind in kinds:
        if kind not in present:
            raise EngineError(f"event kind '{kind}' does not occur in the events (kinds: {', '.join(sorted(present))})")
    for kind, weight in weights.items():
        if kind not in kinds:
            raise EngineError(f"weight for '{kind}': that kind is not among the interaction kinds ({', '.join(kinds)})")
        if not weight > 0:
            raise EngineError(f"weight for '{kind}' is {weight}: weights must be positive")


def build_interactions(
    events: pl.LazyFrame | pl.DataFrame,
    kinds: Iterable[str],
    weights: Mapping[str, float] | None = None,
    items: pl.LazyFrame | pl.DataFrame | None = None,
) -> Interactions:
    """Aggregate ``events`` of the chosen ``kinds`` into weighted user × item pairs.

    ``items`` (optional) supplies each item's ``creator_id`` for creator-exposure metrics.
    """
    kinds = tuple(kinds)
    weights = {k: float(weights.get(k, 1.0)) for k in kinds} if weights else {k: 1.0 for k in kinds}
    pairs = (
        events.lazy()
        .filter(pl.col("kind").is_in(list(kinds)))
        .group_by("user_id", "item_id")
        .agg(
            pl.col("kind").replace_strict(weights, return_dtype=pl.Float64).sum().alias("value"),
            pl.col("ts").min().alias("first_ts"),
        )
        .collect()
    )
    if pairs.height == 0:
        raise EngineError(f"no events of the interaction kinds ({', '.join(kinds)}): nothing to learn from")
    user_ids = pairs["user_id"].unique().sort()
    item_ids = pairs["item_id"].unique().sort()
    indexed = pairs.with_columns(
        pl.col("user_id").rank("dense").cast(pl.Int64).sub(1).alias("u"),
        pl.col("item_id").rank("dense").cast(pl.Int64).sub(1).alias("i"),
        pl.col("first_ts").dt.epoch("us").alias("t"),
    ).sort("u", "i")
    u = torch.from_numpy(indexed["u"].to_numpy().copy())
    i = torch.from_numpy(indexed["i"].to_numpy().copy())
    t = torch.from_numpy(indexed["t"].to_numpy().copy())
    matrix = UserItemMatrix.from_pairs(u, i, torch.from_numpy(indexed["value"].to_numpy().copy()),
                                       len(user_ids), len(item_ids), t)
    creator, creator_ids = _item_creators(item_ids, items)
    return Interactions(matrix, t, user_ids, item_ids, creator, creator_ids, kinds, weights)


def _item_creators(item_ids: pl.Series, items: pl.LazyFrame | pl.DataFrame | None) -> tuple[torch.Tensor, pl.Series]:
    """Each item's creator index (-1 where unknown) and the creator IDs in index order."""
    if items is None or "creator_id" not in items.lazy().collect_schema().names():
        return torch.full((len(item_ids),), -1, dtype=torch.int64), pl.Series("creator_id", [], dtype=pl.Int64)
    table = (
        pl.DataFrame({"item_id": item_ids})
        .join(items.lazy().select("item_id", "creator_id").collect(), on="item_id", how="left",
              maintain_order="left")
    )
    creator_ids = table["creator_id"].drop_nulls().unique().sort()
    index = table.with_columns(
        pl.col("creator_id").rank("dense").cast(pl.Int64).sub(1).fill_null(-1).alias("c")
    )["c"]
    return torch.from_numpy(index.to_numpy().copy()), creator_ids
