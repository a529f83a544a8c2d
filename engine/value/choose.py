"""Choosing the repeat-buying model that fits: BG/NBD or Pareto/NBD, with a one-line reason.

Both models are fitted by maximum likelihood on the same customers (:func:`engine.value.mle.maximise`).

* Only one converges: that one, and the reason says what the other lacks — e.g. the BG/NBD
  on a platform whose customers show no sign of dropping out right after a purchase: its
  likelihood keeps rising as ``a`` and ``b`` grow together (the model turns into the NBD), so
  it has **no finite maximum**.
* Both converge: the higher log-likelihood. Both have four parameters, so this is also the
  lower AIC = 2k − 2 ln L and BIC = k ln n − 2 ln L.
* Neither: an :class:`EngineError` naming both failures.

>>> _why_not(FitResult({"a": 1e3, "b": 2e5}, -1.0, False, "the gradient did not vanish (…)", 50, 1e-3, 9))
'has no finite maximum here (a, b keep growing)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import EngineError
from engine.value.data import RepeatData
from engine.value.mle import FitResult
from engine.value.models import TRANSACTION_MODELS
RUNAWAY_LOG = 6.0  # a parameter past e^±6 (≈ 400 or 1/400) when the fit stopped is running off


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model's fit, why it was chosen (one line), and every model's fit."""

    model: str
    fit: FitResult
    reason: str
    tried: dict[str, FitResult]

    def as_dict(self) -> dict:
        return {"model": self.model, "reason": self.reason, "tried": {
            name: {"converged": f.converged, "message": f.message, "log_likelihood": f.log_likelihood}
            for name, f in self.tried.items()}}


def _why_not(fit: FitResult) -> str:
    """What a fit that did not converge lacks, in a few words: where the likelihood has no
    finite maximum (a parameter ran off, a flat direction, or the search left with parameters
    past e^±6), which parameters run away. The optimiser's path to that end varies with its
    version; the parameters it ends with do not."""
    logs = {name: math.log(v) for name, v in fit.params.items() if v > 0}
    growing = [name for name, lv in logs.items() if lv > RUNAWAY_LOG]
    shrinking = [name for name, lv in logs.items() if lv < -RUNAWAY_LOG]
    drift = [f"{', '.join(names)} {many if len(names) > 1 else one}" for names, many, one in
             ((growing, "keep growing", "keeps growing"), (shrinking, "shrink toward 0", "shrinks toward 0"))
             if names]
    if "ran off" in fit.message or "flat" in fit.message or drift:
        return "has no finite maximum here" + (f" ({'; '.join(drift)})" if drift else "")
    return f"did not converge here ({fit.message})"


def choose_repeat_buying_model(data: RepeatData) -> ModelChoice:
    """Fit BG/NBD and Pareto/NBD on ``data`` and keep the one that fits (see the module docstring)."""
    tried = {name: model.fit(data) for name, model in TRANSACTION_MODELS.items()}
    converged = [name for name, fit in tried.items() if fit.converged]
    if not converged:
        raise EngineError("no repeat-buying model fits: " + "; ".join(
            f"{TRANSACTION_MODELS[name].title} {_why_not(fit)}" for name, fit in tried.items()) + "; try a later calibration end or more data")
    best = max(converged, key=lambda name: tried[name].log_likelihood)
    others = [name for name in tried if name != best]
    if len(converged) == 1:
        reason = "; ".join(f"{TRANSACTION_MODELS[name].title} {_why_not(tried[name])}" for name in others) + f"; {TRANSACTION_MODELS[best].title} fitted"
    else:
        other = others[0]
        reason = (f"{TRANSACTION_MODELS[best].title} fits better: log-likelihood {tried[best].log_likelihood:,.1f} against "
                  f"{tried[other].log_likelihood:,.1f} for {TRANSACTION_MODELS[other].title} (4 parameters each)")
    return ModelChoice(best, tried[best], reason, tried)
