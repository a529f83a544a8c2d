"""The command palette's provider: every screen the person may open, every action of the screen in
front, themes.

Names read "Verb: object" ("Open: Models", "Train: model…"). A screen's actions come from its
bindings, whose tooltips carry those names, so the footer, the help screen and the palette never
disagree; actions the person's role does not allow are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kpconsole.tui.places import places_for
from kpconsole.tui.themes import THEMES


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[], object]


class ConsoleCommands(Provider):
    """Screens, the front screen's actions and themes, as palette commands."""

    def commands(self) -> Iterator[Command]:
        app = self.app
        seen: set[str] = set()
        for place in places_for(app.session):
            name = f"Open: {place.title}"
            seen.add(name)
            yield Command(name, f"key {place.key}", partial(app.run_action, f"open('{place.mode}')"))
        for key, active in self.screen.active_bindings.items():
            name = active.binding.tooltip
            if not active.enabled or ":" not in name or name in seen:
                continue
            seen.add(name)
            yield Command(name, f"key {app.get_key_display(active.binding)}",
                          partial(app.run_action, active.binding.action, active.node))
        for theme in THEMES:
            yield Command(f"Theme: {theme}", "colours; ansi-* use the terminal's own palette",
                          partial(setattr, app, "theme", theme))

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, help=command.help)
