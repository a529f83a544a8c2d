"""The ingest form (Data → i): a file, folder or Stack Exchange dump in, a dataset out, as a job.

It starts the same job ``kpconsole data ingest PATH --name NAME --detach`` starts, after the same
up-front checks (name, path, format, role, an existing dataset), so bad input is refused at once
with the CLI's one-line message and nothing is recorded. The job survives a dropped link.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Select

from kpconsole.errors import ConsoleError
from kpconsole.jobs.ingest import start_ingest
from kpconsole.services import datasets
from kpconsole.services.datasets import INGEST_FORMATS, IngestRequest
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.widgets.form_row import FormRow, yes_no
from kpconsole.tui.widgets.path_suggester import PathSuggester, typed_path


@dataclass
class IngestStarted(Message):
    job_id: int
    name: str


def optional_path(text: str):
    return typed_path(text) if text.strip() else None


class IngestScreen(FormScreen[int | None]):
    """Ingest a file"""

    TITLE_TEXT = "Ingest a file, folder or Stack Exchange dump (runs as a job)"
    SUBMIT_LABEL = "Ingest"

    def __init__(self, path: str = "", name: str = "") -> None:
        """``path`` and ``name`` fill those fields in (after generating sample data, say)."""
        super().__init__()
        self.path, self.name_given = path, name

    def compose_fields(self) -> ComposeResult:
        yield FormRow("path", Input(self.path, placeholder="events.csv, a folder, or a dump folder", id="path",
                                    suggester=PathSuggester(), compact=True))
        yield FormRow("name", Input(self.name_given, placeholder="dataset name: letters, digits, . _ -", id="name",
                                    compact=True))
        yield FormRow("format", Select([(f, f) for f in INGEST_FORMATS], prompt="by suffix/content",
                                       id="format", compact=True))
        yield FormRow("map", Input(placeholder="FIELD=COLUMN, … e.g. user_id=id_student, items.price=cost",
                                   id="map", compact=True))
        yield FormRow("kind", Input(placeholder="event kind for every row (instead of a kind column)",
                                    id="kind", compact=True))
        yield FormRow("users file", Input(placeholder="optional users file", id="users",
                                          suggester=PathSuggester(), compact=True))
        yield FormRow("items file", Input(placeholder="optional items file", id="items",
                                          suggester=PathSuggester(), compact=True))
        yield FormRow("time format", Input(placeholder="epoch, epoch_ms or a strftime format (detected)",
                                           id="ts_format", compact=True))
        yield FormRow("replace", yes_no("replace", "yes: overwrite a dataset of the same name",
                                        "no: refuse if the name is taken"))

    def on_mount(self) -> None:
        self.query_one("#name" if self.path else "#path", Input).focus()

    def request(self) -> IngestRequest:
        """The form as an ingest request; a missing PATH or NAME is a one-line usage error."""
        if not self.text("path"):
            raise ConsoleError("ingest: missing path (a file, a folder or a Stack Exchange dump folder)")
        if not self.text("name"):
            raise ConsoleError("ingest: missing name (the dataset name in the workspace)")
        fmt = self.choice("format")
        pairs = [p.strip() for p in self.text("map").split(",") if p.strip()]
        return IngestRequest(
            path=typed_path(self.text("path")), name=self.text("name"),
            format=fmt, mapping=datasets.parse_mapping(pairs),
            kind=self.text("kind") or None, users=optional_path(self.text("users")),
            items=optional_path(self.text("items")), ts_format=self.text("ts_format") or None,
            replace=bool(self.choice("replace")),
        )

    def submit(self) -> None:
        self.in_thread(self._start, self.request(), group="ingest-start")

    def _start(self, request: IngestRequest) -> None:
        job_id = start_ingest(self.app.session, request)
        self.post_message(IngestStarted(job_id, request.name))

    def on_ingest_started(self, message: IngestStarted) -> None:
        self.notify(f"ingest of '{message.name}' started as job {message.job_id}; see 9 Jobs")
        self.dismiss(message.job_id)
