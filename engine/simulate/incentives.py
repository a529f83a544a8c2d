"""Badge ladders: the pull of a nearby threshold on an action, and its measured profile.

Anderson, Huttenlocher, Kleinberg & Leskovec (2013), "Steering user behavior with badges"
(WWW '13): users step up an action as they approach a badge's threshold and fall back once
they have it. Here an agent whose count of the targeted action is ``c`` has that action's
probability multiplied by::

    m(c) = 1 + strength · exp(-(T(c) - c - 1) / width)       T(c): the next threshold above c

(``m = 1`` when no threshold is left). The profile records, per offset ``c - T₁`` from the
first threshold, how many agent-days had the chance to act and how many acted — the curve
Anderson et al. plot; with ``strength = 0`` it is flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.simulate.levers import Incentive

MAX_OFFSET = 50


class BadgeLadder:
    """One incentive program on the simulation's device."""

    def __init__(self, incentive: Incentive, device: torch.device) -> None:
        self.incentive = incentive
        self.thresholds = torch.tensor(sorted(incentive.thresholds), dtype=torch.int64, device=device)
        self.span = min(MAX_OFFSET, int(self.thresholds[0].item()))
        bins = 2 * self.span + 1
        self.opportunities = torch.zeros(bins, dtype=torch.int64, device=device)
        self.actions = torch.zeros(bins, dtype=torch.int64, device=device)

    def multiplier(self, count: torch.Tensor) -> torch.Tensor:
        """``m(c)`` for each count (float32)."""
        nxt_idx = torch.searchsorted(self.thresholds, count, right=True)
        has_next = nxt_idx < len(self.thresholds)
        nxt = self.thresholds[nxt_idx.clamp(max=len(self.thresholds) - 1)]
        distance = (nxt - count - 1).to(torch.float32)
        pull = self.incentive.strength * torch.exp(-distance / self.incentive.width)
        return torch.where(has_next, 1.0 + pull, torch.ones_like(pull))

    def record(self, count: torch.Tensor, acted: torch.Tensor) -> None:
        """Add agent-days with a chance to act (their counts before today) and whether they did."""
        offset = (count - self.thresholds[0]).clamp(-self.span, self.span) + self.span
        self.opportunities += torch.bincount(offset, minlength=len(self.opportunities))
        self.actions += torch.bincount(offset[acted], minlength=len(self.actions))

    def profile(self) -> IncentiveProfile:
        return IncentiveProfile(
            name=self.incentive.name or self.incentive.action, action=self.incentive.action,
            threshold=int(self.thresholds[0].item()),
            offsets=np.arange(-self.span, self.span + 1),
            opportunities=self.opportunities.cpu().numpy(), actions=self.actions.cpu().numpy(),
        )


@dataclass(frozen=True)
class IncentiveProfile:
    """Action rate by distance to the first threshold (offsets at ±span hold everything beyond)."""

    name: str
    action: str
    threshold: int
    offsets: np.ndarray
    opportunities: np.ndarray
    actions: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.opportunities > 0, self.actions / np.maximum(self.opportunities, 1), np.nan)

    def as_dict(self) -> dict:
        return {"name": self.name, "action": self.action, "threshold": self.threshold,
                "offsets": self.offsets.tolist(), "opportunities": self.opportunities.tolist(),
                "actions": self.actions.tolist()}
