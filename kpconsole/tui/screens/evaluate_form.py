"""The evaluation form (Models → e): a model's full-ranking metrics at chosen cut-offs on its own
test split, over its test users or for one user — ``kpconsole model evaluate`` in a worker (a
read: any role). The Models screen shows the result beside the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.choices import DEVICES
from kpconsole.services import model_evaluation
from kpconsole.services.model_evaluation import Evaluation
from kpconsole.services.model_requests import split_words
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow, choice_row

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.models import ModelRecord


@dataclass
class Evaluated(Message):
    evaluation: Evaluation


def cut_offs(text: str) -> list[int]:
    """``"10 20, 50"`` → ``[10, 20, 50]``; blank → ``[10]`` (as ``model evaluate`` without --k)."""
    return [int(number("k", word, int)) for word in split_words(text.split())] or [10]


def evaluation_view(result: Evaluation) -> Group:
    """What ``model evaluate`` prints: who was evaluated, then each metric at each k."""
    who = f"user {result.user}" if result.user else f"{result.users:,} test users"
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("metric")
    for k in result.ks:
        table.add_column(f"@{k}", justify="right")
    names = list(dict.fromkeys(key.split("@")[0] for key in result.metrics if "@" in key))
    for name in names:
        table.add_row(name, *(short(result.metrics.get(f"{name}@{k}")) for k in result.ks))
    return Group(f"model {result.model_id} ({result.algo} on '{result.dataset}'), full ranking, {who}", table)


class EvaluateFormScreen(FormScreen[Evaluation | None]):
    """Evaluate a model"""

    TITLE_TEXT = "Evaluate a model on its test split (full ranking; training items excluded)"
    SUBMIT_LABEL = "Evaluate"

    def __init__(self, record: ModelRecord) -> None:
        super().__init__()
        self.record = record

    def compose_fields(self) -> ComposeResult:
        r = self.record
        yield Label(f"model #{r.id} {r.algo} on {r.dataset} ({r.n_users:,} users × {r.n_items:,} items)",
                    classes="form-note")
        yield FormRow("cut-offs", Input(value="10 20", placeholder="k values, e.g. 10 20 50 [10]", id="ks",
                                        compact=True))
        yield FormRow("user", Input(placeholder="one user's ID [every test user]", id="user", compact=True))
        yield choice_row("device", "device", DEVICES, "auto")

    def submit(self) -> None:
        ks = cut_offs(self.text("ks"))
        self.in_thread(self._evaluate, ks, self.text("user") or None, str(self.choice("device")), group="evaluate")

    def _evaluate(self, ks: list[int], user: str | None, device: str) -> None:
        self.post_message(Evaluated(model_evaluation.evaluate(self.app.session, self.record.id, ks, user=user,
                                                              device=device)))

    def on_evaluated(self, message: Evaluated) -> None:
        self.dismiss(message.evaluation)
