"""The metrics a running job reported, as the console saw them, for live charts.

The jobs table keeps only a job's latest progress and metrics; whoever polls a job adds each new
report here (one point per change of its metrics), so a chart can draw a loss curve as it grows. A job that
ran while no console watched it has only the points seen since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.jobs import JobRecord


MAX_POINTS = 2000


@dataclass(frozen=True)
class Point:
    progress: float
    message: str
    metrics: dict[str, float]


@dataclass
class JobHistory:
    points: dict[int, list[Point]] = field(default_factory=dict)

    def add(self, job: JobRecord) -> bool:
        """Record the job's current metrics if they changed since the last point; returns whether."""
        if not job.metrics:
            return False
        seen = self.points.setdefault(job.id, [])
        point = Point(float(job.progress), job.message, {k: float(v) for k, v in job.metrics.items()})
        if seen and seen[-1].metrics == point.metrics:
            return False
        seen.append(point)
        del seen[:-MAX_POINTS]
        return True

    def series(self, job_id: int) -> dict[str, tuple[list[float], list[float]]]:
        """``{metric: (progress %, values)}`` for every metric the job reported."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for point in self.points.get(job_id, []):
            for name, value in point.metrics.items():
                xs, ys = out.setdefault(name, ([], []))
                xs.append(round(100 * point.progress, 2))
                ys.append(value)
        return out
