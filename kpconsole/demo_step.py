"""What a demo step is: ``(session, state) -> DemoResult``, and the state the steps share.

Its own module so that :mod:`kpconsole.demo` (which lists the steps) and the services' demo
steps (which build results) both import it, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kpconsole.session import Session


@dataclass
class DemoState:
    """What the steps share: where the sample data is and what earlier steps made."""

    sample_data: Path
    made: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoResult:
    title: str
    figures: dict
    lines: list[str]


DemoStep = Callable[[Session, DemoState], DemoResult]
