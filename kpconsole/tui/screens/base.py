"""What every top-level screen shares: the nav bar, the footer, the session, role gating, workers.

A screen's blocking work (queries, service calls) runs in a thread worker through
:meth:`ConsoleScreen.in_thread`; the worker posts a typed message back and never touches a
widget. If the work raises, a :class:`~kpconsole.tui.messages.Failed` message takes it to the
app, which shows the one-line message, so screens only handle success.

A screen's own styles are in a ``.tcss`` beside its module (``CSS_PATH``), which Textual reads
when the screen is first shown; ``app.tcss`` holds only what every screen shares and what the
first frame (the Overview) needs, so that the start parses no more CSS than it paints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from kpconsole.session import Session
from kpconsole.tui.messages import forward_failure
from kpconsole.tui.permissions import may
from kpconsole.tui.places import places_for
from kpconsole.tui.polling import Poll
from kpconsole.tui.widgets.nav_bar import NavBar

if TYPE_CHECKING:
    from kpconsole.tui.app import ConsoleApp


class ConsoleScreen(Screen):
    """A screen reached from the nav bar: its body between the nav bar and the footer."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    MODE: ClassVar[str] = ""
    GATED: ClassVar[dict[str, str]] = {}
    """Action method name → policy action (``{"train": "model.train"}``): greyed out when the
    person's role does not allow it."""

    def __init__(self) -> None:
        super().__init__(classes=self.width_class(self.app.size.width))
        self.polls: list[Poll] = []

    @classmethod
    def width_class(cls, width: int) -> str:
        """The breakpoint class Textual gives a screen ``width`` cells wide. A screen that starts with
        it is not restyled, every widget of it, when Textual sets it on the first resize."""
        return max((at, name) for at, name in cls.HORIZONTAL_BREAKPOINTS if width >= at)[1]

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.console.session

    def compose(self) -> ComposeResult:
        actor = self.session.actor
        yield NavBar(places_for(self.session), self.MODE, actor.name, str(actor.role))
        yield from self.compose_body()

    def on_mount(self) -> None:
        """The footer joins once the console's first frame is painted: on the first screen a
        frame later, which spares that frame the footer's keys (Textual composes them twice)."""
        self.console.after_first_frame(lambda: self.mount(Footer()))

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        return iter(())

    def allowed(self, action: str) -> bool:
        """Whether the person's role allows a policy action such as ``model.train``."""
        return may(self.session, action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        gated = self.GATED.get(action)
        if gated is not None and not self.allowed(gated):
            return None  # shown greyed out in the footer; left out of the palette
        return True

    def offer_export(self, what: str, export: Callable[..., Any], suggested: str) -> None:
        """Open the export form for ``what`` (``export(target, progress)`` writes it, as the CLI's
        ``--out`` does); the file written is announced in one line."""
        from kpconsole.tui.screens.export_form import ExportFormScreen

        def done(summary: Any) -> None:
            if summary is not None:
                self.notify(summary.line)

        self.app.push_screen(ExportFormScreen(what, export, suggested), done)

    def in_thread(self, work: Callable[..., Any], *args: Any, group: str, name: str = "") -> Worker:
        """Run ``work(*args)`` in a thread worker; the newest call in ``group`` wins."""
        return self.run_worker(partial(work, *args), thread=True, group=group, exclusive=True,
                               exit_on_error=False, name=name or group)

    def poll(self, group: str, collect: Callable[[], Message | None], every: float) -> Poll:
        """A :class:`Poll` that collects only while this screen is in front."""
        poll = Poll(self, group, collect, every, active=lambda: self.is_current)
        self.polls.append(poll)
        return poll

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)
        for poll in self.polls:
            poll.finished(event)
