"""Errors of the console layer, and the set of errors a person may see as one line.

Engine, store and console errors are all *user* errors: the message says what is wrong and
the command exits 1 with it on stderr. Anything else is a bug: its traceback goes to the
workspace's ``logs/errors.log`` and the person sees a short notice (never locals: over SSH
they can leak secrets).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import EngineError, in_words, word_fields
from store.errors import Remedied, Remedy, StoreError

__all__ = ["USER_ERRORS", "ConsoleError", "InvalidField", "NoTerminal", "PermissionDenied", "Remedied", "Remedy"]


class ConsoleError(Remedied):
    """A request the console cannot carry out; the message is for a person, with what to do
    about it as a :class:`~store.errors.Remedy` where there is something."""


class InvalidField(ConsoleError):
    """A request's field holds what the core cannot use. The message names fields as
    ``{field}`` (the request's own names: ``"{test_ratio} 1.5: must be between 0 and 1"``) and
    each front end words them (:meth:`worded`): the CLI as its flags (``--test-ratio``), the
    console as its form's words; ``str()`` gives the field's name in words (``test ratio``).

    >>> error = InvalidField("{cut} applies to {split} temporal only", "cut", "split")
    >>> str(error), error.worded(lambda field: "--" + field)
    ('cut applies to split temporal only', '--cut applies to --split temporal only')
    """

    def __init__(self, template: str, *fields: str) -> None:
        self.template = template
        self.fields = fields
        super().__init__(self.worded(in_words))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with each field it names worded by ``name``."""
        return word_fields(self.template, self.fields, name)


class PermissionDenied(ConsoleError):
    """The person's role does not allow the action."""


class NoTerminal(ConsoleError):
    """The console was asked for where stdin or stdout is not a terminal (exit 2: usage)."""


USER_ERRORS: tuple[type[BaseException], ...] = (ConsoleError, EngineError, StoreError)
