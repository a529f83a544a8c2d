"""Errors the store raises; each message is one line meant for a person.

A message may carry what to do about it as a :class:`Remedy` in the console's own vocabulary
(a command and its options); each front end words it its own way — the CLI as the command line
to type, the console as where to go — and ``str()`` reads it in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Remedy:
    """What a person can do: ``lead`` (``"list them with"``), the ``command`` (``"model list"``,
    ``"jobs show 12"``) and its ``options`` in order (a value of ``None``: a switch).

    >>> str(Remedy("create one with", "init", (("workspace", "/w"),)))
    'create one with: init, workspace /w'
    """

    lead: str
    command: str
    options: tuple[tuple[str, str | None], ...] = ()

    def __str__(self) -> str:
        options = ", ".join(f"{name.replace('_', ' ')}{'' if value is None else ' ' + value}"
                            for name, value in self.options)
        return f"{self.lead}: {self.command}" + (f", {options}" if options else "")


class Remedied(Exception):
    """An error with a ``message`` and, optionally, what to do about it (the base of the
    store's errors and the console's)."""

    def __init__(self, message: str = "", remedy: Remedy | None = None) -> None:
        self.message, self.remedy = message, remedy
        super().__init__(self.with_remedy(str))

    def with_remedy(self, words: Callable[[Remedy], str]) -> str:
        """The message, and the remedy worded by ``words`` in brackets after it (or nothing when
        ``words`` gives an empty string)."""
        said = words(self.remedy) if self.remedy is not None else ""
        return f"{self.message} ({said})" if said else self.message


class StoreError(Remedied):
    """Base of every store error."""


class WorkspaceMissing(StoreError):
    pass


class WorkspaceTooNew(StoreError):
    pass


class NotFound(StoreError):
    pass


class NameTaken(StoreError):
    pass


class InvalidName(StoreError):
    pass
