"""The callback protocol through which engine work reports progress and learns of cancellation.

An engine function that runs for long takes ``progress: Progress = no_progress`` and calls it
now and then::

    progress(0.25, "epoch 5/20", {"loss": 0.31, "ndcg@10": 0.12})

The caller's callback may raise :class:`Cancelled` (a person pressed cancel, a job was told to
stop); the engine lets it propagate after leaving nothing half-done that it owns, so the
caller sees ``Cancelled`` and can record the work as cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Cancelled(Exception):
    """Raised from a progress callback to stop the work that called it."""


class Progress(Protocol):
    def __call__(
        self,
        fraction: float | None,
        message: str = "",
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Report ``fraction`` done in [0, 1] (None when unknown); may raise :class:`Cancelled`."""


def no_progress(
    fraction: float | None, message: str = "", metrics: Mapping[str, float] | None = None
) -> None:
    """The default callback: ignores every report and never cancels."""


def scaled(progress: Progress, start: float, end: float) -> Progress:
    """A callback that maps a sub-task's [0, 1] onto [start, end] of the parent's progress.

    >>> seen = []
    >>> part = scaled(lambda f, m="", x=None: seen.append(f), 0.5, 1.0)
    >>> part(0.5, "half of the second half")
    >>> seen
    [0.75]
    """

    def report(
        fraction: float | None, message: str = "", metrics: Mapping[str, float] | None = None
    ) -> None:
        mapped = None if fraction is None else start + (end - start) * fraction
        progress(mapped, message, metrics)

    return report
