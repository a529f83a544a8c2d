"""From raw input columns to canonical columns: which source column feeds each field, and the
Polars expression that converts it.

Conversion never raises on a bad cell: the cell becomes null (or, for a number, stays where the
validator can find it) and :mod:`engine.data.tabular` reports the first such row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from engine.data import timeparse
from engine.data.schema import Field, TableSpec
from engine.data.sources import RawTable
from engine.errors import DataError

INT_ID = re.compile(r"^(0|-?[1-9]\d{0,17})$")


@dataclass(frozen=True)
class Column:
    """Where one canonical field comes from: a source column, a constant, or nothing."""

    field: Field
    source: str | None = None
    constant: str | None = None


def resolve_columns(
    spec: TableSpec, raw: RawTable, mapping: dict[str, str], constants: dict[str, str]
) -> dict[str, Column]:
    """Match the spec's fields to the file's columns; missing required fields are an error."""
    for name in list(mapping) + list(constants):
        if name not in spec.by_name:
            raise DataError(
                f"unknown {spec.name} field '{name}' in the column mapping "
                f"(fields: {', '.join(spec.by_name)})",
                file=raw.label,
            )
    resolved: dict[str, Column] = {}
    for f in spec.fields:
        if f.name in constants:
            resolved[f.name] = Column(f, constant=constants[f.name])
            continue
        source = mapping.get(f.name, f.name)
        if source in raw.schema:
            resolved[f.name] = Column(f, source=source)
        elif f.name in mapping:
            raise DataError(
                f"{{map}} {f.name}={source}: no column '{source}' (columns: {', '.join(raw.schema)})",
                file=raw.label, names=["map"],
            )
        elif f.required:
            hint = " or give {kind}" if f.name == "kind" else ""
            raise DataError(
                f"missing required column '{f.name}' (map one with {{map}} {f.name}=COLUMN{hint}; "
                f"columns: {', '.join(raw.schema)})",
                file=raw.label, names=["map", "kind"],
            )
        else:
            resolved[f.name] = Column(f)
    return resolved


def extra_columns(spec: TableSpec, raw: RawTable, resolved: dict[str, Column]) -> list[str]:
    """Source columns kept as attributes: those no field uses and that shadow no field name."""
    if not spec.keep_extra:
        return []
    used = {c.source for c in resolved.values() if c.source}
    return [c for c in raw.schema if c not in used and c not in spec.by_name and not c.startswith("_")]


def id_is_integer(dtype: pl.DataType, sample: pl.Series) -> bool:
    """Whether an ID column can be stored as Int64 without changing any value.

    Text IDs with leading zeros ("00042") stay text: casting them would change them.
    """
    if dtype.is_integer():
        return True
    if dtype == pl.String:
        values = sample.drop_nulls()
        return all(INT_ID.match(v) for v in values.to_list())
    return False


def id_expr(source: str, dtype: pl.DataType, as_int: bool) -> pl.Expr:
    col = pl.col(source)
    if as_int:
        return col.cast(pl.Int64, strict=False)
    if dtype.is_float():
        # JSON numbers 1.0, 2.0 …: integral floats become "1", "2" rather than "1.0".
        return pl.when(col == col.round(0)).then(col.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(col.cast(pl.String))
    return col.cast(pl.String)


def float_expr(source: str, dtype: pl.DataType, default: float | None) -> pl.Expr:
    col = pl.col(source)
    converted = col.cast(pl.Float64, strict=False)
    if default is None:
        return converted
    return pl.when(col.is_null()).then(pl.lit(default)).otherwise(converted)


def tags_expr(source: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(source)
    if isinstance(dtype, pl.List):
        return col.cast(pl.List(pl.String))
    text = col.cast(pl.String)
    return pl.when(text.is_null() | (text == "")).then(None).otherwise(text.str.split("|"))


def ts_formats(column: Column, raw: RawTable, sample: pl.DataFrame, override: str | None) -> list[str] | None:
    """The formats to parse a string time column with (None when the column is typed)."""
    if column.source is None:
        return None
    dtype = raw.schema[column.source]
    if dtype != pl.String:
        return None
    if override:
        return [override]
    try:
        return timeparse.detect_ts_format(sample[column.source].to_list())
    except ValueError as exc:
        row = _first_row_with(sample[column.source], str(exc).split("'")[1])
        raise DataError(str(exc), file=raw.label, row=row, field=column.field.name) from None


def _first_row_with(series: pl.Series, value: str) -> int | None:
    for i, v in enumerate(series.to_list(), start=1):
        if v == value:
            return i
    return None


def field_expr(
    column: Column,
    raw: RawTable,
    *,
    id_as_int: bool,
    formats: list[str] | None,
) -> pl.Expr:
    """The expression that produces canonical field ``column.field`` from the raw frame."""
    f = column.field
    if column.constant is not None:
        return pl.lit(column.constant, dtype=pl.String).alias(f.name)
    if column.source is None:
        return _absent(f, id_as_int).alias(f.name)
    dtype = raw.schema[column.source]
    if f.kind == "id":
        expr = id_expr(column.source, dtype, id_as_int)
    elif f.kind == "ts":
        typed = timeparse.ts_from_typed(pl.col(column.source), dtype)
        expr = typed if typed is not None else timeparse.ts_expr(pl.col(column.source), formats or [])
    elif f.kind == "float":
        expr = float_expr(column.source, dtype, f.default)
    elif f.kind == "tags":
        expr = tags_expr(column.source, dtype)
    else:
        expr = pl.col(column.source).cast(pl.String)
    return expr.alias(f.name)


def _absent(f: Field, id_as_int: bool) -> pl.Expr:
    if f.kind == "id":
        return pl.lit(None, dtype=pl.Int64 if id_as_int else pl.String)
    if f.kind == "ts":
        return pl.lit(None, dtype=timeparse.TS)
    if f.kind == "float":
        return pl.lit(f.default, dtype=pl.Float64)
    if f.kind == "tags":
        return pl.lit(None, dtype=pl.List(pl.String))
    return pl.lit(None, dtype=pl.String)
