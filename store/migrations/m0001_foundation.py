"""Dataset catalog, jobs and the audit log."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE datasets (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            format        TEXT NOT NULL,
            source        TEXT NOT NULL,
            path          TEXT NOT NULL,
            content_hash  TEXT NOT NULL,
            tables        TEXT NOT NULL,   -- JSON {table: rows}
            schema        TEXT NOT NULL,   -- JSON {table: {column: dtype}}
            profile       TEXT NOT NULL,   -- JSON: n_events, n_users, n_items, ts_min, ts_max, kinds
            params        TEXT NOT NULL,   -- JSON: how it was ingested (mapping, kind, …)
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL
        );

        CREATE TABLE jobs (
            id            INTEGER PRIMARY KEY,
            kind          TEXT NOT NULL,
            params        TEXT NOT NULL,   -- JSON
            status        TEXT NOT NULL CHECK (status IN
                              ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'lost')),
            progress      REAL NOT NULL DEFAULT 0,
            message       TEXT NOT NULL DEFAULT '',
            metrics       TEXT NOT NULL DEFAULT '{}',  -- JSON, the latest reported
            pid           INTEGER,
            heartbeat_at  TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            started_by    TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            started_at    TEXT,
            finished_at   TEXT,
            log_path      TEXT,
            result_kind   TEXT,
            result_id     TEXT,
            error         TEXT
        );
        CREATE INDEX jobs_status ON jobs (status);

        CREATE TABLE audit (
            id            INTEGER PRIMARY KEY,
            at            TEXT NOT NULL,
            actor         TEXT NOT NULL,   -- the person: granted name or OS user
            role          TEXT,
            os_user       TEXT,
            ssh_key       TEXT,            -- key fingerprint when over SSH
            remote_addr   TEXT,            -- from SSH_CONNECTION or the SSH server
            action        TEXT NOT NULL,   -- e.g. data.ingest
            target        TEXT,
            params        TEXT NOT NULL DEFAULT '{}',
            outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'refused')),
            detail        TEXT
        );
        CREATE INDEX audit_at ON audit (at);
        """
    )
