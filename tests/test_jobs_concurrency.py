"""Several processes on one workspace: no "database is locked" reaches anyone."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from store import jobs as jobs_store
from store.workspace import Workspace

DURATION_S = 30.0
WRITERS = 4

# Each writer runs real inline jobs (row, claim, heartbeat thread beating every 20 ms, progress
# written on every report, audit) as fast as it can; writer 0 also re-ingests a dataset.
WRITER = r"""
import os, sys, time
from pathlib import Path
from kpconsole.identity import Actor, Role
from dataclasses import dataclass
from kpconsole.jobs import JobKind, JobRequest, JobResult, add_job_kind, runner, service
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session
from store.workspace import Workspace

runner.HEARTBEAT_S, runner.PROGRESS_EVERY_S = 0.02, 0.0
root, n, duration = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

@dataclass(frozen=True)
class TickRequest(JobRequest):
    n: int

def tick(session, request, ctx):
    for i in range(5):
        ctx.progress((i + 1) / 5, f"tick {i}", {"i": i})
    return JobResult("tick", str(request.n))

add_job_kind(JobKind("tick", request="__main__:TickRequest", run="__main__:tick"))
session = Session(Workspace.open(root), Actor(f"writer{n}", Role.OPERATOR, "w"))
events = root.parent / f"events{n}.csv"
events.write_text("user_id,item_id,kind,ts\n1,10,view,2024-01-01T00:00:00\n2,11,like,2024-01-02T00:00:00\n")
done, until = 0, time.monotonic() + duration
while time.monotonic() < until:
    job_id = service.start_job(session, "tick", {"n": n}, detach=False)
    status = service.show_job(session, job_id).status
    assert status == "succeeded", (job_id, status)
    if n == 0 and done % 10 == 0:
        datasets.ingest(session, IngestRequest(path=events, name="shared", replace=True))
    done += 1
print(done)
"""

READER = r"""
import sys, time
from pathlib import Path
from kpconsole.identity import Actor, Role
from kpconsole.jobs import service
from kpconsole.session import Session
from store import audit, catalog
from store.workspace import Workspace

root, duration = Path(sys.argv[1]), float(sys.argv[2])
session = Session(Workspace.open(root), Actor("reader", Role.ANALYST, "r"))
reads, until = 0, time.monotonic() + duration
while time.monotonic() < until:
    jobs = service.list_jobs(session, limit=20)
    for job in jobs[:5]:
        service.show_job(session, job.id)
    audit.entries(session.ws, action="jobs.", limit=20)
    catalog.list_datasets(session.ws)
    reads += 1
print(reads)
"""


@pytest.mark.slow
def test_four_writers_and_a_reader_for_30_seconds_without_lock_errors(workspace):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(workspace), str(n), str(DURATION_S)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(WRITERS)]
    procs.append(subprocess.Popen([sys.executable, "-c", READER, str(workspace), str(DURATION_S)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    began = time.monotonic()
    outputs = [p.communicate(timeout=DURATION_S + 120) for p in procs]
    assert time.monotonic() - began >= DURATION_S
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert "locked" not in err and "busy" not in err, err
        assert proc.returncode == 0, err
    counts = [int(out.strip()) for out, _ in outputs]
    assert all(c > 0 for c in counts), counts

    ws = Workspace.open(workspace)
    assert ws.integrity_check() == "ok"
    finished = jobs_store.list_jobs(ws, limit=1_000_000)
    assert len(finished) == sum(counts[:WRITERS])
    assert {j.status for j in finished} == {"succeeded"}
