"""Completes file and folder names as the person types a path (shown greyed; → accepts)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester

MAX_ENTRIES = 2000


class PathSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, stem = os.path.split(expanded)
        try:
            with os.scandir(folder or ".") as entries:
                names = sorted(e.name + ("/" if e.is_dir() else "") for _, e in zip(range(MAX_ENTRIES), entries))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and not (name.startswith(".") and not stem.startswith(".")):
                return value[: len(value) - len(stem)] + name
        return None


def typed_path(text: str) -> Path:
    """The path a person typed (``~`` expanded, surrounding blanks dropped)."""
    return Path(os.path.expanduser(text.strip()))
