"""What the console's first frame is spared (issue 11: first paint within 1.5 × a bare Textual app).

Every widget on the first frame is set up, styled, laid out and drawn on its own, and every
style sheet source is parsed again whenever Textual refreshes its CSS; so the first frame holds
only what it shows (the nav bar and the tiles' frames, titles and placeholders), the start parses
only the shared styles, and what the frame does not show joins once it is painted. See "Speed"
in docs/tui.md for the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from test_tui_support import platform_workspace, run_async, settle
from textual.css.stylesheet import Stylesheet
from textual.widgets import Footer, Label, Sparkline

from kpconsole.session import create_session
from kpconsole.tui.app import ConsoleApp
from kpconsole.tui.widgets.kpi_tile import KpiTile

SCREENS = Path(__file__).resolve().parent.parent / "kpconsole" / "tui" / "screens"


class Census(ConsoleApp):
    """The console, noting what its first frame held and which style sheets were read for it."""

    def on_ready(self) -> None:
        self.first_widgets = [type(w).__name__ for w in self.screen.walk_children()]
        self.first_tiles = [[type(c).__name__ for c in tile.children] for tile in self.screen.query(KpiTile)]
        self.first_sheets = style_files(self)
        super().on_ready()


def style_files(app: ConsoleApp) -> set[str]:
    return {Path(path).name for path, _ in app.stylesheet.source if str(path).endswith(".tcss")}


@run_async
async def test_the_first_frame_holds_only_what_it_shows_and_the_rest_joins_once_it_is_painted(tmp_path):
    app = Census(platform_workspace(tmp_path / "ws"), theme="textual-dark", watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.first_tiles == [["Label"]] * 5  # the value's placeholder; the tile draws its title
        assert {"Footer", "Sparkline", "DataTable", "Select"}.isdisjoint(app.first_widgets)
        assert len(app.screen.query(Footer)) == 1
        for tile in app.screen.query(KpiTile):
            assert [type(c) for c in tile.children] == [Label, Sparkline, Label]  # value, trend, note
            assert not tile.pending


@run_async
async def test_the_start_reads_the_shared_styles_only_and_a_screen_its_own_when_first_shown(tmp_path):
    app = Census(create_session(tmp_path / "ws"), theme="textual-dark", watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.first_sheets == {"app.tcss"}
        await pilot.press("2")
        await settle(pilot)
        assert style_files(app) == {"app.tcss", "data.tcss"}
    screens = {p.stem for p in SCREENS.glob("*.tcss")}
    assert {"data", "jobs", "models", "simulate"} <= screens  # the rules that left app.tcss


@run_async
async def test_a_chosen_theme_costs_the_start_no_second_parse_of_every_style_sheet(tmp_path, monkeypatch):
    reparsed: list[str] = []
    reparse = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        reparsed.append("reparse")
        reparse(self)

    monkeypatch.setattr(Stylesheet, "reparse", counted)
    session = create_session(tmp_path / "ws")
    counts = {}
    for theme in ("textual-dark", "ansi-light"):  # Textual's own default, and one chosen
        reparsed.clear()
        app = Census(session, theme=theme, watch_terminal=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.current_theme.name == theme
            counts[theme] = reparsed.count("reparse")
    assert counts["ansi-light"] == counts["textual-dark"]


FIRST_FRAME = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from kpconsole.session import open_session
    from kpconsole.tui.app import ConsoleApp

    class FirstFrame(ConsoleApp):
        def on_ready(self):
            print(json.dumps(sorted(sys.modules)), flush=True)
            self.exit()

    FirstFrame(open_session(Path(sys.argv[1])), watch_terminal=False).run(headless=True, size=(80, 24))
""")


def test_the_first_frame_imports_no_module_for_what_joins_it_later(tmp_path):
    session = create_session(tmp_path / "ws")
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(session.ws.root)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    later = {"textual.widgets._data_table", "textual.widgets._sparkline", "kpconsole.tui.palette"}
    assert loaded & later == set()  # the jobs table, the tiles' trends, the command palette
