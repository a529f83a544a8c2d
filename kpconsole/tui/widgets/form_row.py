"""One line of a form: a label on the left, a compact input on the right (fits 80×24).

Yes/no fields are a Select of ``no``/``yes`` rather than a checkbox: a checkbox shows its state
only in colour, which a NO_COLOR terminal loses.
"""

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
    """

    def __init__(self, label: str, field: Widget, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.field = field

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield self.field


def yes_no(field_id: str, yes: str, no: str = "no") -> "Select[bool]":
    """A compact Select whose choices say what each answer does, ``no`` first."""
    from textual.widgets import Select

    return Select([(no, False), (yes, True)], value=False, allow_blank=False, id=field_id, compact=True)
