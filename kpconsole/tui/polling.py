"""Polling that never overlaps (dolphie's loop): a thread worker collects, the owner renders the
message it posts, and only then is the next collection armed.

The owner forwards its ``Worker.StateChanged`` events to :meth:`Poll.finished` (the base screen
and the app do). A collection that raises is reported by the app like any failed worker, and
polling goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, WorkerState

DONE = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class Poll:
    """Every ``every`` seconds (while ``active()``), run ``collect`` in a thread and post its message."""

    def __init__(self, owner: DOMNode, group: str, collect: Callable[[], Message | None], every: float,
                 active: Callable[[], bool] = lambda: True) -> None:
        self.owner = owner
        self.group = group
        self.collect = collect
        self.every = every
        self.active = active
        self.worker: Worker | None = None
        self.timer: Timer | None = None
        self.stopped = True

    def start(self) -> None:
        """Collect now (unless a collection is running), then keep polling."""
        self.stopped = False
        if self.worker is None:
            if self.timer is not None:
                self.timer.stop()
                self.timer = None
            self._run()

    def now(self) -> None:
        """Collect as soon as possible (e.g. right after the person changed something)."""
        self.start()

    def stop(self) -> None:
        self.stopped = True
        if self.timer is not None:
            self.timer.stop()
            self.timer = None

    def _run(self) -> None:
        self.timer = None
        if self.stopped:
            return
        if not self.active():
            self._arm()
            return
        self.worker = self.owner.run_worker(self._collect, thread=True, group=self.group,
                                            exit_on_error=False, name=self.group)

    def _collect(self) -> None:
        message = self.collect()
        if message is not None:
            self.owner.post_message(message)

    def _arm(self) -> None:
        if not self.stopped:
            self.timer = self.owner.set_timer(self.every, self._run, name=self.group)

    def finished(self, event: Worker.StateChanged) -> bool:
        """Re-arm after this poll's collection ended; returns whether the event was this poll's."""
        if event.worker is not self.worker or event.state not in DONE:
            return False
        self.worker = None
        self._arm()
        return True
