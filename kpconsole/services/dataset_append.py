"""Appending events to a dataset: a new version, all or nothing.

:func:`append` validates a file exactly as an ingest does (into a scratch folder), then
:func:`append_validated` merges those canonical tables into the dataset (:mod:`engine.data.append`:
same columns and types, exact duplicate events skipped and counted, new users and items added)
and registers the result as the dataset's next version (:func:`store.catalog.register_version`):
a new folder and content hash; the previous version is kept until pruned. Nothing new (every
event a duplicate) makes no version.

:func:`append_validated` takes any folder of validated canonical tables, so a source other than
a file (a database query, a nightly refresh) appends through the same merge and the same checks.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from engine.data.append import conform, merge_events, merge_side
from engine.progress import Progress, no_progress, scaled
from kpconsole.errors import ConsoleError
from kpconsole.services.datasets import (
    CANONICAL_FOLDER_FILES,
    IngestRequest,
    _requests,
    check_database_request,
    database_inputs,
    detect_format,
    query_rows_named,
)
from kpconsole.session import Session
from store import catalog
from store.catalog import DatasetRecord

APPENDABLE = ("csv", "parquet", "jsonl", "folder")


@dataclass(frozen=True)
class AppendResult:
    """What an append did: the dataset as it is now and what was added or skipped."""

    record: DatasetRecord
    previous_version: int
    events_added: int
    duplicates: int
    users_added: int
    items_added: int

    @property
    def changed(self) -> bool:
        return self.record.version != self.previous_version

    def as_dict(self) -> dict:
        return {**self.record.as_dict(), "previous_version": self.previous_version, "events_added": self.events_added,
                "duplicates_skipped": self.duplicates, "users_added": self.users_added,
                "items_added": self.items_added}

    @property
    def line(self) -> str:
        r = self.record
        what = (f"version {self.previous_version} → {r.version}" if self.changed
                else f"still version {r.version}: nothing new")
        return (f"appended to '{r.name}' ({what}): {self.events_added:,} events, {self.users_added:,} new users, "
                f"{self.items_added:,} new items; {self.duplicates:,} duplicate events skipped")


def append(session: Session, request: IngestRequest, progress: Progress = no_progress) -> AppendResult:
    """Validate ``request.path`` as an ingest would and append it to dataset ``request.name``.
    Mapping, kind and time format default to those the dataset was ingested with. Audited as
    ``data.ingest`` with ``append`` in its parameters."""
    from engine.data.tabular import ingest_tables

    catalog.check_name(request.name)
    params = {**request.as_params(), "append": True}
    with session.action("data.ingest", target=request.name, params=params):
        current = existing(session, request.name)
        if request.url:
            return _append_database(session, current, request, progress)
        path = Path(request.path)
        fmt = detect_format(path, request.format)
        if fmt not in APPENDABLE:
            raise ConsoleError(f"{path}: a {fmt} import cannot be appended; append a CSV, Parquet or JSON Lines "
                               "file, or a folder of events.* (+ users.*, items.*)")
        request = _with_dataset_defaults(request, current)
        with catalog.staging_folder(session.ws) as scratch:
            inputs = _requests(path, fmt, request)
            ingest_tables(inputs["events"], scratch, users=inputs["users"], items=inputs["items"],
                          ts_format=request.ts_format, progress=scaled(progress, 0.0, 0.6))
            labels = {t: (inputs[t].path.name if inputs.get(t) else inputs["events"].path.name)
                      for t in CANONICAL_FOLDER_FILES}
            return append_validated(session, current, scratch, labels=labels, source=str(path.resolve()),
                                    progress=scaled(progress, 0.6, 1.0))


def _append_database(session: Session, current: DatasetRecord, request: IngestRequest,
                     progress: Progress) -> AppendResult:
    """Append the rows of a database query (read in batches, validated as an ingest would)."""
    from engine.data.tabular import ingest_tables

    source = check_database_request(request)
    request = _with_dataset_defaults(request, current)
    with catalog.staging_folder(session.ws) as scratch, catalog.staging_folder(session.ws) as validated:
        inputs = database_inputs(request, source, scratch, scaled(progress, 0.0, 0.3))
        with query_rows_named(source):
            ingest_tables(inputs["events"], validated, users=inputs["users"], items=inputs["items"],
                          ts_format=request.ts_format, progress=scaled(progress, 0.3, 0.6))
        labels = {t: (inputs[t].path.name if inputs.get(t) else source.label) for t in CANONICAL_FOLDER_FILES}
        return append_validated(session, current, validated, labels=labels, source=source.label,
                                progress=scaled(progress, 0.6, 1.0))


def existing(session: Session, name: str) -> DatasetRecord:
    """The dataset to append to; a one-line error when there is none."""
    if not catalog.dataset_exists(session.ws, name):
        known = [r.name for r in catalog.list_datasets(session.ws)]
        raise ConsoleError(f"dataset '{name}' does not exist, so there is nothing to append to "
                           f"({'known: ' + ', '.join(known) if known else 'the workspace has none'}); ingest it first")
    return catalog.get_dataset(session.ws, name)


def _with_dataset_defaults(request: IngestRequest, current: DatasetRecord) -> IngestRequest:
    first = current.params
    return replace(request, mapping=request.mapping or first.get("mapping") or None,
                   kind=request.kind or first.get("kind"), ts_format=request.ts_format or first.get("ts_format"))


def append_validated(session: Session, current: DatasetRecord, scratch: Path, *, labels: dict[str, str],
                     source: str, progress: Progress = no_progress) -> AppendResult:
    """Merge the canonical tables in ``scratch`` (``events.parquet``, and ``users``/``items``
    when there) into ``current`` and register the next version; see the module docstring.
    ``labels`` name each table's input in error messages; ``source`` is recorded."""
    from engine.data.tabular import EVENTS_COMPRESSION

    new = {t: pl.scan_parquet(scratch / f"{t}.parquet") for t in CANONICAL_FOLDER_FILES
           if (scratch / f"{t}.parquet").exists()}
    old = {t: pl.scan_parquet(current.table_path(t)) for t in CANONICAL_FOLDER_FILES if t in current.tables}
    for table in list(new):
        if table not in old:
            raise ConsoleError(f"dataset '{current.name}' has no {table} table to append {labels[table]} to")
        new[table] = conform(new[table], old[table].collect_schema(), table=table, file=labels[table])
    progress(0.1, "finding duplicate events")
    events = merge_events(old["events"], new["events"])
    with catalog.staging_folder(session.ws) as staging:
        added = events.added.collect()
        counts = {"events": added.height, "duplicates": new["events"].select(pl.len()).collect().item() - added.height}
        sides = {}
        for table in ("users", "items"):
            if table in new:
                merged, fresh = merge_side(old[table], new[table], table)
                sides[table] = merged.collect()
                counts[table] = fresh.select(pl.len()).collect().item()
            else:
                counts[table] = 0
        if counts["events"] == 0 and counts["users"] == 0 and counts["items"] == 0:
            return AppendResult(current, current.version, 0, counts["duplicates"], 0, 0)
        progress(0.4, f"writing {current.tables['events'] + added.height:,} events")
        pl.concat([old["events"], added.lazy()], how="vertical").sink_parquet(staging / "events.parquet",
                                                                             compression=EVENTS_COMPRESSION)
        for table in ("users", "items"):
            if table in sides:
                sides[table].write_parquet(staging / f"{table}.parquet")
            elif table in current.tables:
                _link(current.table_path(table), staging / f"{table}.parquet")
        for other in current.tables:
            if other not in CANONICAL_FOLDER_FILES:
                _link(current.table_path(other), staging / f"{other}.parquet")
        tables = {**current.tables, "events": current.tables["events"] + added.height,
                  **{t: frame.height for t, frame in sides.items()}}
        schema = {**current.schema, **{t: {c: str(d) for c, d in pl.scan_parquet(staging / f"{t}.parquet")
                                              .collect_schema().items()} for t in CANONICAL_FOLDER_FILES}}
        profile = _profile(current.profile, added, tables)
        appended = [*current.params.get("appended", []), {"source": source, "events": counts["events"],
                                                          "duplicates": counts["duplicates"]}]
        progress(0.9, "registering the new version")
        record = catalog.register_version(session.ws, current, staging, tables=tables, schema=schema,
                                          profile=profile, params={**current.params, "appended": appended},
                                          created_by=session.actor.name)
    progress(1.0, f"version {record.version}")
    return AppendResult(record, current.version, counts["events"], counts["duplicates"], counts["users"],
                        counts["items"])


def _link(source: Path, target: Path) -> None:
    """A table carried over unchanged: a hard link (folders never change once registered), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _profile(before: dict, added: pl.DataFrame, tables: dict[str, int]) -> dict:
    """The dataset's profile after ``added`` events: counts, time range and kinds updated."""
    kinds = dict(before.get("kinds") or {})
    for kind, n in added.group_by("kind").len().iter_rows():
        kinds[kind] = kinds.get(kind, 0) + n
    ordered = dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    times = [t for t in (before.get("ts_min"), before.get("ts_max")) if t]
    if added.height:
        times += [added["ts"].min().isoformat(), added["ts"].max().isoformat()]
    return {**before, "n_events": tables["events"], "n_users": tables.get("users", before.get("n_users")),
            "n_items": tables.get("items", before.get("n_items")), "ts_min": min(times) if times else None,
            "ts_max": max(times) if times else None, "kinds": ordered}


def prune(session: Session, name: str | None = None, keep: int = 0) -> list[catalog.DatasetVersion]:
    """Remove the kept previous versions (folders and rows) of dataset ``name`` or of every
    dataset, but the newest ``keep`` of each; audited as ``data.prune``."""
    if keep < 0:
        raise ConsoleError(f"keep must be 0 or more (got {keep})")
    with session.action("data.prune", target=name, params={"keep": keep}):
        return catalog.prune_versions(session.ws, name, keep)
