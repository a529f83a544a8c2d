"""Opening input files (CSV, Parquet, JSON Lines) as lazy frames of their raw columns.

CSV is read with every column as text so that the validator, not the reader, decides what a
bad cell is and can name its row. Parquet and JSON Lines keep their own types.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.errors import DataError

FORMATS = ("csv", "parquet", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def format_of(path: Path) -> str:
    """The input format named by a file's suffix."""
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"unknown file type '{path.suffix}' (use .csv, .parquet or .jsonl, or pass {{format}})",
            file=path.name, names=("format",),
        )
    return fmt


@dataclass(frozen=True)
class RawTable:
    """An input file opened lazily, with its columns and their source types."""

    path: Path
    fmt: str
    frame: pl.LazyFrame
    schema: dict[str, pl.DataType]
    separator: str = ","

    @property
    def label(self) -> str:
        return self.path.name


def open_raw(path: Path, fmt: str | None = None) -> RawTable:
    """Open ``path`` for reading; raises :class:`DataError` for a missing, empty or headless file."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", file=str(path))
    if path.is_dir():
        raise DataError("is a folder, not a file", file=str(path))
    fmt = fmt or format_of(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})", file=path.name)
    if path.stat().st_size == 0:
        raise DataError("file is empty", file=path.name)
    if fmt == "csv":
        return _open_csv(path)
    try:
        if fmt == "parquet":
            frame = pl.scan_parquet(path)
        else:
            frame = pl.scan_ndjson(path, infer_schema_length=10_000)
        schema = dict(frame.collect_schema())
    except pl.exceptions.PolarsError as exc:
        raise DataError(_first_line(exc), file=path.name) from None
    return RawTable(path, fmt, frame, schema)


def _open_csv(path: Path) -> RawTable:
    with path.open("rb") as fh:
        head = fh.readline()
    try:
        header_line = head.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 (byte {exc.start + 1} of the header)", file=path.name, line=1) from None
    if not header_line.strip():
        raise DataError("no header row (the first line is empty)", file=path.name, line=1)
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    header = next(csv.reader([header_line], delimiter=separator))
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"column '{dup}' appears twice in the header", file=path.name, line=1)
    frame = pl.scan_csv(
        path,
        separator=separator,
        infer_schema=False,
        encoding="utf8",
        new_columns=names,
    )
    return RawTable(path, "csv", frame, {n: pl.String() for n in names}, separator)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def locate_read_error(raw: RawTable, exc: BaseException) -> DataError:
    """Turn a reader failure into an error that names the line, by a careful pass over the file.

    Only used after the fast reader failed, so its speed does not matter.
    """
    if raw.fmt == "csv":
        return _locate_csv_error(raw, exc)
    if raw.fmt == "jsonl":
        return _locate_jsonl_error(raw, exc)
    return DataError(f"cannot read Parquet: {_first_line(exc)}", file=raw.label)


def _locate_csv_error(raw: RawTable, exc: BaseException) -> DataError:
    line_no = 0
    with raw.path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return DataError(
                    f"not UTF-8 (byte {err.start + 1} of the line is 0x{line[err.start]:02x})",
                    file=raw.label,
                    line=line_no,
                )
    with raw.path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=raw.separator)
        width = None
        for record in reader:
            if width is None:
                width = len(record)
                continue
            if record and len(record) != width:
                return DataError(
                    f"has {len(record)} fields where the header has {width}",
                    file=raw.label,
                    line=reader.line_num,
                )
    return DataError(f"cannot read CSV: {_first_line(exc)}", file=raw.label)


def _locate_jsonl_error(raw: RawTable, exc: BaseException) -> DataError:
    import json

    with raw.path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as err:
                return DataError(f"not UTF-8 (byte {err.start + 1})", file=raw.label, line=line_no)
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                return DataError(f"not valid JSON ({err.msg})", file=raw.label, line=line_no)
            if not isinstance(value, dict):
                return DataError("is not a JSON object", file=raw.label, line=line_no)
    return DataError(f"cannot read JSON Lines: {_first_line(exc)}", file=raw.label)
