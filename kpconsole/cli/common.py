"""What every command shares: the workspace option, JSON output, tables, progress bars.

Data goes to stdout (JSON without colour when ``--json``); messages, progress and warnings go
to stderr.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.progress import Progress as ProgressFn
from engine.progress import no_progress
from kpconsole.session import Session, open_session

class LazyModule:
    """A module imported on first attribute access.

    Command modules hold their service this way (``models = lazy_import("kpconsole.services.models")``)
    so that ``kpconsole --help`` or ``data list`` does not load torch for ``model train``. Unlike
    the standard library's LazyLoader, nothing is put in ``sys.modules`` before the real import,
    so code that walks ``sys.modules`` (torch does, while it loads) never triggers it half-way.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy_import(name: str) -> Any:
    """See :class:`LazyModule`."""
    return LazyModule(name)


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder [default: $KPCONSOLE_WORKSPACE or ~/.local/share/kpconsole/workspace]",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]

stdout = Console(highlight=False, soft_wrap=False)
stderr = Console(stderr=True, highlight=False)


class _Root:
    """The workspace this invocation uses: from the root option (``kpconsole --workspace W …``),
    replaced by a command's own ``--workspace`` once the command opens it."""

    workspace: Path | None = None


root_options = _Root()


def workspace_path(option: Path | None) -> Path | None:
    return option or root_options.workspace


def session(option: Path | None) -> Session:
    """Open the workspace named by the command's ``--workspace``, the root's, or the default."""
    root_options.workspace = workspace_path(option)
    return open_session(root_options.workspace)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    """The one way data leaves as JSON: indented, UTF-8, datetimes as ISO-8601."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """JSON when asked, else the command's own human rendering."""
    if as_json:
        emit_json(data)
    else:
        render()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[str] = (),
          wrap: Sequence[str] = (), drop: Sequence[str] = ()) -> Table:
    """A plain table that fits stdout's width (kpconsole/cli/tables.py); numbers (``right``)
    formatted with thousands separators and never cut, text columns (``wrap``) wrapped at
    spaces, every other column an identifier: never wrapped, cut with an ellipsis only when
    nothing else gives. Columns in ``drop`` are left out, in that order, when it cannot fit."""
    from kpconsole.cli.tables import fitted_table

    numeric = [c in right for c in columns]
    cells = [[fmt(v) if is_number else plain(v) for v, is_number in zip(row, numeric, strict=True)] for row in rows]
    return fitted_table(title, columns, cells, stdout.width, right=right, wrap=wrap, drop=drop)


def plain(value: Any) -> str:
    """A value as it is (IDs, names); dates shortened; None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def fmt(value: Any) -> str:
    """A number for people: thousands separators, four significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def kv(title: str, pairs: Mapping[str, Any]) -> Table:
    """A two-column key/value table."""
    return table(title, ["", " "], [(k, fmt(v) if isinstance(v, (int, float)) else v) for k, v in pairs.items()],
                 wrap=[" "])


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressFn]:
    """A progress callback that draws a bar on stderr when it is a terminal (silent otherwise)."""
    if not stderr.is_terminal:
        yield no_progress
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TextColumn("{task.fields[message]}"), TimeElapsedColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(label, total=1.0, message="")

        def report(fraction: float | None, message: str = "", metrics: Mapping[str, float] | None = None) -> None:
            shown = message
            if metrics:
                shown += "  " + "  ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            bar.update(task, completed=fraction if fraction is not None else None, message=shown)

        yield report


def note(message: str) -> None:
    """A message for the person (stderr), never mixed into data."""
    stderr.print(message)
