"""How many agents last did something on each day — DAU-style windows without a pass over everyone.

WAU and MAU count agents whose last visit falls in the last 7 or 30 days. Recounting them would
touch every agent every day; instead each replicate keeps a histogram of last-visit days, and
a visit moves one agent from its old day's bucket to today's. A window count is then a sum of
at most 30 buckets. Bucket 0 holds "longer ago than the window, or never".
"""

from __future__ import annotations

import torch


class Recency:
    """Per replicate, agents by the day they last did the thing (days ≥ -window kept apart)."""

    def __init__(self, last: torch.Tensor, replicates: int, days: int, window: int = 30) -> None:
        self.r, self.n, self.window = replicates, last.numel() // replicates, window
        self.width = days + window + 1
        self.hist = torch.zeros(replicates * self.width, dtype=torch.int64, device=last.device)
        replicate = torch.arange(last.numel(), device=last.device) // self.n
        self.hist.index_add_(0, replicate * self.width + self._bucket(last), torch.ones_like(last))

    def _bucket(self, day: torch.Tensor) -> torch.Tensor:
        return torch.where(day >= -self.window, day + self.window + 1, torch.zeros_like(day))

    def move(self, replicate: torch.Tensor, old: torch.Tensor, day: int) -> None:
        """Agents (their replicates given) whose last day was ``old`` did it again on ``day`` (≥ 0)."""
        self.hist -= torch.bincount(replicate * self.width + self._bucket(old), minlength=self.hist.numel())
        self.hist.view(self.r, self.width)[:, day + self.window + 1] += torch.bincount(replicate, minlength=self.r)

    def count(self, day: int, span: int) -> torch.Tensor:
        """Agents per replicate whose last time is within ``span`` days up to ``day`` (≤ window)."""
        lo = max(day - span + 1, -self.window) + self.window + 1
        return self.hist.view(self.r, self.width)[:, lo:day + self.window + 2].sum(dim=1)
