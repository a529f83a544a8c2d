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


@run_async
async def test_rows_drawn_before_the_table_measures_them_are_shown_at_full_width():
    app = OneTable()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(DataTable)
        set_columns(table, ("#", "why"))
        await pilot.pause()
        sync_rows(table, [("10", ("10", "because you commented on it"))])
        app.export_screenshot()  # a frame drawn before the table is idle again
        await pilot.pause()
        assert "10  because you commented on it" in screen_text(app)


@run_async
async def test_cells_updated_in_place_widen_their_column():
    app = OneTable()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(DataTable)
        set_columns(table, ("#", "title"))
        sync_rows(table, [("1", ("1", "short"))])
        await pilot.pause()
        sync_rows(table, [("1", ("1", "a much longer title"))])  # same keys: updated in place
        app.export_screenshot()
        await pilot.pause()
        assert "1  a much longer title" in screen_text(app)
