"""Completes an ID from a sorted list as the person types (shown greyed; → accepts)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from textual.suggester import Suggester


class PrefixSuggester(Suggester):
    """The smallest known value that extends what was typed (binary search: fast on millions);
    nothing once the typed value is itself known."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values: list[str] = sorted(values)

    def replace(self, values: Iterable[str]) -> None:
        self.values = sorted(values)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        at = bisect.bisect_left(self.values, value)
        if at == len(self.values) or self.values[at] == value:  # nothing after it, or already complete
            return None
        return self.values[at] if self.values[at].startswith(value) else None
