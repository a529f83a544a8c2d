"""Errors of the console layer, and the set of errors a person may see as one line.

Engine, store and console errors are all *user* errors: the message says what is wrong and
the command exits 1 with it on stderr. Anything else is a bug: its traceback goes to the
workspace's ``logs/errors.log`` and the person sees a short notice (never locals: over SSH
they can leak secrets).
"""

from __future__ import annotations

from engine.errors import EngineError
from store.errors import StoreError


class ConsoleError(Exception):
    """A request the console cannot carry out; the message is for a person."""


class PermissionDenied(ConsoleError):
    """The person's role does not allow the action."""


class NoTerminal(ConsoleError):
    """The console was asked for where stdin or stdout is not a terminal (exit 2: usage)."""


USER_ERRORS: tuple[type[BaseException], ...] = (ConsoleError, EngineError, StoreError)
