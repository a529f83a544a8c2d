"""Refresh marks: for each dataset a nightly refresh appends to, the since column and the
largest value of it already read (the high-water mark), so the next refresh asks only for rows
past it."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE refresh_marks (
            dataset_id   INTEGER PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
            since_column TEXT NOT NULL,
            mark         TEXT NOT NULL,   -- JSON {"type": int|float|text|datetime, "value": ...}
            source       TEXT NOT NULL,   -- where the rows came from, without a password
            updated_at   TEXT NOT NULL
        );
        """
    )
