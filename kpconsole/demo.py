"""``kpconsole demo``: a fresh workspace built from sample_data, one step per capability.

Each step is a function ``(session, demo) -> DemoResult`` registered in :data:`STEPS`; a step
prints nothing itself: it returns a title, the figures it produced (for ``--json``) and the
lines a person reads. Steps run in order; a later step may use what an earlier one made
(``demo.made``: e.g. the dataset names, model ids).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import kpconsole
from kpconsole.demo_step import DemoResult, DemoState, DemoStep
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.jobs import list_jobs
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.recommend_demo import recommender_step
from kpconsole.services.segments_demo import community_step, segments_step, value_step
from kpconsole.services.simulate_demo import simulation_step
from kpconsole.session import Session, create_session
from store.workspace import DB_NAME

PLATFORM = "platform"
COMMUNITY = "qc"


def sample_data_dir() -> Path:
    """The repository's sample_data folder (the demo needs a source checkout)."""
    path = Path(kpconsole.__file__).resolve().parent.parent / "sample_data"
    if not path.is_dir():
        raise ConsoleError(f"sample data not found at {path}: run the demo from a clone of the repository")
    return path


def ingest_samples(session: Session, demo: DemoState) -> DemoResult:
    """Ingest the generated platform (CSV folder) and the real Stack Exchange community."""
    platform = datasets.ingest(session, IngestRequest(path=demo.sample_data / "platform", name=PLATFORM))
    community = datasets.ingest(
        session, IngestRequest(path=demo.sample_data / "stackexchange" / "quantumcomputing", name=COMMUNITY)
    )
    demo.made["datasets"] = [PLATFORM, COMMUNITY]
    lines = [f"{'name':<9} {'format':<13} {'events':>8} {'users':>7} {'items':>7}  from .. to"]
    for r in (platform, community):
        p = r.profile
        lines.append(f"{r.name:<9} {r.format:<13} {p['n_events']:>8,} {p['n_users']:>7,} {p['n_items']:>7,}  "
                     f"{p['ts_min'][:10]} .. {p['ts_max'][:10]}")
    return DemoResult("Data", {"datasets": [platform.as_dict(), community.as_dict()]}, lines)


def jobs_step(session: Session, demo: DemoState) -> DemoResult:
    """The jobs the demo ran (training, segmentation, fits, simulations), as `jobs list` shows them."""
    jobs = list_jobs(session)
    lines = [f"{'id':>3}  {'kind':<12} {'status':<10} {'by':<10} result"]
    for job in reversed(jobs):
        result = f"{job.result_kind} {job.result_id}" if job.result_kind else ""
        lines.append(f"{job.id:>3}  {job.kind:<12} {job.status:<10} {job.started_by:<10} {result}")
    return DemoResult("Jobs", {"jobs": [j.as_dict() for j in jobs]}, lines + ["(kpconsole jobs list / show ID / logs ID)"])


STEPS: list[DemoStep] = [
    ingest_samples,
    recommender_step,
    segments_step,
    value_step,
    community_step,
    simulation_step,
    jobs_step,
]


def prepare_workspace(root: Path, reset: bool) -> Session:
    """Create the demo workspace; with ``reset`` remove an earlier demo workspace first.

    Refuses to touch a folder that is neither empty nor a kpconsole workspace.
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not (root / DB_NAME).exists():
            raise InvalidField(f"{root} is not empty and not a workspace; choose another {{workspace}}", "workspace")
        if not reset:
            raise InvalidField(f"{root} already holds a workspace (pass {{reset}} to rebuild the demo there)", "reset")
        shutil.rmtree(root)
    return create_session(root)


def run_demo(session: Session, steps: list[DemoStep] | None = None) -> list[DemoResult]:
    demo = DemoState(sample_data_dir())
    results = []
    with session.action("demo.run", target=str(session.ws.root)):
        for step in steps or STEPS:
            results.append(step(session, demo))
    return results
