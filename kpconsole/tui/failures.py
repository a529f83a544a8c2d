"""What a person sees when something fails, and where the details go.

A user error (bad input, a refused action, a missing dataset) is shown in one line, as the CLI
prints it but in the console's words: fields by name, and what to do as the screen to go to
(never a command line to type). Anything else is a bug: its full traceback goes to the workspace's
``logs/errors.log`` and the person sees only its type and where the details are, never the
traceback (over SSH it can carry secrets).
"""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

from kpconsole.errors import USER_ERRORS, Remedied, Remedy

ERRORS_LOG = "errors.log"


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, USER_ERRORS)


#: The screen where each command group's remedies are carried out.
SCREEN_OF = {"data": "data", "model": "models", "segment": "segments", "value": "value", "sim": "simulate",
             "jobs": "jobs", "access": "access", "audit": "audit", "community": "community"}


def where_to_go(remedy: Remedy) -> str:
    """A remedy as the console's screen for it (``see the Models screen, key 3``); nothing for
    what the console has no screen for (creating a workspace: it is open on one)."""
    from kpconsole.tui.places import PLACES

    mode = SCREEN_OF.get(remedy.command.split()[0])
    place = next((p for p in PLACES if p.mode == mode), None)
    return f"see the {place.title} screen, key {place.key}" if place is not None else ""


def one_line(exc: BaseException) -> str:
    """The first line of a user error's message, in the console's words."""
    text = (exc.with_remedy(where_to_go) if isinstance(exc, Remedied) else str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def errors_log(logs_dir: Path) -> Path:
    return Path(logs_dir) / ERRORS_LOG


def log_text(logs_dir: Path, header: str, text: str) -> Path | None:
    """Append ``text`` under a time-stamped header to ``logs/errors.log``; None if unwritable."""
    path = errors_log(logs_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp} {header}\n{text.rstrip()}\n\n")
    except OSError:
        return None
    return path


def log_exception(logs_dir: Path, exc: BaseException, where: str) -> Path | None:
    """Append the exception's full traceback (no local variables) to ``logs/errors.log``."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return log_text(logs_dir, f"console: {where}", text)


def describe(exc: BaseException, logs_dir: Path, where: str) -> str:
    """The one line to show for ``exc``: its message if it is a user error, else a logged bug."""
    if is_user_error(exc):
        return one_line(exc)
    path = log_exception(logs_dir, exc, where)
    return internal_error_line(type(exc).__name__, path)


def internal_error_line(kind: str, path: Path | None) -> str:
    return f"internal error ({kind}); details in {path or 'no log (unwritable)'}"
