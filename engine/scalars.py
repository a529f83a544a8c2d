"""Polars scalars as the Python types their columns hold.

Polars types ``Series.min()``, ``.median()``, ``.item()`` and ``row()`` as the union of every dtype's
Python value (int, float, Decimal, date, time, timedelta, str, bytes, list, ndarray, None). The caller
knows the column's dtype; these helpers say it once and check it, so a wrong dtype or an empty column
fails with a TypeError where it is read rather than deep in arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import SupportsFloat, SupportsIndex


def as_float(value: object) -> float:
    """``float(value)`` for a numeric scalar; None (an empty or all-null column) raises TypeError, as
    ``float(None)`` does."""
    if isinstance(value, (SupportsFloat, SupportsIndex)):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def as_datetime(value: object) -> dt.datetime:
    """A Datetime column's scalar; None (an empty or all-null column) raises TypeError."""
    if isinstance(value, dt.datetime):
        return value
    raise TypeError(f"expected a datetime, got {type(value).__name__}")
