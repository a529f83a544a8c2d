"""The console application: screens as modes behind number keys, palette, help, themes, failures.

``run_console(session)`` is what ``kpconsole`` (no arguments, on a terminal) and ``kpconsole tui``
call. Each top-level screen is a Textual *mode*, so switching with 1…0 keeps every screen's state.

Screens other than the first are imported when first opened (some services import torch, which
would otherwise delay the first paint by seconds), and the Overview's data is read by workers
that start only once the first frame is on the terminal (:meth:`ConsoleApp.after_first_frame`):
a worker thread importing Polars holds the interpreter lock the painting needs.

Failures: an error raised in a worker (see :mod:`kpconsole.tui.messages`) is shown as a
notification with the same one line the CLI prints (user errors) or as "internal error (…);
details in logs/errors.log" (bugs, whose full traceback goes to that file). If the app itself crashes, Textual's crash report (a traceback with
local variables) is written to the workspace's ``logs/errors.log`` instead of the terminal, and
the person sees one line.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.command import Provider
from textual.message import Message
from textual.reactive import Initialize, Reactive
from textual.screen import Screen
from textual.worker import Worker

from kpconsole.tui import hangup
from kpconsole.tui.collector import keep_out_of_collections
from kpconsole.tui.failures import describe, log_text
from kpconsole.tui.job_history import JobHistory
from kpconsole.tui.messages import Failed, forward_failure
from kpconsole.tui.places import PLACES, may_open
from kpconsole.tui.polling import Poll
from kpconsole.tui.screens.overview import OverviewScreen
from kpconsole.tui.widgets.nav_bar import Place
from kpconsole.tui.themes import default_theme

if TYPE_CHECKING:
    from kpconsole.session import Session
    from store.jobs import JobRecord


def console_commands() -> type[Provider]:
    """The palette's provider, imported when the palette first opens (Textual calls this then)."""
    from kpconsole.tui.palette import ConsoleCommands

    return ConsoleCommands


def opened_later(place: Place) -> Callable[[], Screen]:
    """A factory for ``place``'s screen that imports its module on first use (the Overview's
    is imported with the app: it is the first frame)."""
    module, name = place.screen.split(":")
    module = f"kpconsole.tui.screens.{module}"

    def make() -> Screen:
        fresh = module not in sys.modules
        screen = getattr(importlib.import_module(module), name)()
        if fresh:
            keep_out_of_collections()
        return screen

    return make


SCREENS_BY_MODE: dict[str, Callable[[], Screen]] = {
    p.mode: OverviewScreen if p.mode == OverviewScreen.MODE else opened_later(p) for p in PLACES
}


NOTICES_KEPT = 30


@dataclass
class WatchedJobs(Message):
    jobs: list[JobRecord]


def job_outcome(job: JobRecord) -> str:
    """``job 12 (train) succeeded → model 3`` / ``job 12 (ingest) failed: <its one-line error>``."""
    made = f" → {job.result_kind} {job.result_id}" if job.result_kind else ""
    why = f": {job.error}" if job.error else ""
    return f"job {job.id} ({job.kind}) {job.status}{made}{why}"


class ConsoleApp(App[None]):
    """kpconsole's console over one session (workspace + person)."""

    TITLE = "kpconsole"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {console_commands}
    MODES = SCREENS_BY_MODE
    DEFAULT_MODE = "overview"
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Quit: console", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_now"),
        Binding("question_mark", "help", "Help", tooltip="Help: keys", id="app.help"),
        *(Binding(p.key, f"open('{p.mode}')", p.title, show=False, tooltip=f"Open: {p.title}",
                  id=f"open.{p.mode}") for p in PLACES),
    ]

    theme: Reactive[str] = Reactive(Initialize(lambda app: app.first_theme))
    """Textual's theme, starting as :attr:`first_theme`. Setting it in ``__init__`` instead would
    make Textual parse every style sheet again before the first frame (about 10% of the start)."""

    def __init__(self, session: Session, *, theme: str | None = None, watch_terminal: bool = True) -> None:
        self.first_theme = theme or default_theme()
        super().__init__()
        self.session = session
        self.watch_terminal = watch_terminal
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"
        # Textual prints an unexpected exception's traceback, locals included, on this console
        # as the app exits; keep it off the terminal (see run_console).
        self.error_console = Console(file=io.StringIO(), width=120, color_system=None,
                                     markup=False, highlight=False, soft_wrap=True)
        self.history = JobHistory()
        self.watched: dict[int, list[Callable[[JobRecord], None]]] = {}
        self.job_poll = Poll(self, "watched-jobs", self._collect_watched, every=1.0)
        self._last_failure: tuple[str, float] = ("", 0.0)
        self.notices: deque[str] = deque(maxlen=NOTICES_KEPT)
        self.first_frame_painted = False
        self._after_first_frame: list[Callable[[], object]] = []

    # --- life cycle --------------------------------------------------------------------

    def after_first_frame(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the first frame has been painted (now, if it has been)."""
        if self.first_frame_painted:
            callback()
        else:
            self._after_first_frame.append(callback)

    def on_ready(self) -> None:
        """Textual's Ready: the first frame has just been written to the terminal."""
        self.first_frame_painted = True
        keep_out_of_collections()
        waiting, self._after_first_frame = self._after_first_frame, []
        for callback in waiting:
            callback()

    def on_mount(self) -> None:
        if self.watch_terminal and not self.is_headless:
            fd = hangup.terminal_fd()
            if fd is not None:
                self.set_interval(hangup.CHECK_SECONDS, lambda: self._check_terminal(fd), name="terminal watch")
                hangup.on_sighup(asyncio.get_running_loop(), self.terminal_gone)

    def _check_terminal(self, fd: int) -> None:
        if not hangup.terminal_present(fd):
            self.terminal_gone()

    def terminal_gone(self) -> None:
        """The terminal hung up (SSH link dropped): leave, for sure; detached jobs keep running."""
        hangup.leave_for_sure()
        self.exit(return_code=hangup.HANGUP_EXIT_CODE)

    def crash_report(self) -> str:
        """What Textual would have printed on the terminal after an unexpected exception."""
        file = self.error_console.file
        return file.getvalue() if isinstance(file, io.StringIO) else ""

    # --- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open" and parameters and not may_open(self.session, str(parameters[0])):
            return False  # a screen the person's role does not show (Access for non-admins)
        return True

    def action_open(self, mode: str) -> None:
        """Switch to the screen of ``mode`` (its state is kept)."""
        if mode in self.MODES and mode != self.current_mode and may_open(self.session, mode):
            self.switch_mode(mode)

    def action_help(self) -> None:
        from kpconsole.tui.screens.help import HelpScreen  # a screen: imported when first shown

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # --- jobs started from this console ----------------------------------------------------

    def watch_job(self, job_id: int, on_end: Callable[[JobRecord], None] | None = None) -> None:
        """Tell the person when job ``job_id`` ends (and call ``on_end`` with it)."""
        self.watched.setdefault(job_id, [])
        if on_end is not None:
            self.watched[job_id].append(on_end)
        self.job_poll.start()

    def _collect_watched(self) -> WatchedJobs | None:
        from kpconsole import jobs  # in the worker: nothing before the first frame needs it

        ids = list(self.watched)
        return WatchedJobs([jobs.show_job(self.session, i) for i in ids]) if ids else None

    def on_watched_jobs(self, message: WatchedJobs) -> None:
        for job in message.jobs:
            self.history.add(job)
            if job.active or job.id not in self.watched:
                continue
            callbacks = self.watched.pop(job.id)
            self.notify(job_outcome(job), title="job ended",
                        severity="information" if job.status == "succeeded" else "error", timeout=10)
            for callback in callbacks:
                callback(job)
        if not self.watched:
            self.job_poll.stop()

    # --- telling the person -----------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """A toast, also kept in :attr:`notices` (the help screen lists them: a toast that vanished
        at 2 a.m. can still be read). Messages are plain text unless ``markup`` is asked for."""
        self.notices.append(f"{severity}: {message}")
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- failures ------------------------------------------------------------------------

    def report_failure(self, error: BaseException, where: str) -> None:
        """Notify the one-line message for ``error`` (a bug's traceback goes to logs/errors.log).

        The same message twice within 30 seconds (a poll failing each second) is shown once.
        """
        text = describe(error, self.session.ws.logs_dir, where)
        last, at = self._last_failure
        if text == last and time.monotonic() - at < 30:
            return
        self._last_failure = (text, time.monotonic())
        self.notify(text, title="failed", severity="error", timeout=10)

    def on_failed(self, message: Failed) -> None:
        self.report_failure(message.error, message.where)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)
        self.job_poll.finished(event)


def run_console(session: Session, mouse: bool = True, theme: str | None = None) -> None:
    """Open the console on this terminal until the person quits or the terminal goes away."""
    app = ConsoleApp(session, theme=theme)
    app.run(mouse=mouse)
    report = app.crash_report()
    if report.strip():
        path = log_text(session.ws.logs_dir, "console stopped on an unexpected error", report)
        sys.stderr.write(
            f"kpconsole: internal error; the console stopped — details in {path or 'no log (unwritable)'}\n"
        )
    if app.return_code:
        raise SystemExit(app.return_code)
