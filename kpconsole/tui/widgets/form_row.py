"""One line of a form: a label on the left, a compact input on the right (fits 80×24).

Yes/no fields are a Select of ``no``/``yes`` rather than a checkbox: a checkbox shows its state
only in colour, which a NO_COLOR terminal loses.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Select


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


def yes_no(field_id: str, yes: str, no: str = "no") -> Select[bool]:
    """A compact Select whose choices say what each answer does, ``no`` first."""
    return Select([(no, False), (yes, True)], value=False, allow_blank=False, id=field_id, compact=True)


def choice_row(label: str, field_id: str, options: Iterable[str], value: str) -> FormRow:
    """The row that picks one of ``options`` (each shown as itself), ``value`` at first; never blank."""
    return FormRow(label, Select([(o, o) for o in options], value=value, allow_blank=False, id=field_id, compact=True))


def dataset_row(datasets: list[str], preferred: str | None, *, first_by_default: bool = True) -> FormRow:
    """The row that picks a dataset (field id ``data``): ``preferred`` when it is one of
    ``datasets``, else the first of them (or none with ``first_by_default=False``)."""
    if preferred in datasets:
        value = preferred
    elif datasets and first_by_default:
        value = datasets[0]
    else:
        value = Select.NULL
    return FormRow("dataset", Select([(d, d) for d in datasets], value=value,
                                     prompt="no datasets: ingest one first", id="data", compact=True))
