"""Ingest of tabular files (CSV, Parquet, JSON Lines) into the canonical tables.

``ingest_tables`` reads an events file (and, optionally, users and items files), converts each
column in one streaming pass, writes canonical Parquet into a folder the caller owns, then
validates what it wrote with cheap columnar aggregates. When a check fails it goes back to the
source to find the first offending row and raises :class:`DataError` naming file, row (line for
text formats), field and reason. The caller discards the folder on error: nothing half-written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.data import columns as C
from engine.data.profile import DatasetProfile, profile_events
from engine.data.schema import EVENTS, ITEMS, KIND_PATTERN, USERS, TableSpec
from engine.data.sources import RawTable, locate_read_error, open_raw
from engine.errors import DataError
from engine.progress import Progress, no_progress

SAMPLE_ROWS = 2_000
TS_MIN, TS_MAX = "1900-01-01", "2100-01-01"

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


class _TextIds(Exception):
    """An ID column looked like integers in its sample but holds text further down."""

    def __init__(self, domain: str) -> None:
        self.domain = domain


@dataclass
class _Table:
    spec: TableSpec
    raw: RawTable
    columns: dict[str, C.Column]
    sample: pl.DataFrame
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
    text_domains: set[str] = set()
    while True:
        try:
            return _ingest(requests, Path(dest), ts_format, text_domains, progress)
        except _TextIds as retry:
            # Rare: the sample said "integers" but a later ID is text. Store that domain as text.
            text_domains.add(retry.domain)


def _ingest(
    requests: dict[str, TableRequest | None],
    dest: Path,
    ts_format: str | None,
    text_domains: set[str],
    progress: Progress,
) -> IngestResult:
    specs = {"events": EVENTS, "users": USERS, "items": ITEMS}
    tables: dict[str, _Table] = {}
    for name, request in requests.items():
        if request is None:
            continue
        raw = open_raw(request.path, request.fmt)
        cols = C.resolve_columns(specs[name], raw, dict(request.mapping), dict(request.constants))
        tables[name] = _Table(specs[name], raw, cols, _sample(raw))
    _decide_id_types(tables, text_domains)
    for t in tables.values():
        for name, col in t.columns.items():
            if col.field.kind == "ts":
                try:
                    t.formats[name] = C.ts_formats(col, t.raw, t.sample, ts_format)
                except DataError as exc:
                    if exc.row is None:
                        raise
                    raise DataError(exc.reason, file=t.raw.label, field=name, **_where(t.raw, exc.row)) from None

    progress(0.05, f"reading {tables['events'].raw.label}")
    events_path = dest / "events.parquet"
    ev = tables["events"]
    try:
        ev.raw.frame.select(ev.exprs()).sink_parquet(events_path)
    except pl.exceptions.PolarsError as exc:
        raise locate_read_error(ev.raw, exc) from None
    progress(0.6, "validating events")
    profile = _validate_events(ev, events_path)

    progress(0.75, "users and items")
    users = _load_side_table(tables.get("users"))
    items = _load_side_table(tables.get("items"))
    scan = pl.scan_parquet(events_path)
    if users is None:
        users = _derive(scan, "user_id", "joined_at")
    else:
        users = _fill_first_seen(users, scan, "user_id", "joined_at")
        _check_references(scan, users, "user_id", tables["events"], tables["users"])
    if items is None:
        items = _derive_items(scan, ev.id_as_int["user_id"])
    else:
        items = _fill_first_seen(items, scan, "item_id", "created_at")
        _check_references(scan, items, "item_id", tables["events"], tables["items"])
        _check_creators(items, users, tables["items"], tables.get("users"))
    users.write_parquet(dest / "users.parquet")
    items.write_parquet(dest / "items.parquet")
    progress(1.0, "written")
    profile = profile.with_counts(n_users=users.height, n_items=items.height)
    return IngestResult(
        tables={"events": profile.n_events, "users": users.height, "items": items.height},
        schema={
            "events": _schema_of(pl.scan_parquet(events_path).collect_schema()),
            "users": _schema_of(users.schema),
            "items": _schema_of(items.schema),
        },
        profile=profile,
    )


def _sample(raw: RawTable) -> pl.DataFrame:
    try:
        return raw.frame.head(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError as exc:
        raise locate_read_error(raw, exc) from None


def _decide_id_types(tables: dict[str, _Table], text_domains: set[str]) -> None:
    for domain, members in ID_DOMAINS.items():
        present = [(tables[t], f) for t, f in members if t in tables and tables[t].columns[f].source]
        as_int = domain not in text_domains and all(
            C.id_is_integer(t.raw.schema[t.columns[f].source], t.sample[t.columns[f].source])
            for t, f in present
        )
        for t, f in members:
            if t in tables:
                tables[t].id_as_int[f] = as_int


# --- validation -------------------------------------------------------------------------


def _validate_events(ev: _Table, path: Path) -> DatasetProfile:
    scan = pl.scan_parquet(path)
    lo, hi = pl.lit(TS_MIN).str.to_datetime(), pl.lit(TS_MAX).str.to_datetime()
    out_of_range = (pl.col("ts") < lo) | (pl.col("ts") >= hi)
    checks = scan.select(
        pl.len().alias("rows"),
        *[pl.col(n).null_count().alias(f"null_{n}") for n in ("user_id", "item_id", "kind", "ts", "value", "amount")],
        pl.col("amount").min().alias("min_amount"),
        out_of_range.any().alias("ts_out_of_range"),
    ).collect().row(0, named=True)
    if checks["rows"] == 0:
        raise DataError("no data rows", file=ev.raw.label)
    for name in ("user_id", "item_id", "kind", "ts", "value", "amount"):
        if checks[f"null_{name}"]:
            _fail_null(ev, name, pl.col(name).is_null())
    if checks["min_amount"] is not None and checks["min_amount"] < 0:
        _fail(ev, "amount", pl.col("amount") < 0, "negative amount {raw} (a refund is a positive amount with kind 'refund')")
    if checks["ts_out_of_range"]:
        _fail(ev, "ts", out_of_range, "timestamp {raw} is outside 1900..2100 (milliseconds? pass --ts-format epoch_ms)")
    profile = profile_events(scan)
    bad_kinds = [k for k in profile.kinds if not KIND_PATTERN.match(k)]
    if bad_kinds:
        _fail(
            ev,
            "kind",
            pl.col("kind") == bad_kinds[0],
            "kind {raw} is not a lowercase word (letters, digits, '_'; e.g. view, purchase)",
        )
    return profile


def _fail_null(t: _Table, name: str, condition: pl.Expr) -> None:
    col = t.columns[name]
    kind = col.field.kind
    if kind == "id" and t.id_as_int.get(name):
        _raise_if_text_id(t, name)
    what = {
        "id": "not an ID",
        "ts": "not a timestamp (ISO-8601 date/datetime or Unix epoch seconds)",
        "float": "not a number",
    }.get(kind, "not valid")
    _fail(t, name, condition, "{raw} is " + what, missing=f"missing {name}")


def _raise_if_text_id(t: _Table, name: str) -> None:
    src = t.columns[name].source
    bad = t.raw.frame.select(
        (pl.col(src).is_not_null() & pl.col(src).cast(pl.Int64, strict=False).is_null()).any()
    ).collect().item()
    if bad:
        domain = next(d for d, members in ID_DOMAINS.items() if (t.spec.name, name) in members)
        raise _TextIds(domain)


def _fail(t: _Table, name: str, condition: pl.Expr, message: str, missing: str | None = None) -> None:
    """Find the first row where ``condition`` holds and raise a DataError naming it."""
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
    if found.height == 0:  # pragma: no cover - the aggregate said a row exists
        raise DataError(message.format(raw="?"), file=t.raw.label, field=name)
    row, raw = found["_row"][0], found["_raw"][0]
    text = missing if (raw is None or raw == "") and missing else message.format(raw=repr(raw))
    raise DataError(text, file=t.raw.label, field=name, **_where(t.raw, row))


def _where(raw: RawTable, row: int) -> dict[str, int]:
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


def _derive(scan: pl.LazyFrame, key: str, first_seen: str) -> pl.DataFrame:
    return scan.group_by(key).agg(pl.col("ts").min().alias(first_seen)).sort(key).collect()


def _derive_items(scan: pl.LazyFrame, user_ids_int: bool) -> pl.DataFrame:
    derived = _derive(scan, "item_id", "created_at")
    id_type = pl.Int64 if user_ids_int else pl.String
    return derived.select(
        "item_id",
        pl.lit(None, dtype=pl.String).alias("kind"),
        pl.lit(None, dtype=id_type).alias("creator_id"),
        pl.lit(None, dtype=pl.Float64).alias("price"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("tags"),
        "created_at",
        pl.lit(None, dtype=pl.String).alias("title"),
    )


def _fill_first_seen(frame: pl.DataFrame, scan: pl.LazyFrame, key: str, first_seen: str) -> pl.DataFrame:
    if frame[first_seen].null_count() == 0:
        return frame
    seen = _derive(scan, key, "_first")
    return (
        frame.join(seen, on=key, how="left")
        .with_columns(pl.coalesce(first_seen, "_first").alias(first_seen))
        .drop("_first")
    )


def _check_references(scan: pl.LazyFrame, side: pl.DataFrame, key: str, ev: _Table, t: _Table) -> None:
    known = side.lazy().select(key)
    missing = scan.select(key).join(known, on=key, how="anti").head(1).collect()
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
