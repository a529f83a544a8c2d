"""Segmentations with their segments and user assignments, and customer-value fits."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE segmentations (
            id            INTEGER PRIMARY KEY,
            dataset       TEXT NOT NULL,   -- dataset name when segmented
            dataset_hash  TEXT NOT NULL,   -- its content hash then
            method        TEXT NOT NULL CHECK (method IN ('rfm', 'lifecycle', 'kmeans', 'gmm')),
            k             INTEGER NOT NULL,  -- segments made
            params        TEXT NOT NULL,   -- JSON: as asked (k, as_of, seed, device, thresholds)
            metrics       TEXT NOT NULL,   -- JSON: stability, choice of k, users, …
            model         TEXT NOT NULL,   -- JSON: what explaining a membership needs
            n_users       INTEGER NOT NULL,
            as_of         TEXT NOT NULL,   -- ISO-8601: events before this instant were used
            artifact      TEXT NOT NULL UNIQUE,  -- Parquet under models/segments/: per-user rows
            job_id        INTEGER,
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );
        CREATE INDEX segmentations_dataset ON segmentations (dataset);

        CREATE TABLE segments (
            segmentation_id INTEGER NOT NULL REFERENCES segmentations (id) ON DELETE CASCADE,
            segment_id    INTEGER NOT NULL,  -- 1 … k
            name          TEXT NOT NULL,
            users         INTEGER NOT NULL,
            profile       TEXT NOT NULL,   -- JSON: revenue share, engagement, top kinds/content/tags, …
            PRIMARY KEY (segmentation_id, segment_id)
        );

        CREATE TABLE segment_assignments (
            segmentation_id INTEGER NOT NULL REFERENCES segmentations (id) ON DELETE CASCADE,
            user_id       TEXT NOT NULL,   -- the dataset's user ID as text
            segment_id    INTEGER NOT NULL,
            PRIMARY KEY (segmentation_id, user_id)
        ) WITHOUT ROWID;

        CREATE TABLE value_fits (
            id            INTEGER PRIMARY KEY,
            dataset       TEXT NOT NULL,
            dataset_hash  TEXT NOT NULL,
            model         TEXT NOT NULL CHECK (model IN ('bgnbd', 'paretonbd', 'gammagamma', 'sbg')),
            params        TEXT NOT NULL,   -- JSON: the estimates under their usual names (r, alpha, …)
            log_likelihood REAL NOT NULL,
            fit           TEXT NOT NULL,   -- JSON: converged, message, iterations, gradient, standard errors
            settings      TEXT NOT NULL,   -- JSON: calibration end, kinds, period, horizon, discount rate
            results       TEXT NOT NULL,   -- JSON: totals, holdout check, spend model, retention curve
            n             INTEGER NOT NULL,  -- customers or subscribers fitted
            artifact      TEXT UNIQUE,     -- Parquet under models/value/: per-customer scores (if any)
            job_id        INTEGER,
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );
        CREATE INDEX value_fits_dataset ON value_fits (dataset);
        """
    )
