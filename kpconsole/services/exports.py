"""Batch exports: what the console computed, as a file the platform reads.

One writer for every export (recommendation lists, segment memberships, customer value,
simulation series), so all of them behave alike:

* **format** by the path's suffix (``.parquet``, ``.csv``, ``.jsonl``) or named outright;
* **atomic**: rows stream into a hidden temporary file in the target's own folder, which is
  renamed onto the path only when every row is written, so a reader sees the old file or the
  whole new one, and a failed export leaves nothing at the path (nor the temporary file);
* **flat memory**: an export is a generator of Polars frames, sunk batch by batch through a
  Polars IO source, never gathered whole;
* a summary: path, format, rows, seconds (:class:`ExportSummary`).

Suggested answerers of unanswered questions: :func:`export_unanswered`.

Recommendation lists for many users: :mod:`kpconsole.services.recommend_batches`.

Bad requests are :class:`InvalidExport` errors naming the field (``out``, ``format``, ``users``,
``hide``); the command line words them as its options.

>>> target = export_target("recs.parquet")  # doctest: +SKIP
>>> write_export(target, {"user_id": pl.Int64}, lambda: iter([pl.DataFrame({"user_id": [1]})]))  # doctest: +SKIP
ExportSummary(path=…/recs.parquet, format='parquet', rows=1, seconds=0.01)
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.progress import Progress, no_progress
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.session import Session

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
PARTIAL = ".partial"


class InvalidExport(InvalidField):
    """A bad export request: ``field`` is what was wrong (``out``, ``format``, ``users``, ``hide``),
    ``value`` what was given, ``reason`` why."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{{{field}}} {value}: {reason}", field)


@dataclass(frozen=True)
class ExportTarget:
    path: Path
    format: str


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    format: str
    rows: int
    seconds: float
    columns: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "rows": self.rows,
                "seconds": round(self.seconds, 3), "columns": list(self.columns)}

    @property
    def line(self) -> str:
        return f"wrote {self.rows:,} rows to {self.path} ({self.format}) in {self.seconds:.1f} s"


def export_target(out: str | Path, fmt: str | None = None) -> ExportTarget:
    """Where and how to write: the format from ``fmt`` or the suffix; the folder must exist.

    >>> export_target("/tmp/recs.csv").format
    'csv'
    """
    path = Path(out).expanduser()
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS.values():
            raise InvalidExport("format", fmt, f"unknown export format (one of {', '.join(FORMATS.values())})")
    else:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            shown = f"suffix '{path.suffix}'" if path.suffix else "no suffix"
            raise InvalidExport("out", path, f"{shown} names no export format (use {', '.join(FORMATS)}, "
                                             "or name the format)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidExport("out", path, f"folder {folder} does not exist")
    if path.is_dir():
        raise InvalidExport("out", path, "is a folder; give a file name")
    return ExportTarget(path.absolute(), fmt)


def write_export(target: ExportTarget, schema: dict[str, pl.DataType], batches: Callable[[], Iterator[pl.DataFrame]],
                 progress: Progress = no_progress) -> ExportSummary:
    """Stream the frames ``batches()`` yields (each with ``schema``) into ``target``, all or nothing."""
    began = time.perf_counter()
    partial = target.path.with_name(f".{target.path.name}.{uuid.uuid4().hex[:8]}{PARTIAL}")
    count = {"rows": 0}
    failure: list[BaseException] = []

    def source(with_columns, predicate, n_rows, batch_size) -> Iterator[pl.DataFrame]:
        try:
            for frame in batches():
                frame = frame.select(list(schema)).cast(schema)
                count["rows"] += frame.height
                yield frame.select(with_columns) if with_columns else frame
        except BaseException as exc:  # the sink wraps errors; the caller gets this one back
            failure.append(exc)
            raise

    from polars.io.plugins import register_io_source

    lazy = register_io_source(source, schema=schema)
    try:
        if target.format == "parquet":
            lazy.sink_parquet(partial)
        elif target.format == "csv":
            lazy.sink_csv(partial)
        else:
            lazy.sink_ndjson(partial)
        os.replace(partial, target.path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if failure:
            raise failure[0] from None
        if isinstance(exc, OSError):
            raise ConsoleError(f"{target.path}: cannot write the export ({exc.strerror or exc})") from None
        raise
    progress(1.0, f"{count['rows']:,} rows written")
    return ExportSummary(target.path, target.format, count["rows"], time.perf_counter() - began, tuple(schema))


def frames_of(frame: pl.DataFrame, size: int = 100_000) -> Callable[[], Iterator[pl.DataFrame]]:
    """A frame already in memory as batches for :func:`write_export`."""
    return lambda: (frame.slice(start, size) for start in range(0, max(frame.height, 1), size))


# --- segment memberships ---------------------------------------------------------------------


def export_segments(session: Session, segmentation_id: int, target: ExportTarget,
                    progress: Progress = no_progress) -> ExportSummary:
    """Every user of a segmentation: ``user_id, segment, label``, then what the method holds:
    ``lifecycle_stage`` (lifecycle), ``r, f, m`` scores (rfm), ``distance`` to the segment's
    centre in the standardised feature space (kmeans, gmm) and ``probability`` (gmm)."""
    from kpconsole.reads import segments as segment_reads

    view = segment_reads.show(session, segmentation_id)
    record = view.record
    if not record.artifact_path.exists():
        raise ConsoleError(f"segmentation {record.id}: its per-user file {record.artifact_path} is missing")
    rows = pl.read_parquet(record.artifact_path)
    out = rows.select("user_id", pl.col("segment_id").cast(pl.Int64).alias("segment"),
                      pl.col("segment").cast(pl.String).alias("label"))
    if record.method == "lifecycle":
        out = out.with_columns(pl.col("label").alias("lifecycle_stage"))
    kept = [c for c in rows.columns if c in ("r", "f", "m", "r_score", "f_score", "m_score", "rfm", "score")]
    if record.method == "rfm" and kept:
        out = out.with_columns(rows.select(kept))
    if record.method in ("kmeans", "gmm") and {"columns", "mean", "std", "centers"} <= set(record.model):
        out = out.with_columns(pl.Series("distance", _centre_distance(rows, record.model)))
    if "probability" in rows.columns:
        out = out.with_columns(rows["probability"].cast(pl.Float64))
    progress(0.5, f"{out.height:,} users")
    return write_export(target, dict(out.schema), frames_of(out), progress)


def _centre_distance(rows: pl.DataFrame, model: dict):
    """Euclidean distance of each user's standardised features to their segment's centre."""
    import numpy as np

    from engine.segment.features import transform

    raw, _ = transform(rows, model["columns"])
    z = (raw - np.asarray(model["mean"])) / np.asarray(model["std"])
    centres = np.asarray(model["centers"])
    own = centres[rows["segment_id"].to_numpy() - 1]
    return np.sqrt(((z - own) ** 2).sum(axis=1))


# --- customer value ----------------------------------------------------------------------------


VALUE_COLUMNS = ("user_id", "frequency", "recency", "T", "p_alive", "expected_purchases", "clv")


def export_value(session: Session, fit_id: int, target: ExportTarget, horizon_days: float | None = None,
                 progress: Progress = no_progress) -> ExportSummary:
    """Every customer of a value fit: ``user_id, frequency, recency, T, p_alive,
    expected_purchases, clv`` (CLV when the spend model was fitted) and ``horizon_days``.
    Expected purchases and CLV are over ``horizon_days`` (default: the fit's horizon),
    recomputed from the fitted parameters when it differs from the fit's."""
    from kpconsole.reads import value as value_reads

    record = value_reads.show(session, fit_id).record
    if record.artifact_path is None or not record.artifact_path.exists():
        raise ConsoleError(f"value fit {record.id} ({record.model}) keeps no per-customer scores to export")
    frame = pl.read_parquet(record.artifact_path)
    settings = record.settings
    horizon = float(horizon_days if horizon_days is not None else settings["horizon_days"])
    if horizon <= 0:
        raise InvalidExport("horizon", horizon, "must be a positive number of days")
    if horizon != float(settings["horizon_days"]) and record.model in ("bgnbd", "paretonbd"):
        frame = _rescored(frame, record, horizon)
    elif horizon != float(settings["horizon_days"]):
        raise InvalidExport("horizon", horizon, f"a {record.model} fit has no expected purchases to recompute")
    out = frame.select([c for c in VALUE_COLUMNS if c in frame.columns]).with_columns(
        pl.lit(horizon).alias("horizon_days"))
    progress(0.5, f"{out.height:,} customers")
    return write_export(target, dict(out.schema), frames_of(out), progress)


def _rescored(frame: pl.DataFrame, record, horizon_days: float) -> pl.DataFrame:
    from engine.value.clv import ClvSettings, discounted_clv
    from engine.value.models import transaction_model

    model = transaction_model(record.model)
    s = record.settings
    x, t_x, T = (frame[c].cast(pl.Float64).to_numpy(writable=True) for c in ("frequency", "recency", "T"))
    period = float(s["period_days"])
    columns = [pl.Series("expected_purchases", model.expected_purchases(record.params, horizon_days / period,
                                                                         x, t_x, T))]
    if "expected_spend" in frame.columns:
        clv = ClvSettings(horizon_days=horizon_days, discount_rate=float(s["discount_rate"]), period_days=period)
        columns.append(pl.Series("clv", discounted_clv(
            lambda t: model.expected_purchases(record.params, t, x, t_x, T),
            frame["expected_spend"].to_numpy(), clv)))
    return frame.with_columns(columns)


# --- simulation series -------------------------------------------------------------------------


def export_simulation(session: Session, run_id: int, target: ExportTarget, metrics: list[str] | None = None,
                      replicates: bool = False, progress: Progress = no_progress) -> ExportSummary:
    """A run's daily series: ``day, kpi, mean, lower, upper`` (the 95 % interval over
    replicates); with ``replicates``, ``day, kpi, replicate, value``: every replicate's value."""
    from kpconsole.reads import simulations as sim_reads

    rows = sim_reads.series(session, run_id, metrics)  # checks the run and the metric names
    if not replicates:
        frame = pl.DataFrame(rows, schema={"metric": pl.String, "day": pl.Int64, "mean": pl.Float64,
                                           "low": pl.Float64, "high": pl.Float64})
        frame = frame.select("day", pl.col("metric").alias("kpi"), "mean", pl.col("low").alias("lower"),
                             pl.col("high").alias("upper")).sort("day", "kpi")
        return write_export(target, dict(frame.schema), frames_of(frame), progress)
    record = sim_reads.get_run(session, run_id)
    if not record.path.exists():
        raise ConsoleError(f"run {record.id}: its values file {record.path} is missing")
    values = pl.read_parquet(record.path)
    kpis = [m for m in (metrics or values.columns) if m in values.columns and m not in ("day", "replicate")]
    frame = (values.unpivot(index=["day", "replicate"], on=kpis, variable_name="kpi", value_name="value")
             .select(pl.col("day").cast(pl.Int64), "kpi", pl.col("replicate").cast(pl.Int64),
                     pl.col("value").cast(pl.Float64))
             .sort("day", "kpi", "replicate"))
    return write_export(target, dict(frame.schema), frames_of(frame), progress)


# --- suggested answerers of unanswered questions ------------------------------------------------

UNANSWERED_SCHEMA: dict[str, pl.DataType] = {
    "question_id": pl.Int64(), "asked_at": pl.Datetime("us"), "title": pl.String(), "tags": pl.String(),
    "rank": pl.Int32(), "user_id": pl.Int64(), "score": pl.Float64(), "shared_tags": pl.String(),
    "recent_answers": pl.Int64(), "answers": pl.Int64(), "acceptance_rate": pl.Float64(), "active": pl.Boolean(),
}


def export_unanswered(session: Session, data: str, target: ExportTarget, *, limit: int | None = None, k: int = 3,
                      by: str = "router", progress: Progress = no_progress) -> ExportSummary:
    """The suggested answerers of the newest ``limit`` unanswered questions (``None``: all), one
    row per (question, answerer) — as ``route unanswered`` lists them; ``shared_tags`` as
    ``tag:answers`` pairs joined by commas, ``tags`` the question's, joined likewise."""
    from kpconsole.services.route import unanswered

    progress(0.0, f"routing the unanswered questions of '{data}'")
    report = unanswered(session, data, limit=limit, k=k, by=by)
    rows = [{"question_id": q.question_id, "asked_at": q.asked_at, "title": q.title, "tags": ",".join(q.tags),
             "rank": rank, "user_id": s.user_id, "score": s.score,
             "shared_tags": ",".join(f"{tag}:{n}" for tag, n in s.shared_tags.items()),
             "recent_answers": s.recent_answers, "answers": s.answers, "acceptance_rate": s.acceptance_rate,
             "active": s.active}
            for q in report.questions for rank, s in enumerate(q.suggestions, 1)]
    return write_export(target, UNANSWERED_SCHEMA, frames_of(pl.DataFrame(rows, schema=UNANSWERED_SCHEMA)), progress)
