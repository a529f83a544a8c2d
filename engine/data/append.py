"""Appending validated rows to a dataset's canonical tables.

New rows come already converted and validated (by :func:`engine.data.tabular.ingest_tables`
into a scratch folder, or by any other source that writes the canonical tables). Here they are

1. **conformed** to the dataset's columns and types (:func:`conform`): a column the dataset
   lacks, or a type it cannot take without loss, is a :class:`DataError` naming the file, the
   field, an offending value and why; integer IDs join a dataset of text IDs as text, integers
   join floats; users and items without an attribute the dataset has get it empty; events must
   have exactly the dataset's columns;
2. **merged** (:func:`merge_events`, :func:`merge_side`): events that exactly equal an existing
   event (every column) are skipped and counted; users and items whose ID the dataset already
   has keep the dataset's row, new IDs are added. Existing rows come first, in their order.

Everything is lazy: the caller sinks the merged frames, so an event log larger than memory
appends in a streaming pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.errors import DataError

KEYS = {"users": "user_id", "items": "item_id"}


def _family(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integers"
    if dtype.is_float():
        return "numbers"
    if dtype == pl.String:
        return "text"
    if isinstance(dtype, pl.Datetime):
        return "timestamps"
    return str(dtype)


_ONE = {"integers": "an integer", "numbers": "a number", "timestamps": "a timestamp"}


def _lossless(have: pl.DataType, want: pl.DataType) -> bool:
    """Whether a column of type ``have`` joins one of type ``want`` without losing anything."""
    if have == want or have == pl.Null:
        return True
    if have.is_integer() and (want.is_float() or want.is_integer() or want == pl.String):
        return True
    return have.is_float() and want.is_float()


def conform(new: pl.LazyFrame, dataset: pl.Schema, *, table: str, file: str) -> pl.LazyFrame:
    """``new`` with the dataset's columns, in its order and types (see the module docstring)."""
    have = new.collect_schema()
    extra = [c for c in have if c not in dataset]
    if extra:
        raise DataError(f"the dataset's {table} have no column '{extra[0]}' (they have: {', '.join(dataset)})",
                        file=file, field=extra[0])
    missing = [c for c in dataset if c not in have]
    if missing and table == "events":
        raise DataError(f"the dataset's events have a column '{missing[0]}' that these events lack",
                        file=file, field=missing[0])
    out = []
    for name, want in dataset.items():
        if name not in have:
            out.append(pl.lit(None, dtype=want).alias(name))
            continue
        if not _lossless(have[name], want):
            example = new.select(pl.col(name).drop_nulls().first()).collect().item()
            raise DataError(f"{example!r} is {_ONE.get(_family(have[name]), _family(have[name]))} here, but the "
                            f"dataset's {table}.{name} holds {_family(want)}", file=file, field=name)
        out.append(pl.col(name).cast(pl.String).cast(want) if want == pl.String and have[name] != pl.String
                   else pl.col(name).cast(want))
    return new.select(out)


@dataclass(frozen=True)
class MergedEvents:
    """The dataset's events followed by the new ones that are not exact duplicates."""

    merged: pl.LazyFrame
    added: pl.LazyFrame


def merge_events(old: pl.LazyFrame, new: pl.LazyFrame) -> MergedEvents:
    """Skip new events equal to an existing event in every column. Only existing events inside
    the new events' time range can be equal, so only those are read for the comparison."""
    span = new.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).collect().row(0)
    window = old.filter(pl.col("ts").is_between(span[0], span[1])).unique() if span[0] is not None else old.head(0)
    columns = new.collect_schema().names()
    added = new.join(window, on=columns, how="anti", nulls_equal=True, maintain_order="left")
    return MergedEvents(pl.concat([old, added], how="vertical"), added)


def merge_side(old: pl.LazyFrame, new: pl.LazyFrame, table: str) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(merged, added): the dataset's users or items, then new IDs only."""
    key = KEYS[table]
    added = new.join(old.select(key), on=key, how="anti", maintain_order="left")
    return pl.concat([old, added], how="vertical"), added
