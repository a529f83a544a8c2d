"""Datasets: ingest, list, show, delete, generate sample data, and loading their tables for other services.

Importing this module loads neither Polars nor the engine's readers: ``data list``, ``data
--help`` and shell completion start without them. The functions that parse, profile or
generate data import them when they run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.progress import Progress, no_progress
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.jobs.request import DATABASE_URL, JobRequest
from kpconsole.session import Session
from store import catalog
from store.catalog import DatasetRecord

if TYPE_CHECKING:
    import polars as pl

    from engine.data.tabular import TableRequest

INGEST_FORMATS = ("csv", "parquet", "jsonl", "stackexchange", "oulad", "folder")
CANONICAL_FOLDER_FILES = ("events", "users", "items")
SYNTH_FORMATS = ("csv", "parquet")
SYNTH_MIN_USERS = 50
SYNTH_DEFAULTS = {"users": 1_000, "days": 180, "seed": 7}
"""``data synth``'s defaults (they make ``sample_data/platform``)."""


@dataclass(frozen=True)
class IngestRequest(JobRequest):
    """What ``kpconsole data ingest`` asks for, in plain values (also an ``ingest`` job's
    parameters). A database source gives ``url`` and ``query`` instead of ``path``: the URL
    lives only in memory, :meth:`as_params` (what the catalog, the audit log and a job record)
    holds it without its password."""

    path: Path | None
    name: str
    format: str | None = None
    mapping: dict[str, str] | None = None  # "field=column", "users.field=column", "items.field=column"
    kind: str | None = None
    users: Path | None = None
    items: Path | None = None
    ts_format: str | None = None
    replace: bool = False
    append: bool = False  # add to the existing dataset as its next version (kpconsole.services.dataset_append)
    url: str | None = field(default=None, metadata=DATABASE_URL)  # a database: postgresql://… or sqlite:///… (engine.data.database)
    query: str | None = None  # the SELECT whose rows are the events

    @property
    def source_label(self) -> str:
        """Where the events come from, as messages and records show it (no password)."""
        from engine.data.database import redact

        return redact(self.url) if self.url else str(self.path)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["user_id=id_student", "items.price=cost"]`` → dict; a bad pair is a one-line error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidField(f"{{mapping}} {pair!r}: expected FIELD=COLUMN, e.g. {{mapping}} user_id=id_student",
                               "mapping")
        out[key.strip()] = value.strip()
    return out


def _split_mapping(mapping: dict[str, str]) -> dict[str, dict[str, str]]:
    split: dict[str, dict[str, str]] = {"events": {}, "users": {}, "items": {}}
    for key, value in mapping.items():
        table, dot, field = key.partition(".")
        if dot and table in split:
            split[table][field] = value
        elif dot:
            raise InvalidField(f"{{mapping}} {key}={value}: the table prefix must be users. or items.", "mapping")
        else:
            split["events"][key] = value
    return split


def detect_format(path: Path, fmt: str | None) -> str:
    from engine.data import oulad, stackexchange
    from engine.data.sources import format_of

    if fmt:
        if fmt not in INGEST_FORMATS:
            raise ConsoleError(f"unknown format '{fmt}' (one of {', '.join(INGEST_FORMATS)})")
        return fmt
    if path.is_dir():
        if stackexchange.is_dump(path):
            return "stackexchange"
        if oulad.is_oulad(path):
            return "oulad"
        if _folder_file(path, "events"):
            return "folder"
        raise ConsoleError(
            f"{path}: a folder must be a Stack Exchange dump (Posts.xml, Users.xml, …), an OULAD folder "
            "(studentInfo.csv, studentRegistration.csv, courses.csv) "
            "or hold events.csv|parquet|jsonl (with optional users.* and items.*)"
        )
    if not path.exists():
        raise ConsoleError(f"{path}: no such file or folder")
    return format_of(path)


def _folder_file(folder: Path, stem: str) -> Path | None:
    for suffix in (".csv", ".parquet", ".jsonl"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def ingest(session: Session, request: IngestRequest, progress: Progress = no_progress) -> DatasetRecord:
    """Validate and store a dataset; all or nothing. Audited as ``data.ingest``."""
    from engine.data import oulad, stackexchange
    from engine.data.tabular import ingest_tables

    catalog.check_name(request.name)
    with session.action("data.ingest", target=request.name, params=request.as_params()):
        if catalog.dataset_exists(session.ws, request.name) and not request.replace:
            raise already_exists(request.name)
        if request.url:
            return _ingest_database(session, request, progress)
        path = Path(request.path)
        fmt = detect_format(path, request.format)
        with catalog.staging_folder(session.ws) as staging:
            if fmt == "stackexchange":
                if request.mapping or request.kind or request.users or request.items:
                    raise InvalidField("{mapping}, {kind}, {users} and {items} do not apply to a Stack Exchange dump",
                                       "mapping", "kind", "users", "items")
                result = stackexchange.import_dump(path, staging, progress)
                extra = {"files": result.files}
            elif fmt == "oulad":
                if request.mapping or request.kind or request.users or request.items:
                    raise InvalidField("{mapping}, {kind}, {users} and {items} do not apply to an OULAD folder",
                                       "mapping", "kind", "users", "items")
                result = oulad.import_folder(path, staging, progress)
                extra = {"files": result.files}
            else:
                inputs = _requests(path, fmt, request)
                result = ingest_tables(
                    inputs["events"], staging, users=inputs["users"], items=inputs["items"],
                    ts_format=request.ts_format, progress=progress,
                )
                extra = {}
            return _register(
                session, request, staging, format=fmt, source=str(path.resolve()),
                tables=result.tables, schema=result.schema, profile=result.profile.as_dict(),
                params={**request.as_params(), **extra},
            )


def _register(session: Session, request: IngestRequest, staging: Path, **record: Any) -> DatasetRecord:
    """Publish the staged folder as dataset ``request.name``; a name taken meanwhile (another
    ingest finishing first) is the same error as one taken before."""
    from store.errors import NameTaken

    try:
        return catalog.register_dataset(session.ws, request.name, staging, replace=request.replace,
                                        created_by=session.actor.name, **record)
    except NameTaken:
        raise already_exists(request.name) from None


def already_exists(name: str) -> InvalidField:
    """The error for a new dataset whose name is taken."""
    return InvalidField(f"dataset '{name}' already exists (pass {{replace}} to overwrite it)", "replace")


def check_database_request(request: IngestRequest):
    """The :class:`~engine.data.database.DatabaseSource` of a database request, after the checks
    that need no connection (scheme, query, SQLite file, no file-only options)."""
    from engine.data.database import check_source

    if request.format not in (None, "database"):
        raise InvalidField("{format} does not apply to a database source", "format")
    if not request.query:
        raise InvalidField(f"{{query}} is needed to read {request.source_label} (SELECT …)", "query")
    return check_source(request.url, request.query)


def _ingest_database(session: Session, request: IngestRequest, progress: Progress) -> DatasetRecord:
    from engine.data.tabular import ingest_tables
    from engine.progress import scaled

    source = check_database_request(request)
    with catalog.staging_folder(session.ws) as scratch, catalog.staging_folder(session.ws) as staging:
        inputs = database_inputs(request, source, scratch, scaled(progress, 0.0, 0.5))
        with query_rows_named(source):
            result = ingest_tables(inputs["events"], staging, users=inputs["users"], items=inputs["items"],
                                   ts_format=request.ts_format, progress=scaled(progress, 0.5, 1.0))
        return _register(
            session, request, staging, format="database", source=source.label,
            tables=result.tables, schema=result.schema, profile=result.profile.as_dict(),
            params=request.as_params(),
        )


QUERY_FILE = "query.parquet"
"""The raw rows of a database query, in a scratch folder."""


@contextmanager
def query_rows_named(source) -> Iterator[None]:
    """A bad row of the query's result is named as the source's (``postgresql://kp:***@db/x
    query: row 17: …``), not by the scratch file that holds it."""
    from engine.errors import DataError

    try:
        yield
    except DataError as exc:
        if exc.file != QUERY_FILE:
            raise
        raise DataError(exc.reason, file=f"{source.label} query", line=exc.line, row=exc.row, field=exc.field,
                        names=exc.names) from None


def database_inputs(request: IngestRequest, source, scratch: Path,
                    progress: Progress = no_progress) -> dict[str, TableRequest | None]:
    """Run the request's query into ``scratch`` (in batches) and return the ingest's inputs:
    its rows as the events, the request's users and items files beside them."""
    from engine.data.database import read_query
    from engine.data.tabular import TableRequest

    raw = scratch / QUERY_FILE
    read_query(source, raw, progress)
    maps = _split_mapping(request.mapping or {})
    constants = {"kind": request.kind} if request.kind else {}
    out: dict[str, TableRequest | None] = {"events": TableRequest(raw, "parquet", maps["events"], constants)}
    for table, given in (("users", request.users), ("items", request.items)):
        out[table] = TableRequest(given, None, maps[table]) if given else None
    return out


def _requests(path: Path, fmt: str, request: IngestRequest) -> dict[str, TableRequest | None]:
    """The events, users and items inputs of a tabular ingest."""
    from engine.data.tabular import TableRequest

    maps = _split_mapping(request.mapping or {})
    constants = {"kind": request.kind} if request.kind else {}
    events = _folder_file(path, "events") if fmt == "folder" else path
    out: dict[str, TableRequest | None] = {
        "events": TableRequest(events, None if fmt == "folder" else fmt, maps["events"], constants)
    }
    for table, given in (("users", request.users), ("items", request.items)):
        source = given or (_folder_file(path, table) if fmt == "folder" else None)
        out[table] = TableRequest(source, None, maps[table]) if source else None
    return out


def list_datasets(session: Session) -> list[DatasetRecord]:
    return catalog.list_datasets(session.ws)


def get(session: Session, name: str) -> DatasetRecord:
    return catalog.get_dataset(session.ws, name)


@dataclass(frozen=True)
class DatasetSummary:
    record: DatasetRecord
    top_items: list[dict]

    def as_dict(self) -> dict:
        return {**self.record.as_dict(), "top_items": self.top_items}


KEPT_TOP_ITEMS = 100
"""How many top items the first ``show`` of a dataset computes and keeps for the next ones."""


def show(session: Session, name: str, top: int = 10) -> DatasetSummary:
    """The dataset's record and its ``top`` items by distinct users. Counting distinct users per
    item reads every event (Polars: about 0.2 s to load, more on a large dataset), so the first
    ``show`` keeps the top :data:`KEPT_TOP_ITEMS` next to the tables and later ones read them."""
    record = get(session, name)
    kept = catalog.read_derived(record, "top_items")
    if kept is None or (len(kept["rows"]) < top and not kept["all"]):
        from engine.data.profile import top_items

        wanted = max(top, KEPT_TOP_ITEMS)
        rows = top_items(load(record, "events"), load(record, "items"), wanted).to_dicts()
        kept = {"rows": rows, "all": len(rows) < wanted}
        catalog.keep_derived(record, "top_items", kept)
    return DatasetSummary(record, kept["rows"][:top])


def delete(session: Session, name: str) -> None:
    with session.action("data.delete", target=name):
        catalog.delete_dataset(session.ws, name)


def load(record: DatasetRecord, table: str) -> pl.LazyFrame:
    """A dataset's table as a lazy frame (scan, nothing read until collected)."""
    import polars as pl

    if table not in record.tables:
        raise ConsoleError(
            f"dataset '{record.name}' has no table '{table}' (tables: {', '.join(record.tables)})"
        )
    return pl.scan_parquet(record.table_path(table))


class SynthValueError(InvalidField):
    """A bad ``data synth`` value: the ``field`` (``users``, ``days``, ``format``, ``out``) and the
    ``reason`` (which may name other fields, ``{force}``), kept apart so that each front end can
    put them its own way — the command line and the sample-data form as Click words a bad
    parameter (``Invalid value for '--users': 10 is not in the range x>=50.``)."""

    def __init__(self, field: str, reason: str, *others: str) -> None:
        self.field, self.reason = field, InvalidField(reason, *others)
        super().__init__(f"{{{field}}}: {reason}", field, *others)


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synthesize` wrote: the folder, its files and the size of each generated table."""

    folder: Path
    files: list[Path]
    users: int
    items: int
    events: int
    config: dict

    @property
    def summary(self) -> str:
        """What was generated and where, in one line."""
        return f"wrote {self.events:,} events, {self.users:,} users, {self.items:,} items to {self.folder}"


def synthesize(out: Path, *, users: int = SYNTH_DEFAULTS["users"], days: int = SYNTH_DEFAULTS["days"],
               seed: int = SYNTH_DEFAULTS["seed"], fmt: str = "csv", force: bool = False) -> SynthResult:
    """Generate a knowledge platform with planted segments, tastes and price sensitivity into
    folder ``out`` (users, items, events and the truth_* tables), as ``kpconsole data synth`` does,
    after the same checks with the same one-line messages. It writes a folder, not the workspace,
    so it needs no role and is not audited; ingest the folder to use it.

    >>> synthesize(Path("shop"), users=200, days=30).events  # doctest: +SKIP
    2718
    """
    if users < SYNTH_MIN_USERS:
        raise SynthValueError("users", f"{users} is not in the range x>={SYNTH_MIN_USERS}.")
    if days < 1:
        raise SynthValueError("days", f"{days} is not in the range x>=1.")
    if fmt not in SYNTH_FORMATS:
        raise SynthValueError("format", f"{fmt!r} is not one of {', '.join(map(repr, SYNTH_FORMATS))}.")
    if out.exists() and not out.is_dir():
        raise SynthValueError("out", f"{out} is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise SynthValueError("out", f"{out} is not empty (pass {{force}} to write into it)", "force")
    from engine.data.synth import SynthConfig, generate

    data = generate(SynthConfig(users=users, days=days, seed=seed))
    try:
        written = data.write(out, fmt)
    except OSError as exc:
        raise ConsoleError(f"{out}: cannot write the generated data ({exc.strerror})") from None
    return SynthResult(out, written, data.users.height, data.items.height, data.events.height,
                       data.config.as_dict())
