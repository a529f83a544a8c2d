"""Two processes ingesting into one workspace at the same moment both succeed."""

from __future__ import annotations

import subprocess
import sys

from conftest import SAMPLE_DATA
from store import catalog
from store.workspace import Workspace


def test_two_processes_ingest_at_once(workspace, tmp_path):
    commands = [
        [sys.executable, "-m", "kpconsole", "data", "ingest", str(SAMPLE_DATA / "platform"), "-n", "platform",
         "-w", str(workspace)],
        [sys.executable, "-m", "kpconsole", "data", "ingest", str(SAMPLE_DATA / "stackexchange" / "quantumcomputing"),
         "-n", "qc", "-w", str(workspace)],
    ]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    ws = Workspace.open(workspace)
    assert [r.name for r in catalog.list_datasets(ws)] == ["platform", "qc"]
    assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert ws.conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'data.ingest' AND outcome = 'ok'").fetchone()[0] == 2


def test_same_name_at_once_gives_one_dataset_and_one_clear_refusal(workspace):
    platform = str(SAMPLE_DATA / "platform")
    cmd = [sys.executable, "-m", "kpconsole", "data", "ingest", platform, "-n", "same", "-w", str(workspace)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1], outcomes
    refusal = next(err for code, err in outcomes if code == 1)
    assert "already exists" in refusal and refusal.count("\n") == 1
    ws = Workspace.open(workspace)
    assert [r.name for r in catalog.list_datasets(ws)] == ["same"]
    assert len([p for p in (workspace / "data").iterdir()]) == 1
