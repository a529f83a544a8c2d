"""Keeping a DataTable in step with fresh rows without flicker or losing the cursor.

Column widths are measured here, as the rows arrive. Textual measures new cells later, when the
table is next idle, and its line cache does not notice the wider columns: a frame drawn in
between (a screen refresh landing there, likelier on a busy machine) keeps rows cut to the old
widths until the table is resized (Textualize/textual#3533, #4470). Widening the columns before
the rows are added leaves no such frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

if TYPE_CHECKING:  # types only: the Overview's first frame has no table, nor DataTable's module
    from textual.widgets import DataTable


def set_columns(table: DataTable, columns: Sequence[str]) -> None:
    """Give an empty table its columns (keys = names) once."""
    if not table.columns:
        for column in columns:
            table.add_column(column, key=column)


def cell_width(value: object) -> int:
    """Cells a value takes in a table row, drawn as DataTable draws it: strings as markup, floats
    with two decimals, rich Text as it is, anything else as ``str()``."""
    if isinstance(value, str):
        return Text.from_markup(value).cell_len
    if isinstance(value, Text):
        return value.cell_len
    if isinstance(value, float):
        return len(f"{value:.2f}")
    return cell_len(str(value))


def widen_columns(table: DataTable, rows: Sequence[Sequence[object]]) -> None:
    """Grow each auto-width column to its widest cell in ``rows`` (columns never shrink)."""
    for column, cells in zip(table.ordered_columns, zip(*rows, strict=False), strict=False):
        if column.auto_width:
            column.content_width = max(column.content_width, *(cell_width(c) for c in cells))


def sync_rows(table: DataTable, rows: Sequence[tuple[str, Sequence[object]]]) -> None:
    """Show ``rows`` (``(key, cells)``, in order): cells are updated in place when the keys are
    the same as before, else the table is refilled with the cursor kept on the same key.
    Call it inside ``app.batch_update()`` when several tables change at once."""
    keys = [key for key, _ in rows]
    current = [row.key.value for row in table.ordered_rows]
    columns = [column.key for column in table.ordered_columns]
    widen_columns(table, [cells for _, cells in rows])
    if keys == current:
        for key, cells in rows:
            for column, value in zip(columns, cells, strict=True):
                if table.get_cell(key, column) != value:
                    table.update_cell(key, column, value)
        return
    selected = current[table.cursor_row] if current and 0 <= table.cursor_row < len(current) else None
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if selected in keys:
        table.move_cursor(row=keys.index(selected), animate=False)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0 or not 0 <= table.cursor_row < table.row_count:
        return None
    return table.ordered_rows[table.cursor_row].key.value
