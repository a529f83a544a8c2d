"""Access: roles granted to people, their SSH keys, one-time SSH session tickets, and who
started each job (so that a detached job acts as that person)."""

import sqlite3

from store.migrations import execute_script


def up(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE access_grants (
            id            INTEGER PRIMARY KEY,
            person        TEXT NOT NULL UNIQUE,
            role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'analyst')),
            os_user       TEXT UNIQUE,     -- the local OS account this person uses, if any
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            updated_by    TEXT NOT NULL
        );

        CREATE TABLE ssh_keys (
            id            INTEGER PRIMARY KEY,
            person        TEXT NOT NULL REFERENCES access_grants (person) ON DELETE CASCADE,
            key_type      TEXT NOT NULL,   -- e.g. ssh-ed25519
            public_key    TEXT NOT NULL,   -- "ssh-ed25519 AAAA…" (type and base64, no comment)
            comment       TEXT NOT NULL DEFAULT '',
            fingerprint   TEXT NOT NULL UNIQUE,  -- "SHA256:…" as ssh-keygen -l prints it
            added_at      TEXT NOT NULL,
            added_by      TEXT NOT NULL
        );
        CREATE INDEX ssh_keys_person ON ssh_keys (person);

        -- The built-in SSH server hands each session process a random token through an
        -- inherited pipe. Only its SHA-256 is stored, and redeeming deletes it.
        CREATE TABLE ssh_tickets (
            token_sha256  TEXT PRIMARY KEY,
            person        TEXT NOT NULL,
            ssh_key       TEXT,
            remote_addr   TEXT,
            created_at    TEXT NOT NULL,
            expires_at    TEXT NOT NULL
        );

        ALTER TABLE jobs ADD COLUMN actor TEXT NOT NULL DEFAULT '{}';  -- JSON: who started it
        """
    )
