"""Simulation in the console: calibrate, run scenarios, compare runs — list and show them
(backtests: :mod:`kpconsole.services.simulate_backtest`).

Changes are audited actions: ``sim.calibrate`` (fit a world from a dataset) and ``sim.run`` (a
scenario); runs also run as jobs (kind ``sim_run``). Reads (list, show, compare) need no role.

A scenario names its dataset; the run uses the dataset's newest calibration at its current
content (calibrating first when there is none). Segments come from the dataset's newest
segmentation (``kpconsole segment run``) or, without one, from the engine's documented rule;
a ``model`` policy loads the registry model (``"latest"`` = newest on the dataset) and scores
the simulated users with it — frozen, or retrained on the simulated clicks every
``policy.retrain_every`` days. Each run records where the agents' tastes came from (``tastes``:
"tags" or "model N (algo)") and notes when they are the policy model's own embeddings, which
flatters it (it then knows the true tastes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from engine.progress import Progress, no_progress, scaled
from engine.simulate.calibrate import Calibration, TasteVectors
from engine.simulate.calibrate import calibrate as engine_calibrate
from engine.simulate.levers import Levers, Settings
from engine.simulate.kpis import METRICS, over_run
from engine.simulate.policies import PolicySpec, recommender_policy
from engine.simulate.run import SimResult, simulate
from engine.simulate.scenario import (
    Scenario,
    load_scenario,
    parse_scenario,
)
from engine.simulate.world import World
from kpconsole.reads import segments as segment_reads
from kpconsole.errors import ConsoleError, InvalidField, Remedy
from kpconsole.jobs import JobContext, JobRequest, JobResult, start_job
from kpconsole.reads import models as model_reads
from kpconsole.services import datasets, models
from kpconsole.session import Session
from store import simulations as store
from store.catalog import DatasetRecord
from store.errors import NotFound
from store.simulations import CalibrationRecord, RunRecord

RUN_JOB = "sim_run"


# --- calibration --------------------------------------------------------------------------


def _tables(record: DatasetRecord) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    users = datasets.load(record, "users").collect() if "users" in record.tables else pl.DataFrame({"user_id": []})
    items = datasets.load(record, "items").collect() if "items" in record.tables else pl.DataFrame({"item_id": []})
    return users, items, datasets.load(record, "events").collect()


def _assignment(session: Session, record: DatasetRecord, segmentation: int | str | None) -> tuple[pl.DataFrame | None, str]:
    """User → segment from a segmentation (given, or the dataset's newest at its content), or the rule."""
    if segmentation == "rule":
        return None, "rule"
    found = segment_reads.list_segmentations(session, record.name)
    if segmentation is not None:
        found = [s for s in found if s.id == int(segmentation)]
        if not found:
            raise InvalidField(f"{{segments}} {segmentation}: no segmentation {segmentation} of dataset '{record.name}'",
                               "segments")
    else:
        found = [s for s in found if s.dataset_hash == record.content_hash]
    if not found:
        return None, "rule"
    seg = found[0]
    names = {s.segment_id: s.name for s in segment_reads.show(session, seg.id).segments}
    frame = pl.read_parquet(seg.artifact_path, columns=["user_id", "segment_id"]).select(
        pl.col("user_id").cast(pl.String),
        pl.col("segment_id").replace_strict(names, return_dtype=pl.String).alias("segment"))
    return frame, f"segmentation {seg.id} ({seg.method})"


def _tastes(session: Session, model_id: int | None, data: str) -> TasteVectors | None:
    if model_id is None:
        return None
    loaded = models.load_model(session, model_id, device="cpu")
    if loaded.record.dataset != data:
        raise InvalidField(f"{{model}} {model_id}: it was trained on '{loaded.record.dataset}', not '{data}'", "model")
    users, items = loaded.user_embeddings(), loaded.item_embeddings()
    if users is None or items is None:
        raise InvalidField(f"{{model}} {model_id}: a {loaded.record.algo} model has no embeddings to take tastes "
                           "from (use als, bpr or ncf)", "model")
    return TasteVectors(np.array(loaded.user_ids.cast(pl.String).to_list()), users.cpu().numpy(),
                        np.array(loaded.item_ids.cast(pl.String).to_list()), items.cpu().numpy(),
                        label=_model_label(model_id, loaded.record.algo))


def _model_label(model_id: int, algo: str) -> str:
    """How a registry model is named in calibrations (tastes) and runs (policy): ``model 3 (als)``."""
    return f"model {model_id} ({algo})"


def tastes_from_model(tastes: str, model_id: int | None) -> bool:
    """Whether a calibration's ``tastes`` are the embeddings of registry model ``model_id``."""
    return model_id is not None and tastes.startswith(f"model {model_id} (")  # _model_label, any algorithm


def calibrate(session: Session, data: str, *, segmentation: int | str | None = None, model: int | None = None,
              seed: int = 0, progress: Progress = no_progress) -> CalibrationRecord:
    """Fit a world from dataset ``data`` and store it; audited as ``sim.calibrate``."""
    params = {"segments": segmentation, "model": model, "seed": seed}
    with session.action("sim.calibrate", target=data, params=params):
        record = datasets.get(session, data)
        assignment, seg_source = _assignment(session, record, segmentation)
        users, items, events = _tables(record)
        fitted = engine_calibrate(users, items, events, assignment=assignment, embeddings=_tastes(session, model, data),
                                  seed=seed, progress=progress)
        return _save_calibration(session, record, fitted, seg_source, cut=None)


def _save_calibration(session: Session, record: DatasetRecord, fitted: Calibration, seg_source: str,
                      cut: str | None) -> CalibrationRecord:
    with store.staging_file(session.ws, ".npz") as staged:
        fitted.world.save(staged)
        return store.save_calibration(
            session.ws, staged, dataset=record.name, dataset_hash=record.content_hash, cut=cut,
            segments=seg_source if fitted.segment_source == "given" else "rule", tastes=fitted.taste_source,
            summary=fitted.summary(), created_by=session.actor.name)


def calibration_for(session: Session, scenario: Scenario, progress: Progress = no_progress) -> CalibrationRecord:
    """The calibration a run of ``scenario`` uses: the one it names, or the dataset's newest at its
    content (made now when there is none)."""
    record = datasets.get(session, scenario.data)
    if scenario.calibration is not None:
        try:
            found = store.get_calibration(session.ws, scenario.calibration)
        except NotFound as exc:
            raise ConsoleError(f"scenario.calibration: {exc}") from None
        if found.dataset != scenario.data:
            raise ConsoleError(f"scenario.calibration: calibration {found.id} is of '{found.dataset}', "
                               f"not '{scenario.data}'")
        return found
    latest = store.latest_calibration(session.ws, record.name, record.content_hash)
    return latest or calibrate(session, record.name, progress=progress)


# --- policies -----------------------------------------------------------------------------


def policy_model_id(session: Session, scenario: Scenario) -> int | None:
    """The registry model a ``model`` policy uses (None for other policies)."""
    ref = scenario.policy.model
    if scenario.policy.kind != "model":
        return None
    if ref == "latest":
        found = model_reads.list_models(session, scenario.data)
        if not found:
            raise ConsoleError(f"policy.model: no model trained on dataset '{scenario.data}' yet",
                               Remedy("train one with", "model train", (("data", scenario.data),)))
        return found[0].id
    try:
        record = model_reads.get(session, int(ref))
    except (ValueError, NotFound):
        known = ", ".join(str(m.id) for m in model_reads.list_models(session)[:10]) or "none"
        raise ConsoleError(f"policy.model: no model {ref!r} (known: {known})") from None
    if record.dataset != scenario.data:
        raise ConsoleError(f"policy.model: model {record.id} was trained on '{record.dataset}', not '{scenario.data}'")
    return record.id


def _policy(session: Session, scenario: Scenario, world: World, model_id: int | None,
            retrain_every: int | None) -> PolicySpec:
    ref = scenario.policy
    if model_id is None:
        return PolicySpec(ref.kind, label=ref.kind)
    loaded = models.load_model(session, model_id, device="cpu")
    users = loaded.user_index(world.users.user_ids.tolist()).numpy()
    items = loaded.item_index(world.catalog.item_ids.tolist()).numpy()
    label = (_model_label(model_id, loaded.record.algo) + (f" + MMR λ={ref.mmr_lambda}" if ref.mmr_lambda is not None else "")
             + (f", retrained every {retrain_every} days" if retrain_every is not None else ""))
    return recommender_policy(loaded.model, loaded.train, users, items, world.catalog.popularity,
                              mmr_lambda=ref.mmr_lambda, retrain_every=retrain_every, label=label)


# --- runs ---------------------------------------------------------------------------------


def _values_frame(result: SimResult) -> pl.DataFrame:
    days, _, reps = result.values.shape
    cols = {"day": np.repeat(np.arange(days), reps), "replicate": np.tile(np.arange(reps), days)}
    for k, name in enumerate(result.metrics):
        cols[name] = result.values[:, k, :].reshape(-1)
    return pl.DataFrame(cols)


def _series_rows(result: SimResult, level: float) -> list[tuple[str, int, float, float, float]]:
    rows = []
    for name in result.metrics:
        mean, lo, hi = result.daily(name, level)
        rows += [(name, d, float(mean[d]), float(lo[d]), float(hi[d])) for d in range(len(mean))]
    return rows


def _save_run(session: Session, *, kind: str, name: str, calibration: CalibrationRecord, text: str, resolved: dict,
              settings: Settings, result: SimResult, summary: dict, extra_series: list | None = None) -> RunRecord:
    # Each KPI's per-replicate run totals go in the summary: comparing runs then needs no array file.
    summary = {**summary, "replicate_totals": {m: [float(v) for v in result.totals(m)] for m in result.metrics}}
    with store.staging_file(session.ws, ".parquet") as staged:
        _values_frame(result).write_parquet(staged)
        return store.save_run(
            session.ws, staged, kind=kind, name=name, dataset=calibration.dataset, calibration_id=calibration.id,
            scenario_text=text, scenario=resolved, days=settings.days, replicates=settings.replicates,
            seed=settings.seed, device=result.device, summary=summary,
            series=_series_rows(result, settings.level) + (extra_series or []), created_by=session.actor.name)


@dataclass(frozen=True)
class ScenarioRun:
    """A scenario run checked and resolved before anything is loaded: what it simulates, how it
    is audited and how it is stored (:func:`run`, and each process of
    :func:`kpconsole.services.simulate_distributed.run_distributed`)."""

    text: str
    source: str
    scenario: Scenario
    settings: Settings
    overrides: dict
    frozen: bool

    @classmethod
    def of(cls, text: str, source: str, *, replicates: int | None, days: int | None, seed: int | None,
           device: str, frozen: bool) -> ScenarioRun:
        """Parse ``text`` and apply the overrides given (None: the scenario's)."""
        scenario = parse_scenario(text, source)
        overrides = {k: v for k, v in (("replicates", replicates), ("days", days), ("seed", seed)) if v is not None}
        for key, value in overrides.items():
            if key != "seed" and value <= 0:
                raise InvalidField(f"{{{key}}} {value}: must be greater than 0", key)
        return cls(text, source, scenario, replace(scenario.settings, device=device, **overrides), overrides, frozen)

    @property
    def retrain_every(self) -> int | None:
        return None if self.frozen else self.scenario.policy.retrain_every

    @property
    def params(self) -> dict:
        """What the audit log records of the request."""
        return {"scenario": self.scenario.name, "source": self.source, **self.overrides,
                "device": self.settings.device, **({"frozen": True} if self.frozen else {})}

    def inputs(self, session: Session, calibration: CalibrationRecord,
               model_id: int | None) -> tuple[World, PolicySpec, Levers, np.ndarray]:
        """The world, policy, levers and prices to simulate."""
        world = World.load(calibration.path)
        policy = _policy(session, self.scenario, world, model_id, self.retrain_every)
        return world, policy, self.scenario.levers(world), self.scenario.prices(world.catalog)

    def store(self, session: Session, calibration: CalibrationRecord, model_id: int | None, policy: PolicySpec,
              result: SimResult) -> RunRecord:
        """Save the run's values, daily series and summary."""
        scenario, retrain_every = self.scenario, self.retrain_every
        resolved = {**scenario.as_dict(),
                    "settings": {**scenario.as_dict()["settings"], **self.overrides, "device": self.settings.device},
                    "policy_label": policy.label, "calibration_id": calibration.id, "tastes": calibration.tastes,
                    "retrain_every": retrain_every}
        notes = list(calibration.summary["notes"])
        if tastes_from_model(calibration.tastes, model_id):
            notes.append(f"the agents' tastes are {calibration.tastes}'s own embeddings, the policy's model: it knows "
                         "the true tastes, which flatters it (calibrate with tags or another model)")
        summary = {"totals": result.summary(self.settings.level), "agents": result.agents, "policy": policy.label,
                   "tastes": calibration.tastes, "retrain_every": retrain_every,
                   "incentives": [p.as_dict() for p in result.incentives], "notes": notes}
        frozen = self.frozen and scenario.policy.retrain_every is not None
        return _save_run(session, kind="run", name=f"{scenario.name} (frozen)" if frozen else scenario.name,
                         calibration=calibration, text=self.text, resolved=resolved, settings=self.settings,
                         result=result, summary=summary)


def run(session: Session, text: str, source: str = "scenario", *, replicates: int | None = None,
        days: int | None = None, seed: int | None = None, device: str = "auto", frozen: bool = False,
        progress: Progress = no_progress) -> RunRecord:
    """Validate scenario ``text``, simulate it and store the run; audited as ``sim.run``.

    ``frozen``: a model policy is not retrained even when the scenario says ``retrain_every``
    (the baseline of :func:`kpconsole.services.simulate_feedback.feedback`; the run's name says so).
    """
    plan = ScenarioRun.of(text, source, replicates=replicates, days=days, seed=seed, device=device, frozen=frozen)
    with session.action("sim.run", target=plan.scenario.data, params=plan.params):
        calibration = calibration_for(session, plan.scenario, scaled(progress, 0.0, 0.2))
        model_id = policy_model_id(session, plan.scenario)
        world, policy, levers, prices = plan.inputs(session, calibration, model_id)
        result = simulate(world, policy, levers, plan.settings, prices=prices, progress=scaled(progress, 0.2, 1.0))
        return plan.store(session, calibration, model_id, policy, result)


def run_file(session: Session, path: Path, **options) -> RunRecord:
    """:func:`run` on a scenario file."""
    _, text = load_scenario(path)
    return run(session, text, str(path), **options)


def replicate_values(record: RunRecord) -> dict[str, np.ndarray]:
    """Each metric's [days, replicates] values of a stored run."""
    if not record.path.exists():
        raise ConsoleError(f"run {record.id}: its values file {record.path} is missing")
    frame = pl.read_parquet(record.path).sort(["day", "replicate"])
    shape = (record.days, record.replicates)
    return {m: frame[m].to_numpy().reshape(shape) for m in METRICS if m in frame.columns}


def totals(record: RunRecord, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per replicate: each metric summed, averaged or taken last over the run (as it aggregates)."""
    return {m: over_run(m, v) for m, v in values.items()}


# --- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimRunRequest(JobRequest):
    """A scenario run as a job: the scenario's text (so the job never rereads a file that may
    have changed), where it came from, and the settings it overrides (None: the scenario's)."""

    text: str
    source: str = "scenario"
    replicates: int | None = None
    days: int | None = None
    seed: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        for key in ("replicates", "days"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise InvalidField(f"{{{key}}} {value}: must be greater than 0", key)

    @classmethod
    def from_file(cls, path: Path, *, replicates: int | None = None, days: int | None = None,
                  seed: int | None = None, device: str = "auto") -> SimRunRequest:
        """The run of scenario file ``path`` (read and validated now)."""
        _, text = load_scenario(path)
        return cls(text, str(path), replicates=replicates, days=days, seed=seed, device=device)


def run_job(session: Session, request: SimRunRequest, ctx: JobContext) -> JobResult:
    """A scenario run as a job."""
    ctx.log(f"simulating {request.source}")
    record = run(session, request.text, request.source, replicates=request.replicates, days=request.days,
                 seed=request.seed, device=request.device, progress=ctx.progress)
    ctx.log(f"run {record.id}: {record.days} days × {record.replicates} replicates")
    return JobResult("simulation", str(record.id))


def start_run(session: Session, request: SimRunRequest) -> int:
    """Validate the scenario here (errors name ``request.source``), then run it as a detached
    ``sim_run`` job; returns the job id. An edited scenario runs without being written first."""
    scenario = parse_scenario(request.text, request.source)
    datasets.get(session, scenario.data)
    return start_job(session, RUN_JOB, request.as_params())
