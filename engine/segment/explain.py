"""Why a user is in their segment, in a few lines a person can check.

* RFM: the user's R, F, M scores with the values behind them, and the grid cell of the segment;
* lifecycle: days since the last activity (and the cancellation, if any) against the rule;
* clusters: distance to their own centre and to the next nearest, and the standardised
  features in which the user stands out most from the average user.
"""

from __future__ import annotations

import numpy as np

from engine.segment import lifecycle, rfm
from engine.segment.cluster import readable


def explain_rfm(row: dict) -> list[str]:
    """``row``: segment, r, f, m, recency_days, orders, monetary."""
    if row.get("r") is None:
        return ["no purchase with money yet, so no RFM scores: segment no_purchase"]
    return [
        f"R {row['r']} — last activity {row['recency_days']:.1f} days ago (5 = most recent fifth of payers)",
        f"F {row['f']} — {row['orders']} order day(s)",
        f"M {row['m']} — {row['monetary']:,.2f} net spend",
        f"{row['segment']}: {rfm.rule_of(row['segment'])}",
    ]


def explain_lifecycle(row: dict, thresholds: lifecycle.LifecycleThresholds) -> list[str]:
    """``row``: segment (the stage), days_since_last, days_since_first, stopped_at, gap_days."""
    lines = [f"last activity {row['days_since_last']:.1f} days ago; first seen {row['days_since_first']:.1f} days ago"]
    if row.get("stopped_at") is not None:
        lines.append(f"last cancellation at {row['stopped_at']}")
    if row.get("gap_days") is not None:
        lines.append(f"longest silence before a recent active day: {row['gap_days']:.0f} days")
    lines.append(f"{row['segment']}: {lifecycle.rule_of(row['segment'], thresholds)}")
    return lines


def explain_cluster(z: np.ndarray, label: int, centers: np.ndarray, names: list[str], columns: list[str],
                    top: int = 3) -> list[str]:
    """``z``: the user's standardised features; ``label``: 0-based cluster; centres in the same units."""
    dist = np.sqrt(((centers - z[None, :]) ** 2).sum(1))
    others = [j for j in np.argsort(dist) if j != label]
    lines = [f"nearest centre: segment {label + 1} '{names[label]}' at distance {dist[label]:.2f}"]
    if others:
        o = others[0]
        lines.append(f"next nearest: segment {o + 1} '{names[o]}' at distance {dist[o]:.2f}")
    high = [j for j in np.argsort(-z)[:top] if z[j] > 0.5]
    low = [j for j in np.argsort(z)[:top] if z[j] < -0.5]
    if high:
        lines.append("above the average user: " + ", ".join(f"{readable(columns[j])} {z[j]:+.1f} sd" for j in high))
    if low:
        lines.append("below the average user: " + ", ".join(f"{readable(columns[j])} {z[j]:+.1f} sd" for j in low))
    return lines
