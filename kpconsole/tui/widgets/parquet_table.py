"""A read-only table that pages rows in from Parquet as it scrolls (smooth on millions of rows).

Only the rows on screen are drawn (Textual's line API) and only the pages they fall in are read:
a thread worker slices the dataset's lazy frame (``scan_parquet(...).slice(offset, PAGE_ROWS)``,
which reads just the row groups it needs) and posts the formatted page back. A small LRU cache
keeps recent pages; the neighbours of the page on screen are read ahead. Until a page arrives
its rows show ``…``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import polars as pl
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker

from kpconsole.tui.messages import forward_failure

PAGE_ROWS = 256
CACHED_PAGES = 64
GAP = 2
GUTTER = 2  # "▸ " marks the cursor row, so it shows without colour too
PENDING = "…"


def column_width(name: str, dtype: str) -> int:
    """The widest a column is drawn, from its Polars dtype (longer values are cut with …)."""
    if dtype.startswith("Datetime"):
        width = 19
    elif dtype == "Date":
        width = 10
    elif dtype.startswith(("Int", "UInt")):
        width = 12
    elif dtype.startswith("Float"):
        width = 12
    elif dtype == "Boolean":
        width = 5
    elif dtype.startswith("List"):
        width = 24
    else:
        width = 18
    return max(width, len(name))


def is_numeric(dtype: str) -> bool:
    return dtype.startswith(("Int", "UInt", "Float"))


def format_page(frame: pl.DataFrame) -> list[tuple[str, ...]]:
    """A page of rows as display strings (vectorised per column; nulls as ``–``)."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            text = col.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif dtype.is_float():
            text = col.round_sig_figs(6).cast(pl.String)
        elif isinstance(dtype, pl.List):
            text = col.list.eval(pl.element().cast(pl.String)).list.join(",")
        else:
            text = col.cast(pl.String)
        exprs.append(text.fill_null("–").alias(name))
    return frame.select(exprs).rows()


def read_page(source: Callable[[], pl.LazyFrame], page: int) -> list[tuple[str, ...]]:
    """Rows ``page * PAGE_ROWS`` … of the source, formatted for display."""
    return format_page(source().slice(page * PAGE_ROWS, PAGE_ROWS).collect())


@dataclass(frozen=True)
class View:
    """What the table shows: a key (so late pages of an older view are dropped) and its shape."""

    key: str
    source: Callable[[], pl.LazyFrame]
    n_rows: int
    schema: Mapping[str, str]


class ParquetTable(ScrollView, can_focus=True):
    """Rows of a (possibly huge) Parquet table with a sticky header and a cursor row."""

    COMPONENT_CLASSES = {"parquet-table--header", "parquet-table--cursor", "parquet-table--pending"}
    DEFAULT_CSS = """
    ParquetTable { height: 1fr; }
    ParquetTable > .parquet-table--header { text-style: bold; background: $panel; }
    ParquetTable > .parquet-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    ParquetTable:blur > .parquet-table--cursor { background: $block-cursor-blurred-background; }
    ParquetTable > .parquet-table--pending { color: $text-muted; }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First row", show=False),
        Binding("end", "jump(-1)", "Last row", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, repaint=False)  # watch_cursor_row repaints what changed

    @dataclass
    class PageLoaded(Message):
        key: str
        page: int
        rows: list[tuple[str, ...]]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.view: View | None = None
        self._pages: OrderedDict[int, list[tuple[str, ...]]] = OrderedDict()
        self._pending: set[int] = set()
        self._caps: list[int] = []
        self._widths: list[int] = []
        self._fitted = False
        self._numeric: list[bool] = []
        self._styles: dict[str, Style] | None = None

    # --- what to show --------------------------------------------------------------------

    def show(self, view: View) -> None:
        """Switch to another table; rows are read as they come on screen."""
        self.view = view
        self._pages.clear()
        self._pending.clear()
        self._caps = [column_width(n, t) for n, t in view.schema.items()]
        self._widths = list(self._caps)
        self._fitted = False
        self._numeric = [is_numeric(t) for t in view.schema.values()]
        self._size_columns()
        self.cursor_row = 0
        self.scroll_to(0, 0, animate=False)
        self._request_visible()
        self.refresh()

    def _size_columns(self) -> None:
        width = GUTTER + sum(self._widths) + GAP * max(0, len(self._widths) - 1)
        self.virtual_size = Size(width, (self.view.n_rows if self.view else 0) + 1)

    def _fit(self, rows: list[tuple[str, ...]]) -> None:
        """Narrow each column to its name and the widest value of the first page read (up to its cap)."""
        if self._fitted or not rows or self.view is None:
            return
        self._fitted = True
        names = list(self.view.schema)
        self._widths = [min(cap, max(len(name), *(len(row[i]) for row in rows)))
                        for i, (name, cap) in enumerate(zip(names, self._caps, strict=True))]
        self._size_columns()

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def row_text(self, row: int) -> tuple[str, ...] | None:
        """The formatted cells of ``row`` if its page is loaded (for tests and callers)."""
        page = self._pages.get(row // PAGE_ROWS)
        if page is None or row % PAGE_ROWS >= len(page):
            return None
        return page[row % PAGE_ROWS]

    # --- paging ---------------------------------------------------------------------------

    def _request(self, page: int) -> None:
        view = self.view
        if view is None or page < 0 or page * PAGE_ROWS >= view.n_rows:
            return
        if page in self._pages or page in self._pending:
            return
        self._pending.add(page)
        self.run_worker(partial(self._load, view.key, view.source, page), thread=True,
                        group="parquet-pages", exit_on_error=False, name=f"read page {page}")

    def _visible_pages(self) -> range:
        top = round(self.scroll_y)
        return range(top // PAGE_ROWS, (top + self.visible_rows) // PAGE_ROWS + 1)

    def _request_visible(self) -> None:
        """Read the pages on screen, and one either side of them."""
        pages = self._visible_pages()
        for page in range(pages.start - 1, pages.stop + 1):
            self._request(page)

    def _read_ahead(self) -> None:
        """Read the neighbours of the pages on screen (after a repaint: see watch_scroll_y)."""
        pages = self._visible_pages()
        self._request(pages.start - 1)
        self._request(pages.stop)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # The pages on screen now, at once; their neighbours once this frame is painted, so that
        # reading them (a thread that needs the interpreter lock to format rows) does not delay it.
        for page in self._visible_pages():
            self._request(page)
        self.call_after_refresh(self._read_ahead)

    def on_resize(self) -> None:
        self._request_visible()

    def _load(self, key: str, source: Callable[[], pl.LazyFrame], page: int) -> None:
        self.post_message(self.PageLoaded(key, page, read_page(source, page)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_failure(self, event)

    def on_parquet_table_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if self.view is None or message.key != self.view.key:
            return
        self._pending.discard(message.page)
        first = not self._fitted
        self._fit(message.rows)
        self._pages[message.page] = message.rows
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        if first:  # the columns were fitted to it: every line changes
            self.refresh()
        elif message.page in self._visible_pages():  # a page read ahead is drawn when scrolled to
            self.refresh_lines(message.page * PAGE_ROWS + 1, PAGE_ROWS)

    # --- drawing --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def line_styles(self) -> dict[str, Style]:
        """The styles of a plain, header, cursor and pending line, looked up once per style change
        (not once per line: a lookup walks the CSS and costs more than drawing the line)."""
        if self._styles is None:
            base = self.rich_style
            self._styles = {"base": base,
                            "header": self.get_component_rich_style("parquet-table--header"),
                            "cursor": self.get_component_rich_style("parquet-table--cursor"),
                            "pending": base + self.get_component_rich_style("parquet-table--pending")}
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        styles = self.line_styles()
        if self.view is None:
            return Strip.blank(width, styles["base"])
        if y == 0:
            cells = tuple(self.view.schema)
            return self._strip(" " * GUTTER, cells, styles["header"], scroll_x, width, align_numbers=False)
        row = scroll_y + y - 1
        if row >= self.view.n_rows:
            return Strip.blank(width, styles["base"])
        cells = self.row_text(row)
        cursor = row == self.cursor_row
        style = styles["cursor"] if cursor else styles["base"]
        if cells is None:
            cells = tuple(PENDING for _ in self._widths)
            style = style if cursor else styles["pending"]
        return self._strip("▸ " if cursor else "  ", cells, style, scroll_x, width, align_numbers=True)

    def _strip(self, gutter: str, cells: tuple[str, ...], style: Style, scroll_x: int, width: int,
               *, align_numbers: bool) -> Strip:
        parts = []
        for text, w, numeric in zip(cells, self._widths, self._numeric, strict=True):
            text = text if len(text) <= w else text[: w - 1] + "…"
            parts.append(text.rjust(w) if numeric and align_numbers else text.ljust(w))
        line = gutter + (" " * GAP).join(parts)
        return Strip([Segment(line, style)]).crop_extend(scroll_x, scroll_x + width, style)

    # --- cursor -----------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + self.visible_rows:
            self.scroll_to(y=new - self.visible_rows + 1, animate=False)
        else:  # the cursor moved within the rows on screen: repaint its old and new lines only
            self.refresh_line(old + 1)  # line 0 is the header, so row r is line r + 1
            self.refresh_line(new + 1)
            return
        self.refresh()

    def _clamp(self, row: int) -> int:
        n = self.view.n_rows if self.view else 0
        return max(0, min(row, n - 1)) if n else 0

    def action_cursor(self, delta: int) -> None:
        self.cursor_row = self._clamp(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.cursor_row = self._clamp(self.cursor_row + direction * self.visible_rows)

    def action_jump(self, where: int) -> None:
        self.cursor_row = self._clamp(where if where >= 0 else (self.view.n_rows if self.view else 0) - 1)
