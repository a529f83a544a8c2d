"""Numbered schema migrations.

Each module ``mNNNN_<what>.py`` holds ``def up(conn: sqlite3.Connection) -> None``. They are
found by name and applied in number order, each inside one write transaction that also sets
``PRAGMA user_version`` to its number. Never edit a migration that has shipped; add a higher
number.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sqlite3
from collections.abc import Callable

_NAME = re.compile(r"^m(\d{4})_\w+$")


def discover() -> list[tuple[int, str, Callable[[sqlite3.Connection], None]]]:
    """All migrations in this package as (version, name, up), in version order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _NAME.match(info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((int(match.group(1)), info.name, module.up))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run the statements of ``script`` inside the caller's transaction.

    (``sqlite3.executescript`` would commit first, breaking the all-or-nothing migration.)
    ``--`` comments are removed first, so a comment may hold any text, semicolons included.
    """
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    buffer = ""
    for piece in code.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                conn.execute(buffer)
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def latest() -> int:
    """The schema version this code upgrades a workspace to."""
    found = discover()
    return found[-1][0] if found else 0
