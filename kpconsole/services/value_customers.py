"""One customer's scores from a value fit's per-customer Parquet (Polars only: no model is loaded)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from kpconsole.errors import ConsoleError
from store.value import ValueFitRecord


def plain_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: dates as ISO text, NumPy floats as Python floats."""
    return [{k: (str(v) if isinstance(v, (dt.date, dt.datetime)) else
                 (float(v) if isinstance(v, (float, np.floating)) else v)) for k, v in row.items()}
            for row in frame.iter_rows(named=True)]


def customer(record: ValueFitRecord, user: str) -> dict:
    """``user``'s row of fit ``record``'s per-customer scores (summary, P(alive), expected purchases, CLV)."""
    if record.artifact_path is None:
        raise ConsoleError(f"value fit {record.id} ({record.model}) keeps no per-customer scores")
    rows = pl.scan_parquet(record.artifact_path).filter(pl.col("user_id").cast(pl.String) == str(user)).collect()
    if rows.height == 0:
        raise ConsoleError(f"user '{user}' is not a customer of value fit {record.id} "
                           f"(no {', '.join(record.settings['kinds'])} by {record.settings['calibration_end']})")
    return plain_rows(rows)[0]
