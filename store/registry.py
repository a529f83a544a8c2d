"""What the workspace's registries share — datasets, models, segmentations, value fits,
simulation calibrations and runs: an artifact published together with its rows, and rows read
back whole.

Publishing is all-or-nothing. The caller writes the artifact (a file, or a folder of files) at a
path from :func:`staging_path`; inside :func:`publish` it is renamed into place and the caller
inserts its rows in the one transaction :func:`publish` opens. If anything fails, the artifact
is removed and the tables are as they were.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from store.tables import Table
from store.workspace import Workspace

STAGING_PREFIX = ".staging-"


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def staging_path(folder: Path, suffix: str = "") -> Iterator[Path]:
    """A fresh path in ``folder`` to write an artifact at (``suffix=""`` for a folder the caller
    creates); whatever is still there afterwards is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        _remove(path)


@contextmanager
def publish(ws: Workspace, staged: Path | None, prefix: str) -> Iterator[tuple[sqlite3.Connection, str | None]]:
    """Rename ``staged`` to ``<prefix>-<token><suffix>`` beside it, then yield the open write
    transaction and the artifact's new name (None without an artifact)."""
    final = None
    if staged is not None:
        final = staged.with_name(f"{prefix}-{uuid.uuid4().hex[:12]}{staged.suffix}")
        staged.rename(final)
    try:
        with ws.transaction() as conn:
            yield conn, final.name if final is not None else None
    except BaseException:
        if final is not None:
            _remove(final)
        raise


def row_by_id(ws: Workspace, table: Table, row_id: int) -> dict | None:
    """The row of ``table`` with this id, decoded; None when there is none."""
    rows = table.rows(ws, f"SELECT * FROM {table.name} WHERE id = ?", [row_id])
    return rows[0] if rows else None


def has_rows(ws: Workspace, table: Table) -> bool:
    return ws.conn.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None


def newest_rows(ws: Workspace, table: Table, *, dataset: str | None = None, limit: int = 200) -> list[dict]:
    """Rows newest first, decoded, optionally only those of ``dataset``."""
    sql, args = f"SELECT * FROM {table.name}", list[object]()
    if dataset:
        sql += " WHERE dataset = ?"
        args.append(dataset)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return table.rows(ws, sql, args)
