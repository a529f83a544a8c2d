"""Keeping a DataTable in step with fresh rows without flicker or losing the cursor."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable


def set_columns(table: DataTable, columns: Sequence[str]) -> None:
    """Give an empty table its columns (keys = names) once."""
    if not table.columns:
        for column in columns:
            table.add_column(column, key=column)


def sync_rows(table: DataTable, rows: Sequence[tuple[str, Sequence[object]]]) -> None:
    """Show ``rows`` (``(key, cells)``, in order): cells are updated in place when the keys are
    the same as before, else the table is refilled with the cursor kept on the same key.
    Call it inside ``app.batch_update()`` when several tables change at once."""
    keys = [key for key, _ in rows]
    current = [row.key.value for row in table.ordered_rows]
    columns = [column.key for column in table.ordered_columns]
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
