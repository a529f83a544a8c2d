"""How a failure reaches the person at the command line: one line on stderr and an exit code.

Shared by the console's fast start (:mod:`kpconsole.entry`) and the CLI (:func:`kpconsole.cli.main`),
so both word and log failures alike. Light on purpose: no typer, no Rich.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kpconsole import exit_codes
from kpconsole.errors import USER_ERRORS, NoTerminal
from kpconsole.session import resolve_workspace
from store.errors import Remedied, Remedy


def command_line(remedy: Remedy) -> str:
    """A remedy as the command line to type: ``list them with: kpconsole sim list --calibrations``.

    >>> command_line(Remedy("train one with", "model train", (("data", "qc"),)))
    'train one with: kpconsole model train --data qc'
    """
    options = "".join(f" --{name.replace('_', '-')}" + ("" if value is None else f" {value}")
                      for name, value in remedy.options)
    return f"{remedy.lead}: kpconsole {remedy.command}{options}"


def one_line(exc: BaseException) -> str:
    """A user error's first line as the command line says it (a remedy as a command to type)."""
    text = exc.with_remedy(command_line) if isinstance(exc, Remedied) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def one_line_errors(workspace: Callable[[], Path | None]) -> Iterator[None]:
    """Turn what the block raises into one line on stderr and an exit: 2 without a terminal for
    the console, 1 for a user error (its first line), 130 on Ctrl-C; a bug's traceback goes to
    the log of the workspace ``workspace()`` names (never to the screen: it may hold secrets)."""
    try:
        yield
    except KeyboardInterrupt:
        sys.stderr.write("kpconsole: interrupted\n")
        sys.exit(130)
    except NoTerminal as exc:
        sys.stderr.write(f"kpconsole: {exc}\n")
        sys.exit(exit_codes.USAGE)
    except USER_ERRORS as exc:
        sys.stderr.write(f"kpconsole: {one_line(exc)}\n")
        sys.exit(exit_codes.FAILURE)
    except Exception as exc:  # noqa: BLE001 — a bug: logged, one line shown
        where = log_internal_error(workspace())
        sys.stderr.write(
            f"kpconsole: internal error ({type(exc).__name__}); details in {where or 'no log (unwritable)'}\n"
        )
        sys.exit(exit_codes.FAILURE)


def log_internal_error(workspace: Path | None) -> Path | None:
    """Append the traceback being handled to the workspace's logs/errors.log (or the user's
    cache when the workspace has no logs folder); return where, or ``None`` if unwritable."""
    try:
        root = resolve_workspace(workspace)
        folder = root / "logs" if (root / "logs").is_dir() else Path.home() / ".cache" / "kpconsole"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "errors.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc() + "\n")
        return path
    except OSError:
        return None
