"""The dataset catalog: one row per dataset, its Parquet files in ``data/<name>-<token>/``.

Writing a dataset is all-or-nothing: the caller fills a staging folder
(:func:`staging_folder`), then :func:`register_dataset` moves it into place and writes the
catalog row in one transaction. A failure at any step removes the new folder and leaves the
catalog as it was; a replaced dataset's old folder is removed only after the commit.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from store import registry
from store.clock import now
from store.errors import InvalidName, NameTaken, NotFound
from store.workspace import Workspace

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class DatasetRecord:
    id: int
    name: str
    format: str
    source: str
    path: Path
    content_hash: str
    tables: dict[str, int]
    schema: dict[str, dict[str, str]]
    profile: dict
    params: dict
    created_at: str
    created_by: str

    def table_path(self, table: str) -> Path:
        return self.path / f"{table}.parquet"

    def as_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "format": self.format, "source": self.source,
            "path": str(self.path), "content_hash": self.content_hash, "tables": self.tables,
            "schema": self.schema, "profile": self.profile, "params": self.params,
            "created_at": self.created_at, "created_by": self.created_by,
        }


def read_derived(record: DatasetRecord, name: str) -> dict | None:
    """A figure derived from the dataset's tables and kept next to them (``<name>.json``), or
    ``None`` when none was kept or it cannot be read. A dataset's folder never changes once
    registered (a replace or an append writes a new one), so a kept figure is never stale."""
    try:
        return json.loads((record.path / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def keep_derived(record: DatasetRecord, name: str, payload: dict) -> None:
    """Keep ``payload`` as ``<name>.json`` in the dataset's folder, written whole or not at all
    (a temporary file renamed into place); a folder that cannot be written keeps nothing."""
    target = record.path / f"{name}.json"
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(json.dumps(payload), encoding="utf-8")
        partial.replace(target)
    except OSError:
        partial.unlink(missing_ok=True)


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise InvalidName(
            f"invalid dataset name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


@contextmanager
def staging_folder(ws: Workspace) -> Iterator[Path]:
    """A fresh folder under ``data/`` to write a dataset into; removed again if anything fails."""
    with registry.staging_path(ws.data_dir) as folder:
        folder.mkdir()
        yield folder


def content_hash(folder: Path) -> str:
    """SHA-256 over the folder's Parquet files, in name order (names included)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.parquet")):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            while block := fh.read(1 << 22):
                digest.update(block)
    return digest.hexdigest()


def register_dataset(
    ws: Workspace,
    name: str,
    staging: Path,
    *,
    replace: bool,
    format: str,
    source: str,
    tables: dict[str, int],
    schema: dict[str, dict[str, str]],
    profile: dict,
    params: dict,
    created_by: str,
) -> DatasetRecord:
    """Move a filled staging folder into place and record it; all of it happens, or none."""
    check_name(name)
    digest = content_hash(staging)
    old_path: Path | None = None
    with registry.publish(ws, staging, name) as (conn, artifact):
        row = conn.execute("SELECT id, path FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is not None and not replace:
            raise NameTaken(f"dataset '{name}' already exists (pass --replace to overwrite it)")
        values = {
            "name": name, "format": format, "source": source, "path": artifact,
            "content_hash": digest, "tables": json.dumps(tables), "schema": json.dumps(schema),
            "profile": json.dumps(profile), "params": json.dumps(params),
            "created_at": now(), "created_by": created_by,
        }
        if row is None:
            registry.insert(conn, "datasets", values)
        else:
            old_path = ws.data_dir / row[1]
            sets = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(f"UPDATE datasets SET {sets} WHERE id = :id", {**values, "id": row[0]})
    if old_path is not None:
        shutil.rmtree(old_path, ignore_errors=True)
    return get_dataset(ws, name)


def _record(ws: Workspace, row: dict) -> DatasetRecord:
    return DatasetRecord(
        id=row["id"], name=row["name"], format=row["format"], source=row["source"],
        path=ws.data_dir / row["path"], content_hash=row["content_hash"],
        tables=json.loads(row["tables"]), schema=json.loads(row["schema"]),
        profile=json.loads(row["profile"]), params=json.loads(row["params"]),
        created_at=row["created_at"], created_by=row["created_by"],
    )


def dataset_exists(ws: Workspace, name: str) -> bool:
    return ws.conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone() is not None


def get_dataset(ws: Workspace, name: str) -> DatasetRecord:
    rows = list(ws.query("SELECT * FROM datasets WHERE name = ?", [name]))
    if not rows:
        names = [r.name for r in list_datasets(ws)]
        known = f"known: {', '.join(names)}" if names else "the workspace has none yet; add one with kpconsole data ingest"
        raise NotFound(f"no dataset named '{name}' ({known})")
    return _record(ws, rows[0])


def list_datasets(ws: Workspace) -> list[DatasetRecord]:
    return [_record(ws, row) for row in ws.query("SELECT * FROM datasets ORDER BY name")]


def delete_dataset(ws: Workspace, name: str) -> None:
    record = get_dataset(ws, name)
    with ws.transaction() as conn:
        conn.execute("DELETE FROM datasets WHERE id = ?", (record.id,))
    shutil.rmtree(record.path, ignore_errors=True)
