"""The export form (``o`` on Recommend, Segments, Value, Simulate and Community): a path and a
format, then the same export service the CLI's ``--out`` runs, in a worker, with its progress.

The file is written atomically by :func:`kpconsole.services.exports.write_export` — the whole
file or none — so cancelling the form or a failed export leaves whatever was at the path. A bad
path or format is the service's one-line error (naming the field) and the form stays open with
what was typed. Exports are reads of the workspace: every role may run them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label, Select

from kpconsole.errors import InvalidField
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.widgets.form_row import FormRow
from kpconsole.tui.widgets.path_suggester import PathSuggester, typed_path

if TYPE_CHECKING:
    from engine.progress import Progress
    from kpconsole.services.exports import ExportSummary, ExportTarget

    Export = Callable[[ExportTarget, Progress], ExportSummary]
else:
    Export = Callable

BY_SUFFIX = "by the file's suffix"


@dataclass
class Exported(Message):
    summary: ExportSummary


class ExportFormScreen(FormScreen["ExportSummary | None"]):
    """Export to a file"""

    SUBMIT_LABEL = "Export"
    STATUS_ID = "export-status"

    def __init__(self, what: str, export: Export, suggested: str) -> None:
        """``what`` is worded for the title (``segmentation 3``); ``export(target, progress)`` writes
        it; ``suggested`` is the file name offered (``segments-3.parquet``)."""
        super().__init__()
        self.what, self.export, self.suggested = what, export, suggested
        self.TITLE_TEXT = f"Export {what} to a file (written whole, or not at all)"

    def compose_fields(self) -> ComposeResult:
        from kpconsole.services.exports import FORMATS

        yield FormRow("file", Input(value=self.suggested, placeholder=".parquet, .csv or .jsonl", id="out",
                                    suggester=PathSuggester(), compact=True))
        yield FormRow("format", Select([(BY_SUFFIX, BY_SUFFIX), *((f, f) for f in FORMATS.values())], value=BY_SUFFIX,
                                       allow_blank=False, id="format", compact=True))
        yield Label("", id="export-status", classes="form-note")

    def on_mount(self) -> None:
        self.query_one("#out", Input).focus()

    def submit(self) -> None:
        from kpconsole.services.exports import export_target

        if not self.text("out"):
            raise InvalidField("{out}: give the file to write (.parquet, .csv or .jsonl)", "out")
        fmt = self.choice("format")
        target = export_target(typed_path(self.text("out")), None if fmt == BY_SUFFIX else str(fmt))
        self.query_one("#export-status", Label).update(f"writing {target.path}…")
        self.in_thread(self._write, target, group="export")

    def _write(self, target: ExportTarget) -> None:
        def progress(fraction: float | None, message: str = "", _metrics: object = None) -> None:
            if message:
                self.app.call_from_thread(self.query_one("#export-status", Label).update, message)

        self.post_message(Exported(self.export(target, progress)))

    def on_exported(self, message: Exported) -> None:
        self.dismiss(message.summary)
