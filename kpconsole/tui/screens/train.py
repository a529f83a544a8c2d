"""The training form (Models → t): dataset, algorithm, hyper-parameters, split → a ``train`` job.

It starts the job ``kpconsole model train … --detach`` starts, after the same up-front checks
(the algorithm's parameters, the dataset and its event kinds, the role), so bad input gets the
CLI's one-line message and nothing is recorded. Blank fields take the algorithm's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input

from kpconsole.choices import ALGORITHMS, DEVICES, SPLITS
from kpconsole.errors import ConsoleError
from kpconsole.services import models
from kpconsole.services.model_requests import TrainRequest, split_words
from kpconsole.tui.screens.form import DatasetFormScreen
from kpconsole.tui.widgets.form_row import FormRow, choice_row

HYPER = ("factors", "epochs", "reg", "lr", "alpha")
"""Hyper-parameters the form offers (as ``model train --factors …`` does); each applies to the
algorithms that declare it, and naming it for another is the engine's one-line error."""


@dataclass
class TrainingStarted(Message):
    job_id: int
    algo: str
    data: str


def number(field: str, text: str, kind: type) -> int | float:
    """A typed number from a form field; a one-line usage error when it is not one."""
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConsoleError(f"{field}: {text!r} is not {what}") from None


class TrainScreen(DatasetFormScreen[int | None]):
    """Train a recommender"""

    TITLE_TEXT = "Train a recommender (runs as a job; the Models screen charts it live)"
    SUBMIT_LABEL = "Train"

    def compose_fields(self) -> ComposeResult:
        yield self.dataset_field()
        yield choice_row("algorithm", "algo", ALGORITHMS, "als")
        yield FormRow("factors", Input(placeholder="latent factors (als, bpr, ncf) [default]", id="factors",
                                       compact=True))
        yield FormRow("epochs", Input(placeholder="passes over the data (als, bpr, ncf) [default]", id="epochs",
                                      compact=True))
        yield FormRow("reg", Input(placeholder="L2 regularisation [default]", id="reg", compact=True))
        yield FormRow("lr", Input(placeholder="learning rate (bpr, ncf) [default]", id="lr", compact=True))
        yield FormRow("alpha", Input(placeholder="confidence weight (als) [default]", id="alpha", compact=True))
        yield choice_row("split", "split", SPLITS, "random")
        yield FormRow("test ratio", Input(value="0.2", id="test_ratio", compact=True))
        yield FormRow("seed", Input(value="42", id="seed", compact=True))
        yield FormRow("events", Input(placeholder="event kinds, e.g. purchase,like [the dataset's defaults]",
                                      id="events", compact=True))
        yield choice_row("device", "device", DEVICES, "auto")

    def request(self) -> TrainRequest:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("train: no dataset chosen (ingest one first: Data → i)")
        hyper: dict[str, int | float] = {}
        for name in HYPER:
            if self.text(name):
                hyper[name] = number(name, self.text(name), int if name in ("factors", "epochs") else float)
        return TrainRequest(
            data=str(data), algo=str(self.choice("algo")), params=hyper, device=str(self.choice("device")),
            split=str(self.choice("split")), test_ratio=number("test ratio", self.text("test_ratio") or "0.2", float),
            seed=int(number("seed", self.text("seed") or "42", int)), events=split_words([self.text("events")]),
        )

    def submit(self) -> None:
        self.in_thread(self._start, self.request(), group="train-start")

    def _start(self, request: TrainRequest) -> None:
        job_id = models.start_training(self.app.session, request)
        self.post_message(TrainingStarted(job_id, request.algo, request.data))

    def on_training_started(self, message: TrainingStarted) -> None:
        self.notify(f"training {message.algo} on '{message.data}' started as job {message.job_id}")
        self.dismiss(message.job_id)
