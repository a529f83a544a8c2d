"""Numbers and times as the console shows them: short, true, the same everywhere."""

from __future__ import annotations

import math


def short(value: float | int | None) -> str:
    """A number in at most ~7 characters: ``1,234``, ``12.3k``, ``4.56M``, ``0.1234``, ``–``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.3g}G"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e5:
        return f"{value / 1e3:.3g}k"
    if isinstance(value, int):
        return f"{value:,}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{100 * fraction:.1f}%"


def day(iso: str | None) -> str:
    return iso[:10] if iso else "–"


def minute(iso: str | None) -> str:
    """``2026-01-02 10:11`` from an ISO-8601 time (UTC as stored), ``–`` when missing."""
    if not iso:
        return "–"
    return iso[:16].replace("T", " ")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
