"""The screen bar on the top line: every screen with its number key, the current one marked.

At 80 columns the names shorten; the current screen is marked with ▸ as well as in reverse video,
so it reads without colour too. Each name is clickable when the mouse is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widget import Widget


@dataclass(frozen=True)
class Place:
    mode: str
    key: str
    title: str
    short: str
    screen: str = ""
    """Where its screen is: ``module:Class`` under ``kpconsole.tui.screens``."""
    needs: str | None = None
    """The policy action a person's role must allow to see this place (None: everyone)."""


class NavBar(Widget):
    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; }
    """

    def __init__(self, places: Sequence[Place], current: str, who: str, role: str) -> None:
        super().__init__()
        self.places = list(places)
        self.current = current
        self.who = who
        self.role = role

    def render(self) -> Text:
        width = self.size.width
        full = self._line(short=False)
        line = full if full.cell_len + len(self.who) + 1 <= width else self._line(short=True)
        room = width - line.cell_len
        for tag in (f"{self.who} ({self.role})", self.role):
            if room >= len(tag) + 1:
                line.append(" " * (room - len(tag)) + tag, style="dim")
                break
        return line

    def _line(self, *, short: bool) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for place in self.places:
            name = place.short if short else place.title
            click = Style.from_meta({"@click": f"app.open('{place.mode}')"})
            if place.mode == self.current:
                out.append(f"▸{place.key} {name}", style=Style(bold=True, reverse=True) + click)
            else:
                out.append(f" {place.key} {name}", style=click)
        return out
