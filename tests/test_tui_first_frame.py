"""The console's first frame comes fast: it imports no heavy library, service or other screen,
starts no worker, and shows the Overview's tiles with a placeholder that the workers then fill in.

The import checks run the console in a fresh process (this one has imported everything by now);
the tile checks record what the first frame held at Textual's Ready, which comes right after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from test_tui_support import console, platform_workspace, run_async, settle

from kpconsole.session import create_session
from kpconsole.tui.app import ConsoleApp
from kpconsole.tui.widgets.kpi_tile import PENDING, KpiTile

HEAVY = ("torch", "polars", "scipy", "pyarrow", "plotext", "asyncssh")
"""Libraries the console must not import before its first frame (seconds between them)."""
STORE_LIBRARIES = ("sqlite_utils", "numpy")
"""The store's write library, imported only when it writes, and numpy, which it pulls in."""
FIRST_SCREEN_MODULES = {"kpconsole.tui.screens", "kpconsole.tui.screens.base", "kpconsole.tui.screens.overview"}
ENGINE_PROTOCOL = {"engine", "engine.errors", "engine.progress"}
"""The engine modules the console layer itself uses (its errors and the progress callbacks)."""

FIRST_FRAME = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from kpconsole.session import open_session
    from kpconsole.tui.app import ConsoleApp

    class FirstFrame(ConsoleApp):
        def on_ready(self):
            self.seen = {"first_frame": sorted(sys.modules)}
            self.switch_mode("data")
            self.call_after_refresh(self.data_shown)

        def data_shown(self):
            self.seen["data_shown"] = sorted(sys.modules)
            print(json.dumps(self.seen), flush=True)
            self.exit()

    FirstFrame(open_session(Path(sys.argv[1])), watch_terminal=False).run(headless=True, size=(80, 24))
""")


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.fixture(scope="module")
def modules(tmp_path_factory) -> dict[str, set[str]]:
    """The modules loaded when the console's first frame was painted, and once Data was shown."""
    session = platform_workspace(tmp_path_factory.mktemp("first-frame") / "ws")
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(session.ws.root)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return {when: set(names) for when, names in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def test_the_first_frame_imports_no_heavy_library_no_service_and_no_other_screen(modules):
    first = modules["first_frame"]
    assert sorted(m for m in first if top(m) in HEAVY) == []
    assert sorted(m for m in first if m.startswith("kpconsole.services")) == []
    assert sorted(m for m in first if top(m) == "engine" and m not in ENGINE_PROTOCOL) == []
    assert sorted(m for m in first if m.startswith("kpconsole.tui.screens")) == sorted(FIRST_SCREEN_MODULES)


def test_the_first_frame_does_not_load_the_stores_write_library(modules):
    assert sorted(m for m in modules["first_frame"] if top(m) in STORE_LIBRARIES) == []


def test_a_screen_is_imported_when_it_is_first_shown(modules):
    assert "kpconsole.tui.screens.data" not in modules["first_frame"]
    assert "kpconsole.tui.screens.data" in modules["data_shown"]


class RecordsFirstFrame(ConsoleApp):
    """The console, noting what its first frame showed and which workers were running by then."""

    def on_ready(self) -> None:
        self.first_tiles = {tile.id: (tile.pending, tile_value(tile)) for tile in self.screen.query(KpiTile)}
        self.first_workers = [worker.name for worker in self.workers]
        super().on_ready()


def tile_value(tile: KpiTile) -> str:
    return str(tile.query_one(".kpi--value").render())


@run_async
async def test_the_first_frame_shows_the_tiles_with_a_placeholder_and_workers_fill_them_in_after_it(tmp_path):
    session = platform_workspace(tmp_path / "ws")
    app = RecordsFirstFrame(session, theme="textual-dark", watch_terminal=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.first_workers == []  # nothing was reading the workspace while the frame was made
        assert len(app.first_tiles) == 5
        assert set(app.first_tiles.values()) == {(True, PENDING)}
        values = {tile.id: (tile.pending, tile_value(tile)) for tile in app.screen.query(KpiTile)}
        assert {pending for pending, _ in values.values()} == {False}
        assert values["kpi-users"][1] == "1,000"
        assert PENDING not in {value for _, value in values.values()}


@run_async
async def test_with_no_dataset_the_tiles_say_so_instead_of_waiting_forever(tmp_path):
    app = console(create_session(tmp_path / "ws"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tiles = list(app.screen.query(KpiTile))
        assert [tile_value(t) for t in tiles] == ["–"] * 5
        assert not any(t.pending for t in tiles)
