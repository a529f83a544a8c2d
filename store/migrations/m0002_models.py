"""The model registry: one row per trained recommender, its artifact a file under models/."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE models (
            id            INTEGER PRIMARY KEY,
            algo          TEXT NOT NULL,   -- pop, itemknn, ease, als, bpr, ncf
            params        TEXT NOT NULL,   -- JSON: hyper-parameters as the model used them
            dataset       TEXT NOT NULL,   -- dataset name when trained
            dataset_hash  TEXT NOT NULL,   -- its content hash then
            interactions  TEXT NOT NULL,   -- JSON: event kinds and per-kind weights
            split         TEXT NOT NULL,   -- JSON: method, ratio, seed, cut, pair and user counts
            metrics       TEXT NOT NULL,   -- JSON: {"ndcg@10": …} on the test split
            fit           TEXT NOT NULL,   -- JSON: epochs, best epoch, per-epoch history, seconds
            n_users       INTEGER NOT NULL,
            n_items       INTEGER NOT NULL,
            n_train       INTEGER NOT NULL,
            device        TEXT NOT NULL,
            fit_seconds   REAL NOT NULL,
            artifact      TEXT NOT NULL UNIQUE,  -- file name under models/
            parent_id     INTEGER REFERENCES models (id),
            drift         TEXT,            -- JSON: drift report against the parent (updates only)
            job_id        INTEGER,         -- the job that trained it, when it ran as one
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );
        CREATE INDEX models_dataset ON models (dataset);
        CREATE INDEX models_parent ON models (parent_id);
        """
    )
