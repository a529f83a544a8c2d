"""Simulations: calibrations fitted from datasets, runs (scenarios and backtests) and their daily series."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE sim_calibrations (
            id            INTEGER PRIMARY KEY,
            dataset       TEXT NOT NULL,   -- dataset name
            dataset_hash  TEXT NOT NULL,   -- its content hash when calibrated
            cut           TEXT,            -- ISO date: fitted on events before it (backtests); NULL = all
            segments      TEXT NOT NULL,   -- where the user segments came from
            tastes        TEXT NOT NULL,   -- tags, or the model whose embeddings gave tastes
            summary       TEXT NOT NULL,   -- JSON: the fitted parameters, per segment
            path          TEXT NOT NULL,   -- the fitted world (.npz) under simulations/
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );
        CREATE INDEX sim_calibrations_dataset ON sim_calibrations (dataset, id);

        CREATE TABLE sim_runs (
            id            INTEGER PRIMARY KEY,
            kind          TEXT NOT NULL CHECK (kind IN ('run', 'backtest')),
            name          TEXT NOT NULL,
            dataset       TEXT NOT NULL,
            calibration_id INTEGER NOT NULL REFERENCES sim_calibrations (id),
            scenario_text TEXT NOT NULL,   -- the scenario file as given ('' for a backtest)
            scenario      TEXT NOT NULL,   -- JSON: what was simulated, references resolved
            days          INTEGER NOT NULL,
            replicates    INTEGER NOT NULL,
            seed          INTEGER NOT NULL,
            device        TEXT NOT NULL,
            summary       TEXT NOT NULL,   -- JSON: run totals with intervals (and backtest errors)
            path          TEXT NOT NULL,   -- every replicate's daily values (Parquet) under simulations/
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );

        CREATE TABLE sim_series (
            run_id        INTEGER NOT NULL REFERENCES sim_runs (id) ON DELETE CASCADE,
            metric        TEXT NOT NULL,
            day           INTEGER NOT NULL,
            mean          REAL NOT NULL,
            low           REAL NOT NULL,   -- 95 % interval over replicates
            high          REAL NOT NULL,
            PRIMARY KEY (run_id, metric, day)
        ) WITHOUT ROWID;
        """
    )
