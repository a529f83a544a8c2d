"""Feedback-loop figures: a retrained model policy against the same model frozen.

Chaney, Stewart & Engelhardt (2018) found that a recommender retrained on the interactions it
caused makes similar users behave more alike — *homogenisation*, the Jaccard index of what
paired similar users opened (:data:`engine.simulate.kpis.METRICS`) — than the same model would
frozen. Two runs with the same seed, days, replicates and calibration, one retrained
(``policy.retrain_every``) and one frozen, share their random numbers
(:mod:`engine.simulate.intervals`): replicate r of each holds the same people making the same
draws, so ``d_r = retrained_r − frozen_r`` of each replicate's run value is the loop's effect,
and its mean has the paired Student-t interval.

The figures are those the loop is known to move: homogenisation, the exposure Gini over creators
and the catalog coverage; each with the mean of both runs, the paired difference and its
interval, and the share of replicates where the retrained run is higher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from engine.errors import EngineError
from engine.simulate.intervals import mean_interval
from engine.simulate.run import SimResult

FEEDBACK_METRICS = ("homogenisation", "exposure_gini", "coverage")


@dataclass(frozen=True)
class FeedbackFigure:
    """One KPI's run value, retrained and frozen (means over replicates), and their paired
    difference ``retrained − frozen`` with its interval."""

    metric: str
    retrained: float
    frozen: float
    difference: float
    low: float
    high: float
    share_higher: float  # replicates where the retrained run's value is above the frozen one's

    def as_dict(self) -> dict:
        return asdict(self)


def feedback_figures(retrained: Mapping[str, Sequence[float] | np.ndarray],
                     frozen: Mapping[str, Sequence[float] | np.ndarray],
                     level: float = 0.95) -> tuple[FeedbackFigure, ...]:
    """The figures of :data:`FEEDBACK_METRICS` from each run's per-replicate run values
    (``{metric: [value of replicate 0, 1, …]}``, as :meth:`SimResult.totals` gives them or a
    stored run keeps them); both runs must have the same replicates.

    >>> figures = feedback_figures({"homogenisation": [0.3, 0.4], "exposure_gini": [0.5, 0.5], "coverage": [1, 1]},
    ...                            {"homogenisation": [0.2, 0.2], "exposure_gini": [0.5, 0.5], "coverage": [1, 1]})
    >>> [round(figures[0].difference, 3), figures[0].share_higher, figures[1].difference]
    [0.15, 1.0, 0.0]
    """
    out = []
    for metric in FEEDBACK_METRICS:
        a = np.asarray(retrained[metric], dtype=np.float64)
        b = np.asarray(frozen[metric], dtype=np.float64)
        if a.shape != b.shape or a.size == 0:
            raise EngineError(f"{metric}: the retrained and frozen runs must have the same replicates "
                              f"({a.size} and {b.size})")
        diff, low, high = mean_interval(a - b, level)
        out.append(FeedbackFigure(metric, float(a.mean()), float(b.mean()), float(diff), float(low), float(high),
                                  float(np.mean(a > b))))
    return tuple(out)


def result_figures(retrained: SimResult, frozen: SimResult, level: float = 0.95) -> tuple[FeedbackFigure, ...]:
    """:func:`feedback_figures` of two simulation results (same seed, days and replicates)."""
    if retrained.values.shape != frozen.values.shape:
        raise EngineError("the retrained and frozen runs must have the same days and replicates")
    return feedback_figures({m: retrained.totals(m) for m in FEEDBACK_METRICS},
                            {m: frozen.totals(m) for m in FEEDBACK_METRICS}, level)
