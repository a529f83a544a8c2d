"""``?``: the keys of the screen in front and the console's own, with what each does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kpconsole.tui.places import places_for

TIPS = (
    "ctrl+p opens the command palette: type a few letters of what you want (\"open mod\", \"train\").",
    "Long work runs as a job: it keeps running if the terminal or SSH link drops; see 9 Jobs.",
    "Over SSH use `ssh -t host kpconsole`; if colours look wrong try Theme: ansi-dark in the palette.",
)


def key_table(screen: Screen, key_display) -> Table:
    """The screen's active keys (greyed-out ones marked) plus the screen numbers."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=10)
    table.add_column("what")
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        what = binding.tooltip
        if ":" not in what or what in seen or binding.action.startswith("open("):
            continue
        seen.add(what)
        note = "" if active.enabled else "  (not for your role)"
        table.add_row(key_display(binding), what + note)
    places = places_for(screen.app.session)
    table.add_row(f"1 … {places[-1].key}", "Screens: " + ", ".join(f"{p.key} {p.title}" for p in places))
    table.add_row("↑↓ PgUp/Dn", "Move in lists and tables; Home/End jump to the first/last row")
    table.add_row("tab", "Next field or panel (shift+tab: previous); enter submits a form")
    return table


class HelpScreen(ModalScreen[None]):
    """Keys for the screen underneath; escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $primary;
                                  padding: 0 1; background: $surface; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", tooltip="Close: help", id="help.close"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"Keys — {getattr(self.under, 'TITLE', None) or 'console'}", style="bold"))
            yield Static(key_table(self.under, self.app.get_key_display))
            yield Static(Text("\n".join(TIPS), style="dim"))
            notices = list(getattr(self.app, "notices", []))
            if notices:
                yield Static(Text("Recent messages (newest last)\n", style="bold") + Text("\n".join(notices[-10:])))
