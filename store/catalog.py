"""The dataset catalog: one row per dataset, its Parquet files in ``data/<name>-<token>/``.

Writing a dataset is all-or-nothing: the caller fills a staging folder
(:func:`staging_folder`), then :func:`register_dataset` moves it into place and writes the
catalog row in one transaction. A failure at any step removes the new folder and leaves the
catalog as it was; a replaced dataset's old folder is removed only after the commit.

A dataset has a **version** (1 when first ingested). :func:`register_version` makes the next
one from a new folder (an append): the row points at the new folder and hash, and the version
it replaced is kept in ``dataset_versions`` with its folder until :func:`prune_versions`. A
folder never changes once registered, so what is kept beside its tables (:func:`keep_derived`)
is never stale.
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
from store.errors import InvalidName, NameTaken, NotFound, Remedy, StoreError
from store.tables import DATASET_VERSIONS, DATASETS
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
    version: int = 1

    def table_path(self, table: str) -> Path:
        return self.path / f"{table}.parquet"

    def as_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "format": self.format, "source": self.source,
            "path": str(self.path), "content_hash": self.content_hash, "tables": self.tables,
            "schema": self.schema, "profile": self.profile, "params": self.params,
            "created_at": self.created_at, "created_by": self.created_by, "version": self.version,
        }


@dataclass(frozen=True)
class DatasetVersion:
    """A version of a dataset that a newer one replaced, kept with its folder until pruned."""

    dataset: str
    version: int
    path: Path
    content_hash: str
    tables: dict[str, int]
    profile: dict
    created_at: str
    created_by: str
    superseded_at: str

    def as_dict(self) -> dict:
        return {**self.__dict__, "path": str(self.path)}


def read_derived(record: DatasetRecord, name: str) -> dict | None:
    """A figure derived from the dataset's tables and kept next to them (``<name>.json``), or
    ``None`` when none was kept or it cannot be read. A dataset's folder never changes once
    registered (a replace or an append writes a new one), so a kept figure is never stale."""
    try:
        kept = json.loads((record.path / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None


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
        row = conn.execute("SELECT id, path, version FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is not None and not replace:
            raise NameTaken(f"dataset '{name}' already exists")
        values = {
            "name": name, "format": format, "source": source, "path": artifact, "content_hash": digest,
            "tables": tables, "schema": schema, "profile": profile, "params": params,
            "created_at": ws.now(), "created_by": created_by,
        }
        if row is None:
            DATASETS.insert(ws, values)
        else:
            old_path = ws.data_dir / row[1]
            DATASETS.update(ws, row[0], {**values, "version": row[2] + 1})
    if old_path is not None:
        shutil.rmtree(old_path, ignore_errors=True)
    return get_dataset(ws, name)


class VersionMoved(StoreError):
    """The dataset changed (another append, a replace) while a new version was being made."""


def register_version(
    ws: Workspace,
    current: DatasetRecord,
    staging: Path,
    *,
    tables: dict[str, int],
    schema: dict[str, dict[str, str]],
    profile: dict,
    params: dict,
    created_by: str,
) -> DatasetRecord:
    """Make ``staging`` the next version of dataset ``current``, keeping ``current``'s folder and
    row in ``dataset_versions`` until pruned; all of it happens, or none. Refused
    (:class:`VersionMoved`) when the dataset is no longer at ``current.version``."""
    digest = content_hash(staging)
    with registry.publish(ws, staging, current.name) as (conn, artifact):
        row = conn.execute("SELECT id, version FROM datasets WHERE name = ?", (current.name,)).fetchone()
        if row is None or (row[0], row[1]) != (current.id, current.version):
            raise VersionMoved(f"dataset '{current.name}' changed while this version was being made; try again")
        DATASET_VERSIONS.insert(ws, {
            "dataset_id": current.id, "version": current.version, "path": current.path.name,
            "content_hash": current.content_hash, "tables": current.tables, "profile": current.profile,
            "created_at": current.created_at, "created_by": current.created_by, "superseded_at": ws.now(),
        })
        DATASETS.update(ws, current.id, {
            "path": artifact, "content_hash": digest, "tables": tables, "schema": schema, "profile": profile,
            "params": params, "created_at": ws.now(), "created_by": created_by, "version": current.version + 1,
        })
    return get_dataset(ws, current.name)


def kept_versions(ws: Workspace, name: str | None = None) -> list[DatasetVersion]:
    """The replaced versions still kept, of dataset ``name`` or of every dataset, oldest first."""
    sql = ("SELECT d.name AS dataset, v.version, v.path, v.content_hash, v.tables, v.profile, v.created_at,"
           " v.created_by, v.superseded_at FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id")
    args: list = []
    if name is not None:
        sql += " WHERE d.name = ?"
        args.append(name)
    rows = DATASET_VERSIONS.rows(ws, sql + " ORDER BY d.name, v.version", args)
    return [DatasetVersion(**{**row, "path": ws.data_dir / row["path"]}) for row in rows]


def prune_versions(ws: Workspace, name: str | None = None, keep: int = 0) -> list[DatasetVersion]:
    """Forget the kept versions of dataset ``name`` (or of every dataset) but the newest ``keep``
    of each, and remove their folders after the commit; returns what was pruned."""
    if name is not None:
        get_dataset(ws, name)
    kept = kept_versions(ws, name)
    by_dataset: dict[str, list[DatasetVersion]] = {}
    for version in kept:
        by_dataset.setdefault(version.dataset, []).append(version)
    pruned = [v for versions in by_dataset.values() for v in versions[:max(0, len(versions) - keep)]]
    with ws.transaction():
        for v in pruned:
            DATASET_VERSIONS.delete_where(ws, "version = ? AND dataset_id = (SELECT id FROM datasets WHERE name = ?)",
                                          [v.version, v.dataset])
    for v in pruned:
        shutil.rmtree(v.path, ignore_errors=True)
    return pruned


def _record(ws: Workspace, row: dict) -> DatasetRecord:
    return DatasetRecord(**{**row, "path": ws.data_dir / row["path"]})


def dataset_exists(ws: Workspace, name: str) -> bool:
    return ws.conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone() is not None


def get_dataset(ws: Workspace, name: str) -> DatasetRecord:
    rows = DATASETS.rows(ws, "SELECT * FROM datasets WHERE name = ?", [name])
    if not rows:
        names = [r.name for r in list_datasets(ws)]
        if names:
            raise NotFound(f"no dataset named '{name}' (known: {', '.join(names)})")
        raise NotFound(f"no dataset named '{name}'", Remedy("the workspace has none yet; add one with", "data ingest"))
    return _record(ws, rows[0])


def list_datasets(ws: Workspace) -> list[DatasetRecord]:
    return [_record(ws, row) for row in DATASETS.rows(ws, "SELECT * FROM datasets ORDER BY name")]


def delete_dataset(ws: Workspace, name: str) -> None:
    """Remove a dataset, the versions it keeps and all their folders."""
    record = get_dataset(ws, name)
    kept = kept_versions(ws, name)
    with ws.transaction():
        DATASET_VERSIONS.delete_where(ws, "dataset_id = ?", [record.id])
        DATASETS.delete_where(ws, "id = ?", [record.id])
    for path in [record.path, *(v.path for v in kept)]:
        shutil.rmtree(path, ignore_errors=True)
