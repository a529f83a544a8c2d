"""Customer lifetime value from a repeat-buying model and a spend model.

    CLV_i = Σ_{k=1..K} (E[Y(t_k) | i] − E[Y(t_{k−1}) | i]) · E[M | i] · (1 + d)^(−t_k / year)

with t_k = k·step (in the model's periods), E[Y(t) | i] the conditional expected transactions
of the transaction model (BG/NBD or Pareto/NBD), E[M | i] the Gamma-Gamma expected spend per
transaction, and d the yearly discount rate. This is the discounted-cash-flow form used by
Fader, Hardie & Lee (2005) and by the lifetimes package, with cash flows booked at the end of
each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError

ExpectedPurchases = Callable[[float], np.ndarray]
"""t (in periods) → E[Y(t) | customer] for every customer."""


@dataclass(frozen=True)
class ClvSettings:
    """Horizon, step and yearly discount rate; times in days, converted with ``period_days``."""

    horizon_days: float = 365.0
    step_days: float = 30.0
    discount_rate: float = 0.10  # per year
    period_days: float = 7.0

    def check(self) -> None:
        if self.horizon_days <= 0 or self.step_days <= 0 or self.period_days <= 0:
            raise EngineError("CLV horizon, step and period must be positive")
        if self.discount_rate <= -1:
            raise EngineError(f"a discount rate of {self.discount_rate} is not above −100 %")


def discounted_clv(expected: ExpectedPurchases, spend: np.ndarray, settings: ClvSettings) -> np.ndarray:
    """Discounted value per customer over the horizon (see the module docstring).

    >>> flat = lambda t: np.array([t / 4.0])  # one purchase every 4 periods
    >>> s = ClvSettings(horizon_days=56, step_days=28, discount_rate=0.0, period_days=7)
    >>> discounted_clv(flat, np.array([10.0]), s).round(6).tolist()
    [20.0]
    """
    settings.check()
    steps = int(np.ceil(settings.horizon_days / settings.step_days))
    ends_days = np.minimum(np.arange(1, steps + 1) * settings.step_days, settings.horizon_days)
    value = np.zeros_like(np.asarray(spend, dtype=float))
    previous = np.zeros_like(value)
    for end in ends_days:
        current = expected(end / settings.period_days)
        discount = (1.0 + settings.discount_rate) ** (-end / 365.0)
        value += (current - previous) * spend * discount
        previous = current
    return value
