"""The summary columns as float64 tensors, the form every likelihood here takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import torch

from engine.errors import EngineError


@dataclass(frozen=True)
class RepeatData:
    """x, t_x, T per customer (float64 tensors on the CPU), as in Fader, Hardie & Lee (2005)."""

    x: torch.Tensor
    t_x: torch.Tensor
    T: torch.Tensor

    @classmethod
    def from_summary(cls, summary: pl.DataFrame) -> RepeatData:
        """Take ``frequency``, ``recency`` and ``T`` from a :func:`repeat_purchase_summary` frame."""
        missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
        if missing:
            raise EngineError(f"the summary lacks column(s) {', '.join(missing)}")
        if summary.height == 0:
            raise EngineError("no customers to fit: no purchases on or before the calibration end")
        x, t_x, T = (torch.from_numpy(summary[c].cast(pl.Float64).to_numpy().astype(np.float64))
                     for c in ("frequency", "recency", "T"))
        bad = (x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ((x == 0) & (t_x > 0))
        if bool(bad.any()):
            row = int(torch.nonzero(bad)[0])
            raise EngineError(
                f"summary row {row + 1}: need x ≥ 0, 0 ≤ t_x ≤ T and t_x = 0 when x = 0 "
                f"(x={float(x[row])}, t_x={float(t_x[row])}, T={float(T[row])})"
            )
        if float(T.max()) <= 0:
            raise EngineError("every customer bought on the calibration end: T is 0 for all, nothing to fit")
        return cls(x, t_x, T)

    @property
    def n(self) -> int:
        return int(self.x.numel())
