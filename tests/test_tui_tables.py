"""Tables filled by ``sync_rows`` show every cell in full, whenever the screen draws a frame.

Textual measures new cells only when the table is next idle and keeps the lines it drew before
that; a frame drawn in between (a busy machine makes it likelier) cut rows to the old column
widths for good. This is what made the Recommend snapshot fail now and then in full-suite runs:
the 120×40 picture came out with every column as narrow as its header ("10" shown as "1").
"""

from __future__ import annotations

from test_tui_support import run_async, screen_text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from kpconsole.tui.tables import set_columns, sync_rows


class OneTable(App[None]):
    CSS = "DataTable { height: 1fr; }"  # a fixed-size table: no resize to refresh its lines

    def compose(self) -> ComposeResult:
        yield DataTable(id="table")

    def with_columns(self, columns: tuple[str, ...]) -> DataTable:
        """The table, its columns set (as a screen sets them before its first rows)."""
        table = self.query_one(DataTable)
        set_columns(table, columns)
        return table


async def text_after_an_early_frame(pilot) -> str:
    """What the screen shows once the table is idle, after a frame drawn before it was (a busy
    machine draws one there)."""
    pilot.app.export_screenshot()
    await pilot.pause()
    return screen_text(pilot.app)


@run_async
async def test_rows_drawn_before_the_table_measures_them_are_shown_at_full_width():
    app = OneTable()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.with_columns(("#", "why"))
        await pilot.pause()
        sync_rows(table, [("10", ("10", "because you commented on it"))])
        assert "10  because you commented on it" in await text_after_an_early_frame(pilot)


@run_async
async def test_cells_updated_in_place_widen_their_column():
    app = OneTable()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.with_columns(("#", "title"))
        sync_rows(table, [("1", ("1", "short"))])
        await pilot.pause()
        sync_rows(table, [("1", ("1", "a much longer title"))])  # same keys: updated in place
        assert "1  a much longer title" in await text_after_an_early_frame(pilot)
