"""A modal form: centred box, ctrl+s submits, escape cancels, failures shown as one line.

Subclasses compose their fields inside :meth:`compose_fields`, and implement :meth:`submit`,
which reads the fields (a missing or malformed value is a :class:`ConsoleError` raised before
anything is changed) and starts the work, usually in :meth:`in_thread`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select
from textual.worker import Worker, WorkerState

from kpconsole.errors import USER_ERRORS
from kpconsole.tui.messages import forward_failure
from kpconsole.tui.widgets.form_row import FormRow, dataset_row

Result = TypeVar("Result")


class FormScreen(ModalScreen[Result]):
    TITLE_TEXT: ClassVar[str] = ""
    SUBMIT_LABEL: ClassVar[str] = "Start"
    STATUS_ID: ClassVar[str | None] = None
    """The id of a Label saying what the form's worker is doing; cleared when the worker fails
    (the failure itself is shown as one line), so the form is left as it was typed."""
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > VerticalScroll { width: 100; max-width: 100%; height: auto; max-height: 1fr;
                                  border: round $primary; padding: 0 1; background: $surface; }
    FormScreen .form-title { text-style: bold; margin-bottom: 1; }
    FormScreen .form-note { color: $text-muted; margin-bottom: 1; }
    FormScreen .buttons { height: auto; }
    FormScreen Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit", tooltip="Submit: form", id="form.submit"),
        Binding("escape", "cancel", "Cancel", tooltip="Cancel: form", id="form.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(self.TITLE_TEXT, classes="form-title")
            yield from self.compose_fields()
            with Horizontal(classes="buttons"):
                yield Button(f"{self.SUBMIT_LABEL} (ctrl+s)", variant="primary", id="submit", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield Footer()

    def compose_fields(self) -> ComposeResult:
        return iter(())

    def text(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def choice(self, field: str) -> object | None:
        """The value picked in a Select, None when nothing is picked."""
        value = self.query_one(f"#{field}", Select).value
        return None if value is Select.NULL else value

    def submit(self) -> None:
        """Read the fields and start the work."""

    def action_submit(self) -> None:
        try:
            self.submit()
        except USER_ERRORS as exc:
            self.app.report_failure(exc, self.TITLE_TEXT)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        elif event.button.id == "cancel":
            self.action_cancel()

    def in_thread(self, work: Callable[..., Any], *args: Any, group: str) -> Worker:
        return self.run_worker(partial(work, *args), thread=True, group=group, exclusive=True,
                               exit_on_error=False, name=group)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and self.STATUS_ID is not None:
            self.query_one(f"#{self.STATUS_ID}", Label).update("")
        forward_failure(self, event)


class DatasetFormScreen(FormScreen[Result]):
    """A form whose first field picks one of ``datasets`` (``dataset`` when given, else the first)."""

    def __init__(self, datasets: list[str], dataset: str | None = None) -> None:
        super().__init__()
        self.datasets = datasets
        self.dataset = dataset

    def dataset_field(self) -> FormRow:
        return dataset_row(self.datasets, self.dataset)
