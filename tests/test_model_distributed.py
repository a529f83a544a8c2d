"""BPR-MF and NCF under torch.distributed (DDP, gloo, 2 CPU processes): the run completes, the
model is registered once, and its metrics match the single-process run with the same seed.

Every process draws the same batches and negatives from the seed and trains on its half of
each batch; DDP averages the gradients, which equals the single-process gradient of the whole
batch, so the two runs differ only by floating-point summation order. Stated tolerance: 1e-4
absolute on every metric (observed: equal to ~1e-7).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_DATA

from kpconsole.reads import models as model_reads
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest

TOLERANCE = 1e-4


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def assert_same_metrics(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert b[key] == pytest.approx(value, abs=TOLERANCE), key


@pytest.mark.slow
@pytest.mark.parametrize("algo, params", [("bpr", {"epochs": 3, "factors": 16}),
                                          ("ncf", {"epochs": 2, "factors": 8, "layers": "16-8"})])
def test_ddp_with_two_gloo_processes_matches_one_process(platform, algo, params):
    single = models.train(platform, TrainRequest(data="platform", algo=algo, params=params))
    seen = []
    spread = models.train(platform, TrainRequest(data="platform", algo=algo, params=params, distributed=2),
                          lambda f, m="", x=None: seen.append(m))
    assert [m.id for m in model_reads.list_models(platform)] == [spread.id, single.id]
    assert_same_metrics(single.metrics, spread.metrics)
    assert spread.fit["epochs"] == params["epochs"]
    assert any(m.startswith(f"epoch {params['epochs']}/") for m in seen)


def test_item_side_models_refuse_distributed_training():
    with pytest.raises(Exception, match="als does not train under torch.distributed"):
        TrainRequest(data="platform", algo="als", distributed=2)


@pytest.mark.slow
def test_a_torchrun_launch_registers_the_model_once(platform):
    ws = platform.ws.root
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd = torchrun + ["-m", "kpconsole", "--workspace", str(ws), "model", "train", "--data", "platform",
                      "--algo", "bpr", "--epochs", "2", "--factors", "8", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert [m.id for m in model_reads.list_models(platform)] == [record["id"]]
    single = models.train(platform, TrainRequest(data="platform", algo="bpr", params={"epochs": 2, "factors": 8}))
    assert_same_metrics(single.metrics, record["metrics"])
