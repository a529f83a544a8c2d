"""Time as the store writes it: ISO-8601 in UTC, to the millisecond."""

from __future__ import annotations

import datetime as dt


def now() -> str:
    """The current UTC time, e.g. ``2026-11-27T20:41:00.123+00:00``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
