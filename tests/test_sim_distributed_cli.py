"""``torchrun … kpconsole sim run … --distributed`` (issue 14, point 7): 2 gloo CPU processes share
the replicates, rank 0 calibrates, stores, prints and is audited once, and the stored run is the
single-process one (counts equal, every value to 1e-12 relative: see test_sim_distributed.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLE_DATA

from kpconsole.reads import audit
from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, simulate
from kpconsole.services.datasets import IngestRequest

BASELINE = SAMPLE_DATA / "scenarios" / "baseline.toml"
QUICK = ["--days", "6", "--replicates", "3"]


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def _cli(args, ws, capsys) -> tuple[int, str, str]:
    from kpconsole.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--workspace", str(ws), *args])
    out = capsys.readouterr()
    return ended.value.code, out.out, out.err


def test_distributed_outside_torchrun_says_how_to_start_it_and_stores_nothing(platform, capsys, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    code, out, err = _cli(["sim", "run", str(BASELINE), *QUICK, "--distributed"], platform.ws.root, capsys)
    assert code != 0 and out == ""
    assert "--distributed shares the replicates among the processes of a torchrun launch" in err
    code, _, err = _cli(["sim", "run", str(BASELINE), "--distributed", "--detach"], platform.ws.root, capsys)
    assert code == 2 and "drop --detach" in err
    assert sim_reads.list_runs(platform) == []


@pytest.mark.slow
def test_a_torchrun_launch_stores_the_single_process_run_once(platform):
    ws = platform.ws.root
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd = torchrun + ["-m", "kpconsole", "--workspace", str(ws), "sim", "run", str(BASELINE), *QUICK,
                      "--distributed", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout)  # one document: rank 1 printed nothing
    [stored] = sim_reads.list_runs(platform)
    assert printed["id"] == stored.id and stored.replicates == 3
    assert len(sim_reads.list_calibrations(platform)) == 1  # made by rank 0 alone, used by both
    [entry] = audit.entries(platform, action="sim.run")
    assert entry.outcome == "ok" and entry.params["distributed"] == 2
    single = simulate.run_file(platform, BASELINE, days=6, replicates=3)
    got, want = simulate.replicate_values(stored), simulate.replicate_values(single)
    for metric, values in want.items():
        np.testing.assert_allclose(got[metric], values, rtol=1e-12, atol=0, err_msg=metric)
