"""Messages shared across screens and widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState


@dataclass
class Failed(Message):
    """Something the person asked for failed; bubbles up to the app, which shows one line."""

    error: BaseException
    where: str


def forward_failure(node: DOMNode, event: Worker.StateChanged) -> None:
    """Turn a failed worker of ``node`` into a :class:`Failed` message (worker state changes do
    not bubble, so each owner of workers calls this from its ``on_worker_state_changed``)."""
    if event.state is WorkerState.ERROR and event.worker.error is not None:
        node.post_message(Failed(event.worker.error, event.worker.name))
