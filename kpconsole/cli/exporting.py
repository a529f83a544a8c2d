"""What every ``--out`` shares on the command line: the options, the progress bar, the
summary (a line on stderr, or ``--json`` on stdout) and the wording of a bad request.

The export service (:mod:`kpconsole.services.exports`) names the field that was wrong and
:func:`kpconsole.cli.main` words it as the option a person typed. Importing it loads no Polars.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kpconsole.cli import common

OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Write the rows to this file (.parquet, .csv or .jsonl), atomically: the whole file or none.")]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", help="parquet, csv or jsonl [default: by the suffix of --out].")]

def run_export(label: str, out: Path, fmt: str | None, export: Callable[[Any, Any], Any], as_json: bool) -> None:
    """Resolve ``out``/``fmt``, run ``export(target, progress)`` under a progress bar and
    report its summary."""
    from kpconsole.services import exports

    target = exports.export_target(out, fmt)  # a bad field is worded as its option by kpconsole.cli.main
    with common.progress_bar(label) as progress:
        summary = export(target, progress)
    common.emit(summary, as_json, lambda: common.note(summary.line))
