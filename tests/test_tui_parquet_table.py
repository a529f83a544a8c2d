"""The Parquet-paged table repaints only what a key changed: moving the cursor within the rows on
screen redraws its old and new lines, not the whole table (a key then costs two lines of work,
which matters when a training job is using the CPUs)."""

from __future__ import annotations

import polars as pl
from test_tui_support import run_async
from textual.app import App, ComposeResult

from kpconsole.tui.widgets.parquet_table import ParquetTable, View

ROWS = 2000


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield ParquetTable(id="rows")

    def on_mount(self) -> None:
        frame = pl.LazyFrame({"n": list(range(ROWS)), "word": [f"w{i}" for i in range(ROWS)]})
        table = self.query_one(ParquetTable)
        table.show(View(key="numbers", source=lambda: frame, n_rows=ROWS, schema={"n": "Int64", "word": "String"}))
        table.focus()


async def lines_drawn_by(pilot, key: str) -> list[int]:
    """The table's lines (0 is the header) drawn in the frame after ``key``."""
    table = pilot.app.query_one(ParquetTable)
    drawn: list[int] = []
    draw = table.render_line

    def counting(y: int):
        drawn.append(y)
        return draw(y)

    table.render_line = counting
    try:
        await pilot.press(key)
        await pilot.pause()
    finally:
        del table.render_line
    return sorted(drawn)


@run_async
async def test_moving_the_cursor_on_screen_redraws_its_old_and_new_lines_only():
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(ParquetTable)
        assert table.row_text(0) == ("0", "w0")
        assert await lines_drawn_by(pilot, "down") == [1, 2]  # rows 0 and 1 are lines 1 and 2
        assert table.cursor_row == 1
        assert await lines_drawn_by(pilot, "up") == [1, 2]
        assert table.cursor_row == 0


@run_async
async def test_a_page_down_scrolls_and_redraws_every_row_on_screen():
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(ParquetTable)
        lines = await lines_drawn_by(pilot, "pagedown")
        assert table.cursor_row == table.visible_rows and table.scroll_y == 1
        assert set(range(1, table.visible_rows + 1)) <= set(lines)
