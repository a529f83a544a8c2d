"""Timestamps in input files: ISO-8601 dates and datetimes, or Unix epoch seconds.

The format of a column is read off a sample of its values (:func:`detect_ts_format`), then the
whole column is parsed with that format in one vectorised pass (:func:`ts_expr`); a value that
does not fit becomes null and the validator reports its row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from engine.data.schema import TS

EPOCH = "epoch"
EPOCH_MS = "epoch_ms"

# (regex a value must match, strptime format). Formats without fractional seconds come first:
# parsing them is about twice as fast, and most exports have none.
_ISO_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+$"), "%Y-%m-%dT%H:%M:%S%.f"),
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+$"), "%Y-%m-%d %H:%M:%S%.f"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"), "%Y-%m-%dT%H:%M:%S%.fZ"),
    (re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:?\d\d$"), "%Y-%m-%dT%H:%M:%S%.f%#z"),
    (re.compile(r"^\d{4}-\d\d-\d\d$"), "%Y-%m-%d"),
)
_BASIC_DATE = re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")


def detect_ts_format(values: Iterable[str]) -> list[str]:
    """The formats (strptime patterns, or ``"epoch"``) that together parse every sample value.

    Eight-digit values that are valid calendar dates (``19970101``) are ISO-8601 basic dates;
    other all-digit values are Unix epoch seconds. Returns ``[]`` for an empty sample; raises
    ``ValueError`` naming the first value that fits no format.

    >>> detect_ts_format(["2024-01-02", "2024-01-03T10:00:00"])
    ['%Y-%m-%d', '%Y-%m-%dT%H:%M:%S']
    >>> detect_ts_format(["1700000000", "1700000100"])
    ['epoch']
    """
    sample = [v for v in values if v is not None and v != ""]
    if not sample:
        return []
    if all(_BASIC_DATE.match(v) for v in sample):
        return ["%Y%m%d"]
    if all(_EPOCH_RE.match(v) for v in sample):
        return [EPOCH]
    found: list[str] = []
    for v in sample:
        fmt = format_of_value(v)
        if fmt is None:
            raise ValueError(f"'{v}' is neither an ISO-8601 date/datetime nor Unix epoch seconds")
        if fmt not in found:
            found.append(fmt)
    # "%…%S%.f" also reads values without a fraction: keep one format where both were seen.
    return [f for f in found if not (f + "%.f" in found)]


def format_of_value(value: str) -> str | None:
    """The ISO-8601 format one value is written in, or None."""
    for pattern, fmt in _ISO_FORMATS:
        if pattern.match(value):
            return fmt
    return None


def _parse_one(raw: pl.Expr, fmt: str) -> pl.Expr:
    """Parse with one format. Datetimes are parsed without Polars' cache of unique values: to
    the second they rarely repeat, so the cache is filled and never hit (10 M ISO datetimes in
    one frame: 0.72 s of CPU with it, 0.47 s without; a 10 M-event CSV ingest, five runs each:
    median 5.41 s of CPU with it, 5.25 s without). Dates repeat, and keep it."""
    if fmt == EPOCH:
        return (raw.cast(pl.Float64, strict=False) * 1_000_000).round(0).cast(pl.Int64).cast(TS)
    if fmt == EPOCH_MS:
        return (raw.cast(pl.Float64, strict=False) * 1_000).round(0).cast(pl.Int64).cast(TS)
    if fmt.endswith("%#z"):
        # Accept a space or a 'T' between date and time, then convert to UTC and drop the zone.
        normalised = raw.str.replace(" ", "T", literal=True)
        return normalised.str.to_datetime(fmt, strict=False, time_unit="us", cache=False).dt.replace_time_zone(None)
    if fmt == "%Y-%m-%d" or fmt == "%Y%m%d":
        return raw.str.to_date(fmt, strict=False).cast(TS)
    return raw.str.to_datetime(fmt, strict=False, time_unit="us", cache=False)


def ts_expr(raw: pl.Expr, formats: list[str]) -> pl.Expr:
    """Parse a string column with the detected formats; unparsable values become null."""
    if not formats:
        return raw.cast(TS, strict=False)
    parsed = [_parse_one(raw, fmt) for fmt in formats]
    return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)


def ts_from_typed(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """Convert a column that is already typed (Parquet, JSON numbers) to canonical time.

    Returns None for string columns, which go through :func:`detect_ts_format`.
    """
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            raw = raw.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return raw.cast(TS)
    if dtype == pl.Date:
        return raw.cast(TS)
    if dtype.is_integer() or dtype.is_float():
        return _parse_one(raw, EPOCH)
    return None
