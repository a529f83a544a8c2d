"""One line of a form: a label on the left, a compact input on the right (fits 80×24)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label


class FormRow(Horizontal):
    DEFAULT_CSS = """
    FormRow { height: auto; margin: 0 0 1 0; }
    FormRow > Label { width: 16; padding: 0 1 0 0; color: $text-muted; }
    FormRow > Input, FormRow > Select { width: 1fr; }
    FormRow > Checkbox { border: none; padding: 0; height: 1; background: transparent; }
    """

    def __init__(self, label: str, field: Widget, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.field = field

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield self.field
