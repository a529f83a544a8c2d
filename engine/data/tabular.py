"""Ingest of tabular files (CSV, Parquet, JSON Lines) into the canonical tables.

``ingest_tables`` reads an events file (and, optionally, users and items files), converts each
column in one streaming pass, writes canonical Parquet into a folder the caller owns, then
validates what it wrote with cheap columnar aggregates. When a check fails it goes back to the
source to find the first offending row and raises :class:`DataError` naming file, row (line for
text formats), field and reason. The caller discards the folder on error: nothing half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypedDict

import polars as pl

from engine.data import columns as C
from engine.data import timeparse
from engine.data.first_seen import FirstSeen
from engine.data.profile import DatasetProfile
from engine.data.schema import EVENTS, ITEMS, KIND_PATTERN, USERS, TableSpec
from engine.data.sources import RawTable, locate_read_error, open_raw
from engine.errors import DataError
from engine.progress import Progress, no_progress

SAMPLE_ROWS = 2_000
TS_MIN, TS_MAX = "1900-01-01", "2100-01-01"
EVENTS_COMPRESSION: Final = "lz4"
"""The events Parquet's codec. Polars' default, zstd, costs a fifth of a bare CSV-to-Parquet
copy more CPU than LZ4 (bench/ingest.py: 10 M events, 94 MiB zstd, 135 MiB LZ4); LZ4 pays for the
first-seen users and items the same pass computes, and reads at least as fast."""

# Which columns share an ID type: a user ID is the same thing in events, users and items.
ID_DOMAINS = {
    "user": (("events", "user_id"), ("users", "user_id"), ("items", "creator_id")),
    "item": (("events", "item_id"), ("items", "item_id")),
}


@dataclass(frozen=True)
class TableRequest:
    """One input file and how its columns map onto a canonical table."""

    path: Path
    fmt: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    tables: dict[str, int]
    schema: dict[str, dict[str, str]]
    profile: DatasetProfile


class _Retry(Exception):
    """The sample misled the fast path (an ID column turned to text, or a timestamp in a
    second valid format appeared late); the hints now say so and the ingest runs again."""


@dataclass
class _Hints:
    text_domains: set[str] = field(default_factory=set)
    formats: dict[tuple[str, str], list[str]] = field(default_factory=dict)


@dataclass
class _Table:
    spec: TableSpec
    raw: RawTable
    columns: dict[str, C.Column]
    sample: pl.DataFrame
    hints: _Hints
    formats: dict[str, list[str] | None] = field(default_factory=dict)
    id_as_int: dict[str, bool] = field(default_factory=dict)

    def exprs(self) -> list[pl.Expr]:
        out = [
            C.field_expr(col, self.raw, id_as_int=self.id_as_int.get(name, True), formats=self.formats.get(name))
            for name, col in self.columns.items()
        ]
        out += [pl.col(extra) for extra in C.extra_columns(self.spec, self.raw, self.columns)]
        return out


def ingest_tables(
    events: TableRequest,
    dest: Path,
    *,
    users: TableRequest | None = None,
    items: TableRequest | None = None,
    ts_format: str | None = None,
    progress: Progress = no_progress,
) -> IngestResult:
    """Convert and validate the inputs, writing ``events/users/items.parquet`` into ``dest``.

    Users and items missing from the input are derived from the events (first event time as
    ``joined_at`` / ``created_at``). Raises :class:`DataError` on the first bad row.
    """
    requests = {"events": events, "users": users, "items": items}
    hints = _Hints()
    while True:
        try:
            return _ingest(requests, Path(dest), ts_format, hints, progress)
        except _Retry:
            continue


def _ingest(
    requests: dict[str, TableRequest | None],
    dest: Path,
    ts_format: str | None,
    hints: _Hints,
    progress: Progress,
) -> IngestResult:
    specs = {"events": EVENTS, "users": USERS, "items": ITEMS}
    tables: dict[str, _Table] = {}
    for name, request in requests.items():
        if request is None:
            continue
        raw = open_raw(request.path, request.fmt)
        cols = C.resolve_columns(specs[name], raw, dict(request.mapping), dict(request.constants))
        tables[name] = _Table(specs[name], raw, cols, _sample(raw), hints)
    _decide_id_types(tables, hints.text_domains)
    for t in tables.values():
        _decide_ts_formats(t, ts_format)

    ev = tables["events"]
    progress(0.05, f"reading {ev.raw.label}")
    events_path = dest / "events.parquet"
    checks, kinds, first_seen = _write_events(ev, events_path)
    progress(0.7, "validating events")
    _validate_events(ev, checks.row(0, named=True), kinds)
    first_user = first_seen.table("user_id", events_path)
    first_item = first_seen.table("item_id", events_path)

    progress(0.8, "users and items")
    users = _load_side_table(tables.get("users"))
    items = _load_side_table(tables.get("items"))
    if users is None:
        users = first_user.rename({"_first": "joined_at"})
    else:
        _check_references(first_user, users, "user_id", ev, tables["users"])
        users = _fill_first_seen(users, first_user, "user_id", "joined_at")
    if items is None:
        items = _derived_items(first_item, ev.id_as_int["user_id"])
    else:
        _check_references(first_item, items, "item_id", ev, tables["items"])
        items = _fill_first_seen(items, first_item, "item_id", "created_at")
        _check_creators(items, users, tables["items"], tables.get("users"))
    users.write_parquet(dest / "users.parquet")
    items.write_parquet(dest / "items.parquet")
    progress(1.0, "written")
    c = checks.row(0, named=True)
    profile = DatasetProfile(
        n_events=c["rows"], n_users=users.height, n_items=items.height,
        ts_min=_EPOCH + dt.timedelta(microseconds=c["ts_min_us"]),
        ts_max=_EPOCH + dt.timedelta(microseconds=c["ts_max_us"]),
        kinds=dict(zip(kinds["kind"].to_list(), kinds["len"].to_list(), strict=True)),
    )
    return IngestResult(
        tables={"events": profile.n_events, "users": users.height, "items": items.height},
        schema={
            "events": _schema_of(pl.scan_parquet(events_path).collect_schema()),
            "users": _schema_of(users.schema),
            "items": _schema_of(items.schema),
        },
        profile=profile,
    )


def _write_events(ev: _Table, path: Path) -> tuple[pl.DataFrame, pl.DataFrame, FirstSeen]:
    """Convert and write the events in one pass over the source, with the validation
    aggregates (checks, kind counts) and the first-seen users and items computed from the
    same scan.

    CSV is first read *typed* (IDs, numbers and epoch times parsed by the reader itself, as
    fast as a bare Polars copy); if the reader rejects a cell, the file is read again as text,
    where every bad cell becomes a null the validator can point at.
    """
    attempts = [_typed(ev), ev] if ev.raw.fmt == "csv" else [ev]
    for i, table in enumerate(attempts):
        converted = table.raw.frame.select(table.exprs())
        first_seen = FirstSeen(converted, {key: table.id_as_int[key] for key in ("user_id", "item_id")})
        try:
            _, checks, kinds, *first = pl.collect_all([
                converted.sink_parquet(path, compression=EVENTS_COMPRESSION, lazy=True),
                *_event_aggregates(converted), *first_seen.queries,
            ])
            first_seen.collected(first)
            return checks, kinds, first_seen
        except pl.exceptions.PolarsError as exc:
            if i == len(attempts) - 1:
                raise locate_read_error(ev.raw, exc) from None
    raise AssertionError("unreachable")


def _typed(t: _Table) -> _Table:
    """The same table read with the reader's own types for the columns the fields use."""
    dtypes: dict[str, pl.DataType] = {name: pl.String() for name in t.raw.schema}
    for name, col in t.columns.items():
        if col.source is None:
            continue
        kind = col.field.kind
        if kind == "id" and t.id_as_int.get(name, True):
            dtypes[col.source] = pl.Int64()
        elif kind == "float":
            dtypes[col.source] = pl.Float64()
        elif kind == "ts" and t.formats.get(name) == [timeparse.EPOCH]:
            dtypes[col.source] = pl.Float64()
    frame = pl.scan_csv(t.raw.path, separator=t.raw.separator, schema=dtypes, encoding="utf8",
                        has_header=True)
    raw = RawTable(t.raw.path, t.raw.fmt, frame, dtypes, t.raw.separator)
    return _Table(t.spec, raw, t.columns, t.sample, t.hints, dict(t.formats), dict(t.id_as_int))


def _sample(raw: RawTable) -> pl.DataFrame:
    try:
        return raw.frame.head(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError as exc:
        raise locate_read_error(raw, exc) from None


def _decide_id_types(tables: dict[str, _Table], text_domains: set[str]) -> None:
    for domain, members in ID_DOMAINS.items():
        present = [(tables[t], src) for t, f in members if t in tables and (src := tables[t].columns[f].source)]
        as_int = domain not in text_domains and all(
            C.id_is_integer(t.raw.schema[src], t.sample[src]) for t, src in present
        )
        for t, f in members:
            if t in tables:
                tables[t].id_as_int[f] = as_int


def _decide_ts_formats(t: _Table, override: str | None) -> None:
    for name, col in t.columns.items():
        if col.field.kind != "ts":
            continue
        try:
            formats = C.ts_formats(col, t.raw, t.sample, override)
        except DataError as exc:
            if exc.row is None:
                raise
            raise DataError(exc.reason, file=t.raw.label, field=name, **_where(t.raw, exc.row)) from None
        extra = t.hints.formats.get((t.spec.name, name), [])
        t.formats[name] = None if formats is None else formats + [f for f in extra if f not in formats]


# --- validation -------------------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1)
_LO, _HI = pl.lit(TS_MIN).str.to_datetime(), pl.lit(TS_MAX).str.to_datetime()
_OUT_OF_RANGE = (pl.col("ts") < _LO) | (pl.col("ts") >= _HI)
_LO_US, _HI_US = ((dt.datetime.fromisoformat(t) - _EPOCH) // dt.timedelta(microseconds=1) for t in (TS_MIN, TS_MAX))
_EVENT_FIELDS = ("user_id", "item_id", "kind", "ts", "value", "amount")


def _event_aggregates(scan: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Checks and kind counts (to be collected together with the pass that writes the events)."""
    checks = scan.select(
        pl.len().alias("rows"),
        *[pl.col(n).null_count().alias(f"null_{n}") for n in _EVENT_FIELDS],
        pl.col("amount").min().alias("min_amount"),
        # as integers: an out-of-range time would not fit a Python datetime before it is reported;
        # the range check needs no pass of its own, a time is out of range iff the min or max is
        pl.col("ts").min().dt.epoch("us").alias("ts_min_us"),
        pl.col("ts").max().dt.epoch("us").alias("ts_max_us"),
    )
    kinds = scan.group_by("kind").len().sort(["len", "kind"], descending=[True, False])
    return [checks, kinds]


def _validate_events(ev: _Table, checks: dict, kinds: pl.DataFrame) -> None:
    if checks["rows"] == 0:
        raise DataError("no data rows", file=ev.raw.label)
    for name in _EVENT_FIELDS:
        if checks[f"null_{name}"]:
            _fail_null(ev, name, pl.col(name).is_null())
    if checks["min_amount"] is not None and checks["min_amount"] < 0:
        _fail(ev, "amount", pl.col("amount") < 0, "negative amount {raw} (a refund is a positive amount with kind 'refund')")
    if checks["ts_min_us"] is not None and (checks["ts_min_us"] < _LO_US or checks["ts_max_us"] >= _HI_US):
        _fail(ev, "ts", _OUT_OF_RANGE, "timestamp {raw} is outside 1900..2100 (milliseconds? pass --ts-format epoch_ms)")
    bad_kinds = [k for k in kinds["kind"].to_list() if not KIND_PATTERN.match(k)]
    if bad_kinds:
        _fail(ev, "kind", pl.col("kind") == bad_kinds[0],
              "kind {raw} is not a lowercase word (letters, digits, '_'; e.g. view, purchase)")


def _fail_null(t: _Table, name: str, condition: pl.Expr) -> None:
    """Report the first row whose field came out null: missing, or a value that is not valid."""
    col = t.columns[name]
    if col.field.kind == "id" and t.id_as_int.get(name):
        _retry_if_text_id(t, name)
    bad = _first_bad(t, name, condition)
    if col.field.kind == "ts" and bad and bad[1]:
        fmt = timeparse.format_of_value(bad[1])
        known = t.hints.formats.setdefault((t.spec.name, name), [])
        if fmt and fmt not in (t.formats.get(name) or []) and fmt not in known:
            known.append(fmt)  # a second valid format the sample did not show
            raise _Retry
    what = {
        "id": "not an ID",
        "ts": "not a timestamp (ISO-8601 date/datetime or Unix epoch seconds)",
        "float": "not a number",
    }.get(col.field.kind, "not valid")
    _raise_at(t, name, bad, "{raw} is " + what, missing=f"missing {name}")


def _retry_if_text_id(t: _Table, name: str) -> None:
    src = t.columns[name].source
    if src is None:  # a constant or absent column holds no text to read as an ID
        return
    bad = t.raw.frame.select(
        (pl.col(src).is_not_null() & pl.col(src).cast(pl.Int64, strict=False).is_null()).any()
    ).collect().item()
    if bad:
        t.hints.text_domains.add(next(d for d, members in ID_DOMAINS.items() if (t.spec.name, name) in members))
        raise _Retry


def _first_bad(t: _Table, name: str, condition: pl.Expr) -> tuple[int, str | None] | None:
    """The first (row, raw text) where ``condition`` holds on the converted row."""
    col = t.columns[name]
    raw_expr = pl.col(col.source).cast(pl.String) if col.source else pl.lit(None, dtype=pl.String)
    frame = t.raw.frame if t.spec is EVENTS else pl.LazyFrame(t.sample)  # side tables: sample holds all
    found = (
        frame.with_row_index("_row", offset=1)
        .select("_row", raw_expr.alias("_raw"), *t.exprs())
        .filter(condition)
        .head(1)
        .collect()
    )
    return (found["_row"][0], found["_raw"][0]) if found.height else None


def _raise_at(t: _Table, name: str, bad: tuple[int, str | None] | None, message: str, missing: str | None = None) -> None:
    if bad is None:
        raise DataError(message.format(raw="a value") + " (row not found on a second read)", file=t.raw.label,
                        field=name)
    row, raw = bad
    text = missing if (raw is None or raw == "") and missing else message.format(raw=repr(raw))
    raise DataError(text, file=t.raw.label, field=name, **_where(t.raw, row))


def _fail(t: _Table, name: str, condition: pl.Expr, message: str) -> None:
    """Find the first row where ``condition`` holds and raise a DataError naming it."""
    _raise_at(t, name, _first_bad(t, name, condition), message)


class _Where(TypedDict, total=False):
    """Where a row is, as DataError's keywords: ``line`` in text files, else ``row``."""

    line: int
    row: int


def _where(raw: RawTable, row: int) -> _Where:
    """Line numbers for text files (exact, also with quoted newlines), else the row number."""
    if raw.fmt == "jsonl":
        return {"line": _jsonl_line_of_row(raw.path, row)}
    if raw.fmt == "csv":
        with raw.path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=raw.separator)
            next(reader, None)
            for i, _ in enumerate(reader, start=1):
                if i == row:
                    return {"line": reader.line_num}
    return {"row": row}


def _jsonl_line_of_row(path: Path, row: int) -> int:
    seen = 0
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.strip():
                seen += 1
                if seen == row:
                    return line_no
    return row


# --- users and items ----------------------------------------------------------------------


def _load_side_table(t: _Table | None) -> pl.DataFrame | None:
    """Read a users/items file whole (they are small next to events), convert and validate it."""
    if t is None:
        return None
    try:
        t.sample = t.raw.frame.collect()
    except pl.exceptions.PolarsError as exc:
        raise locate_read_error(t.raw, exc) from None
    if t.sample.height == 0:
        raise DataError("no data rows", file=t.raw.label)
    frame = t.sample.select(t.exprs())
    frame = _type_attributes(frame, t)
    key = t.spec.key
    assert key is not None, "users and items specs have a key"
    for name, col in t.columns.items():
        if col.source is None:
            continue
        src = t.sample[col.source]
        converted = frame[name]
        bad = converted.is_null() & src.is_not_null()
        if col.field.required and converted.null_count():
            _fail_null(t, name, pl.col(name).is_null())
        if bad.any():
            _fail_null(t, name, pl.col(name).is_null() & pl.col("_raw").is_not_null())
        if col.field.nonnegative and (converted.drop_nulls() < 0).any():
            _fail(t, name, pl.col(name) < 0, f"negative {name} {{raw}}")
    dup = frame[key].is_duplicated()
    if dup.any():
        value = frame[key][int(dup.arg_true()[0])]
        first, second = (frame[key] == value).arg_true().to_list()[:2]
        where_first = _where(t.raw, first + 1)
        seen = f"line {where_first['line']}" if "line" in where_first else f"row {where_first['row']}"
        raise DataError(f"duplicate {key} {value!r} (first seen at {seen})", file=t.raw.label, field=key,
                        **_where(t.raw, second + 1))
    return frame


def _type_attributes(frame: pl.DataFrame, t: _Table) -> pl.DataFrame:
    """Give text attribute columns of a CSV a numeric type when every value is a number."""
    if t.raw.fmt != "csv":
        return frame
    out = []
    for name in C.extra_columns(t.spec, t.raw, t.columns):
        s = frame[name]
        for dtype in (pl.Int64, pl.Float64):
            cast = s.cast(dtype, strict=False)
            if cast.null_count() == s.null_count():
                s = cast
                break
        out.append(s)
    return frame.with_columns(out) if out else frame


def _derived_items(first_item: pl.DataFrame, user_ids_int: bool) -> pl.DataFrame:
    """Items known only from events: their ID and first event; every other field empty."""
    id_type = pl.Int64 if user_ids_int else pl.String
    return first_item.select(
        "item_id",
        pl.lit(None, dtype=pl.String).alias("kind"),
        pl.lit(None, dtype=id_type).alias("creator_id"),
        pl.lit(None, dtype=pl.Float64).alias("price"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("tags"),
        pl.col("_first").alias("created_at"),
        pl.lit(None, dtype=pl.String).alias("title"),
    )


def _fill_first_seen(frame: pl.DataFrame, first: pl.DataFrame, key: str, column: str) -> pl.DataFrame:
    if frame[column].null_count() == 0:
        return frame
    return (
        frame.join(first, on=key, how="left")
        .with_columns(pl.coalesce(column, "_first").alias(column))
        .drop("_first")
    )


def _check_references(first: pl.DataFrame, side: pl.DataFrame, key: str, ev: _Table, t: _Table) -> None:
    missing = first.select(key).join(side.select(key), on=key, how="anti").head(1)
    if missing.height:
        value = missing[key][0]
        _fail(ev, key, pl.col(key) == value, f"{{raw}} is not in {t.raw.label}")


def _check_creators(items: pl.DataFrame, users: pl.DataFrame, it: _Table, ut: _Table | None) -> None:
    creators = items.select("creator_id").drop_nulls()
    missing = creators.join(users.select(pl.col("user_id").alias("creator_id")), on="creator_id", how="anti")
    if missing.height and ut is not None:
        value = missing["creator_id"][0]
        _fail(it, "creator_id", pl.col("creator_id") == value, f"creator {{raw}} is not in {ut.raw.label}")


def _schema_of(schema) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in schema.items()}
