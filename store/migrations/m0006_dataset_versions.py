"""Dataset versions: an append makes a new version of a dataset (a new folder); the versions it
replaced are kept, with their folders, until they are pruned."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        ALTER TABLE datasets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

        CREATE TABLE dataset_versions (
            id            INTEGER PRIMARY KEY,
            dataset_id    INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
            version       INTEGER NOT NULL,
            path          TEXT NOT NULL,   -- folder under data/, kept until pruned
            content_hash  TEXT NOT NULL,
            tables        TEXT NOT NULL,   -- JSON {table: rows}
            profile       TEXT NOT NULL,   -- JSON, as datasets.profile
            created_at    TEXT NOT NULL,   -- when this version was made
            created_by    TEXT NOT NULL,
            superseded_at TEXT NOT NULL,   -- when a newer version replaced it
            UNIQUE (dataset_id, version)
        );
        """
    )
