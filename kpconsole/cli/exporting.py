"""What every ``--out`` shares on the command line: the options, the progress bar, the
summary (a line on stderr, or ``--json`` on stdout) and the wording of a bad request.

The export service (:mod:`kpconsole.services.exports`) names the field that was wrong; this
module words it as the option a person typed. Importing it loads no Polars.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kpconsole.cli import common
from kpconsole.errors import ConsoleError

OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Write the rows to this file (.parquet, .csv or .jsonl), atomically: the whole file or none.")]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", help="parquet, csv or jsonl [default: by the suffix of --out].")]

#: The option that carries each field the export service names.
FLAGS = {"out": "--out", "format": "--format", "users": "--users", "hide": "--hide", "k": "-k",
         "diversity": "--diversity", "horizon": "--horizon"}


def run_export(label: str, out: Path, fmt: str | None, export: Callable[[Any, Any], Any], as_json: bool) -> None:
    """Resolve ``out``/``fmt``, run ``export(target, progress)`` under a progress bar and
    report its summary; a bad request is one line naming the option."""
    from kpconsole.services import exports

    try:
        target = exports.export_target(out, fmt)
        with common.progress_bar(label) as progress:
            summary = export(target, progress)
    except exports.InvalidExport as exc:
        raise ConsoleError(f"{FLAGS.get(exc.field, exc.field)} {exc.value}: {exc.reason}") from None
    common.emit(summary, as_json, lambda: common.note(summary.line))
