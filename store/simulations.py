"""Simulations in the workspace: calibrations, runs and their daily series with intervals.

Files live in ``simulations/`` beside ``state.db``: a calibration's fitted world (``.npz``) and
a run's per-replicate daily values (``.parquet``). Saving is all-or-nothing: the caller writes
to a staging path (:func:`staging_file`), then :func:`save_calibration` / :func:`save_run`
rename it into place and insert the rows in one transaction; on any failure the file is
removed and the tables are as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager

from store import registry
from store.errors import NotFound, Remedy
from store.tables import SIM_CALIBRATIONS, SIM_RUNS, SIM_SERIES
from store.workspace import Workspace

FOLDER = "simulations"


def folder(ws: Workspace) -> Path:
    return ws.root / FOLDER


@dataclass(frozen=True)
class CalibrationRecord:
    id: int
    dataset: str
    dataset_hash: str
    cut: str | None
    segments: str
    tastes: str
    summary: dict
    path: Path
    created_at: str
    created_by: str

    def as_dict(self) -> dict:
        return {**self.__dict__, "path": str(self.path)}


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    name: str
    dataset: str
    calibration_id: int
    scenario_text: str
    scenario: dict
    days: int
    replicates: int
    seed: int
    device: str
    summary: dict
    path: Path
    created_at: str
    created_by: str

    def as_dict(self) -> dict:
        return {**self.__dict__, "path": str(self.path)}


def staging_file(ws: Workspace, suffix: str) -> ContextManager[Path]:
    """A fresh path under ``simulations/`` to write an artifact to; removed again if still there."""
    return registry.staging_path(folder(ws), suffix)


def save_calibration(ws: Workspace, staged: Path, *, dataset: str, dataset_hash: str, cut: str | None,
                     segments: str, tastes: str, summary: dict, created_by: str) -> CalibrationRecord:
    """Move the staged world into place and record it; all of it happens, or none."""
    with registry.publish(ws, staged, "calibration") as (_, artifact):
        new_id = SIM_CALIBRATIONS.insert(ws, {
            "dataset": dataset, "dataset_hash": dataset_hash, "cut": cut, "segments": segments, "tastes": tastes,
            "summary": summary, "path": artifact, "created_at": ws.now(), "created_by": created_by,
        })
    return get_calibration(ws, new_id)


def _calibration(ws: Workspace, row: dict) -> CalibrationRecord:
    return CalibrationRecord(**{**row, "path": folder(ws) / row["path"]})


def get_calibration(ws: Workspace, calibration_id: int) -> CalibrationRecord:
    row = registry.row_by_id(ws, SIM_CALIBRATIONS, calibration_id)
    if row is None:
        raise NotFound(f"no calibration {calibration_id}", Remedy("list them with", "sim list", (("calibrations", None),)))
    return _calibration(ws, row)


def latest_calibration(ws: Workspace, dataset: str, dataset_hash: str) -> CalibrationRecord | None:
    """The newest calibration of ``dataset`` on all its events at this content hash, if any."""
    rows = SIM_CALIBRATIONS.rows(
        ws, "SELECT * FROM sim_calibrations WHERE dataset = ? AND dataset_hash = ? AND cut IS NULL ORDER BY id DESC LIMIT 1",
        [dataset, dataset_hash])
    return _calibration(ws, rows[0]) if rows else None


def list_calibrations(ws: Workspace, limit: int = 50) -> list[CalibrationRecord]:
    rows = SIM_CALIBRATIONS.rows(ws, "SELECT * FROM sim_calibrations ORDER BY id DESC LIMIT ?", [limit])
    return [_calibration(ws, r) for r in rows]


def save_run(ws: Workspace, staged: Path, *, kind: str, name: str, dataset: str, calibration_id: int,
             scenario_text: str, scenario: dict, days: int, replicates: int, seed: int, device: str,
             summary: dict, series: Iterable[tuple[str, int, float, float, float]], created_by: str) -> RunRecord:
    """Move the staged values into place and record the run with its series
    ``(metric, day, mean, low, high)``; all of it happens, or none."""
    with registry.publish(ws, staged, kind) as (_, artifact):
        run_id = SIM_RUNS.insert(ws, {
            "kind": kind, "name": name, "dataset": dataset, "calibration_id": calibration_id,
            "scenario_text": scenario_text, "scenario": scenario, "days": days, "replicates": replicates,
            "seed": seed, "device": device, "summary": summary, "path": artifact,
            "created_at": ws.now(), "created_by": created_by,
        })
        SIM_SERIES.insert_all(ws, ({"run_id": run_id, "metric": metric, "day": day, "mean": mean, "low": low, "high": high}
                                   for metric, day, mean, low, high in series))
    return get_run(ws, run_id)


def _run(ws: Workspace, row: dict) -> RunRecord:
    return RunRecord(**{**row, "path": folder(ws) / row["path"]})


def get_run(ws: Workspace, run_id: int) -> RunRecord:
    row = registry.row_by_id(ws, SIM_RUNS, run_id)
    if row is None:
        known = [str(r["id"]) for r in ws.query("SELECT id FROM sim_runs ORDER BY id DESC LIMIT 5")]
        if known:
            raise NotFound(f"no simulation run {run_id} (latest: {', '.join(known)})")
        raise NotFound(f"no simulation run {run_id}", Remedy("none yet", "sim run SCENARIO.toml"))
    return _run(ws, row)


def list_runs(ws: Workspace, limit: int = 50) -> list[RunRecord]:
    return [_run(ws, r) for r in SIM_RUNS.rows(ws, "SELECT * FROM sim_runs ORDER BY id DESC LIMIT ?", [limit])]


def run_series(ws: Workspace, run_id: int, metrics: Iterable[str] | None = None) -> list[dict]:
    """Rows ``{metric, day, mean, low, high}`` of a run, by metric then day."""
    sql, args = "SELECT metric, day, mean, low, high FROM sim_series WHERE run_id = ?", list[object]([run_id])
    wanted = list(metrics or [])
    if wanted:
        sql += f" AND metric IN ({', '.join('?' for _ in wanted)})"
        args += wanted
    return list(ws.query(sql + " ORDER BY metric, day", args))
