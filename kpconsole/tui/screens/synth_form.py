"""The sample-data form (Data → g): generate a platform with planted segments, tastes and price
sensitivity into a folder, as ``kpconsole data synth OUT`` does — the same fields, defaults and
checks, and the CLI's one-line message for a bad value, with nothing written. It runs in a worker
(seconds, not a job: the CLI runs it in the foreground too) and needs no role: it writes a folder,
not the workspace; ingesting the folder is what changes the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.errors import ConsoleError
from kpconsole.services import datasets
from kpconsole.services.datasets import SYNTH_DEFAULTS, SYNTH_FORMATS, SynthResult
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.widgets.form_row import FormRow, choice_row, yes_no
from kpconsole.tui.widgets.path_suggester import PathSuggester, typed_path

@dataclass
class Synthesized(Message):
    result: SynthResult


def whole_number(option: str, text: str, default: int) -> int:
    """A whole number typed for ``--option`` (blank: its default); otherwise the CLI's message."""
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        kind = "int range" if option in ("users", "days") else "int"  # as Click words IntRange and int
        raise ConsoleError(f"data synth: Invalid value for '--{option}': {text!r} is not a valid {kind}.") from None


def cli_line(error: datasets.SynthValueError) -> str:
    """The line ``kpconsole data synth`` prints for the same bad value (this form mirrors it)."""
    hint = "OUT" if error.field == "out" else f"'--{error.field}'"
    return f"data synth: Invalid value for {hint}: {error.reason.worded(lambda field: '--' + field)}"


class SynthFormScreen(FormScreen[SynthResult | None]):
    """Generate sample data"""

    TITLE_TEXT = "Generate sample data: a platform with planted segments, tastes and prices, into a folder"
    SUBMIT_LABEL = "Generate"
    STATUS_ID = "synth-status"

    def compose_fields(self) -> ComposeResult:
        yield FormRow("folder", Input(placeholder="a new or empty folder for users, items, events (+ truth_*)",
                                      id="out", suggester=PathSuggester(), compact=True))
        for name, label in (("users", "users (≥ 50)"), ("days", "days (≥ 1)"), ("seed", "seed")):
            yield FormRow(label, Input(value=str(SYNTH_DEFAULTS[name]), id=name, compact=True))
        yield choice_row("format", "format", SYNTH_FORMATS, "csv")
        yield FormRow("force", yes_no("force", "yes: write into a folder that already has files",
                                      "no: refuse a folder that has files"))
        yield Label("", id="synth-status", classes="form-note")

    def on_mount(self) -> None:
        self.query_one("#out", Input).focus()

    def submit(self) -> None:
        if not self.text("out"):
            raise ConsoleError("data synth: Missing argument 'out'.")
        out = typed_path(self.text("out"))
        numbers = {name: whole_number(name, self.text(name), default) for name, default in SYNTH_DEFAULTS.items()}
        self.query_one("#synth-status", Label).update(f"generating {numbers['users']:,} users × "
                                                      f"{numbers['days']} days…")
        self.in_thread(self._generate, out, numbers, str(self.choice("format")), bool(self.choice("force")),
                       group="synth")

    def _generate(self, out: Path, numbers: dict[str, int], fmt: str, force: bool) -> None:
        try:
            result = datasets.synthesize(out, fmt=fmt, force=force, **numbers)
        except datasets.SynthValueError as exc:
            raise ConsoleError(cli_line(exc)) from None
        self.post_message(Synthesized(result))

    def on_synthesized(self, message: Synthesized) -> None:
        self.dismiss(message.result)
