"""The Parquet-paged table repaints only what changed: moving the cursor within the rows on
screen redraws its old and new lines, not the whole table, and a page read ahead (off screen)
redraws nothing when it arrives (each such repaint costs a full table of work, which a key
pressed meanwhile waits for — it matters most when a training job is using the CPUs)."""

from __future__ import annotations

import polars as pl
from test_tui_support import run_async
from textual.app import App, ComposeResult

from kpconsole.tui.widgets.parquet_table import PAGE_ROWS, ParquetTable, View

ROWS = 2000


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield ParquetTable(id="rows")

    def on_mount(self) -> None:
        frame = pl.LazyFrame({"n": list(range(ROWS)), "word": [f"w{i}" for i in range(ROWS)]})
        table = self.query_one(ParquetTable)
        table.show(View(key="numbers", source=lambda: frame, n_rows=ROWS, schema={"n": "Int64", "word": "String"}))
        table.focus()


async def first_page_shown(pilot) -> ParquetTable:
    """The table, once its first page is read and drawn."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.query_one(ParquetTable)


async def lines_drawn_by(pilot, key: str | None = None, message=None) -> list[int]:
    """The table's lines (0 is the header) drawn in the frame after ``key`` (or ``message``)."""
    table = pilot.app.query_one(ParquetTable)
    drawn: list[int] = []
    draw = table.render_line

    def counting(y: int):
        drawn.append(y)
        return draw(y)

    table.render_line = counting
    try:
        if key is not None:
            await pilot.press(key)
        else:
            table.post_message(message)
        await pilot.pause()
    finally:
        del table.render_line
    return sorted(drawn)


@run_async
async def test_moving_the_cursor_on_screen_redraws_its_old_and_new_lines_only():
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await first_page_shown(pilot)
        assert table.row_text(0) == ("0", "w0")
        assert await lines_drawn_by(pilot, "down") == [1, 2]  # rows 0 and 1 are lines 1 and 2
        assert table.cursor_row == 1
        assert await lines_drawn_by(pilot, "up") == [1, 2]
        assert table.cursor_row == 0


@run_async
async def test_a_page_down_scrolls_and_redraws_every_row_on_screen():
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await first_page_shown(pilot)
        lines = await lines_drawn_by(pilot, "pagedown")
        assert table.cursor_row == table.visible_rows and table.scroll_y == 1
        assert set(range(1, table.visible_rows + 1)) <= set(lines)


@run_async
async def test_a_page_read_ahead_redraws_nothing_until_it_is_on_screen():
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await first_page_shown(pilot)
        far = [(str(n), f"x{n}") for n in range(PAGE_ROWS * 5, PAGE_ROWS * 6)]
        assert await lines_drawn_by(pilot, message=ParquetTable.PageLoaded("numbers", 5, far)) == []
        assert table.row_text(PAGE_ROWS * 5) == (str(PAGE_ROWS * 5), f"x{PAGE_ROWS * 5}")
        near = [(str(n), f"y{n}") for n in range(PAGE_ROWS)]
        lines = await lines_drawn_by(pilot, message=ParquetTable.PageLoaded("numbers", 0, near))
        assert set(range(1, table.visible_rows + 1)) <= set(lines)  # page 0 is on screen
        assert table.row_text(0) == ("0", "y0")
