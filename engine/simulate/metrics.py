"""The structure-free KPIs of a simulated day (Gini, safe ratios) on tensors.

The list of KPIs and how each adds up over a run: :mod:`engine.simulate.kpis`.
"""

from __future__ import annotations

import torch

def gini(counts: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of each row of non-negative ``counts`` [R, C] (float64 [R]; 0 for all-zero rows).

    ``G = Σ_i (2i - C - 1)·x_(i) / (C·Σx)`` with ``x`` sorted ascending, ``i = 1..C``.
    """
    x = torch.sort(counts.to(torch.float64), dim=1).values
    c = x.shape[1]
    i = torch.arange(1, c + 1, dtype=torch.float64, device=x.device)
    total = x.sum(dim=1)
    g = ((2 * i - c - 1) * x).sum(dim=1) / (c * total.clamp_min(1e-300))
    return torch.where(total > 0, g, torch.zeros_like(g))


def safe_ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` (float64), 0 where ``den`` is 0."""
    num, den = num.to(torch.float64), den.to(torch.float64)
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))
