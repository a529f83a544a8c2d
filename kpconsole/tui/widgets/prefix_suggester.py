"""Completes an ID from a sorted list as the person types (shown greyed; → accepts)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from textual.suggester import Suggester


class PrefixSuggester(Suggester):
    """The smallest known value that extends what was typed (binary search: fast on millions).
    Enter still takes what was typed, so a complete ID stays as it is."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values: list[str] = sorted(values)

    def replace(self, values: Iterable[str]) -> None:
        self.values = sorted(values)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        at = bisect.bisect_right(self.values, value)  # past the typed value itself when it is known
        if at < len(self.values) and self.values[at].startswith(value):
            return self.values[at]
        return None
