"""The feedback loop in the console: a scenario's retrained model policy against the same model frozen.

:func:`feedback` runs a scenario whose ``model`` policy has ``retrain_every`` twice with the same
seed, calibration, days and replicates — as written, and with the model frozen — and stores both
runs (each an audited ``sim.run``; ``sim compare`` reads them as any pair). It returns the paired
differences of homogenisation, exposure Gini and coverage (:mod:`engine.simulate.feedback`).

Tastes that are the policy model's own embeddings would tell the model the truth it is meant to
learn, so the comparison refuses them: calibrate with tags (the default) or another model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.progress import Progress, no_progress, scaled
from engine.simulate.feedback import FeedbackFigure, feedback_figures
from engine.simulate.scenario import load_scenario, parse_scenario
from kpconsole.errors import ConsoleError, Remedy
from kpconsole.services import simulate
from kpconsole.session import Session
from store.simulations import RunRecord


@dataclass(frozen=True)
class FeedbackComparison:
    """The two stored runs and the figures (retrained − frozen)."""

    retrained: RunRecord
    frozen: RunRecord
    retrain_every: int
    figures: tuple[FeedbackFigure, ...]

    def as_dict(self) -> dict:
        return {"retrained": self.retrained.id, "frozen": self.frozen.id, "retrain_every": self.retrain_every,
                "tastes": self.retrained.summary["tastes"], "policy": self.retrained.summary["policy"],
                "figures": [f.as_dict() for f in self.figures]}


def feedback(session: Session, text: str, source: str = "scenario", *, replicates: int | None = None,
             days: int | None = None, seed: int | None = None, device: str = "auto",
             progress: Progress = no_progress) -> FeedbackComparison:
    """Run scenario ``text`` retrained and frozen, store both runs and compare them (module docstring)."""
    scenario = parse_scenario(text, source)
    every = scenario.policy.retrain_every
    if every is None:
        raise ConsoleError(f"{source}: policy.retrain_every: missing (the feedback comparison needs a model policy "
                           "retrained every N days: kind = \"model\", retrain_every = N)")
    calibration = simulate.calibration_for(session, scenario, scaled(progress, 0.0, 0.1))
    model_id = simulate.policy_model_id(session, scenario)
    if simulate.tastes_from_model(calibration.tastes, model_id):
        raise ConsoleError(f"calibration {calibration.id}: the agents' tastes are {calibration.tastes}'s own "
                           "embeddings, the policy's model: it would know the true tastes it is meant to learn",
                           Remedy("calibrate with tags with", "sim calibrate", (("data", scenario.data),)))
    options = {"replicates": replicates, "days": days, "seed": seed, "device": device}
    retrained = simulate.run(session, text, source, progress=scaled(progress, 0.1, 0.55), **options)
    frozen = simulate.run(session, text, source, frozen=True, progress=scaled(progress, 0.55, 1.0), **options)
    figures = feedback_figures(retrained.summary["replicate_totals"], frozen.summary["replicate_totals"],
                               scenario.settings.level)
    return FeedbackComparison(retrained, frozen, every, figures)


def feedback_file(session: Session, path: Path, **options) -> FeedbackComparison:
    """:func:`feedback` on a scenario file."""
    _, text = load_scenario(path)
    return feedback(session, text, str(path), **options)
