"""Training as a job (kind ``train``): recorded, resumable from its checkpoint, detachable."""

from __future__ import annotations

import json
import time

import pytest
import torch
from conftest import SAMPLE_DATA, run_cli

from engine.progress import Cancelled
from engine.recommend.artifact import load_bundle
from kpconsole.jobs import resume_job, show_job
from kpconsole.reads import models as model_reads
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def test_a_training_job_registers_its_model_with_the_job_id(platform):
    job_id = models.start_training(platform, TrainRequest(data="platform", algo="itemknn"), detach=False)
    job = show_job(platform, job_id)
    assert job.status == "succeeded" and job.kind == "train" and job.result_kind == "model"
    record = models.model_from_job(platform, job_id)
    assert record.job_id == job_id and record.algo == "itemknn"


def test_a_cancelled_training_job_resumes_from_its_last_epoch_to_the_same_model(platform):
    request = TrainRequest(data="platform", algo="bpr", params={"epochs": 5, "factors": 8})
    straight = models.train(platform, request)

    def stop_at_epoch_3(fraction, message="", metrics=None):
        if message.startswith("epoch 3/"):
            raise Cancelled("stop")

    job_id = models.start_training(platform, request, detach=False, progress=stop_at_epoch_3)
    assert show_job(platform, job_id).status == "cancelled"
    with pytest.raises(Exception, match="no model"):
        models.model_from_job(platform, job_id)
    assert [m.id for m in model_reads.list_models(platform)] == [straight.id]
    resume_job(platform, job_id, detach=False)
    job = show_job(platform, job_id)
    assert job.status == "succeeded"
    resumed = models.model_from_job(platform, job_id)
    assert resumed.fit["resumed_from"] == 3 and resumed.fit["epochs"] == 5
    a = load_bundle(straight.artifact_path, "cpu").model.state_dict()
    b = load_bundle(resumed.artifact_path, "cpu").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics == straight.metrics


def test_a_bad_request_fails_before_any_job_is_recorded(platform):
    with pytest.raises(Exception, match="'factors' does not apply to pop"):
        models.start_training(platform, TrainRequest(data="platform", algo="pop", params={"factors": 3}))
    with pytest.raises(Exception, match="no dataset named 'nope'"):
        models.start_training(platform, TrainRequest(data="nope", algo="als"))
    from kpconsole.jobs import list_jobs

    assert list_jobs(platform) == []


@pytest.mark.slow
def test_model_train_detach_runs_in_the_background_and_shows_in_jobs_list(platform):
    ws = platform.ws.root
    started = run_cli(["model", "train", "--data", "platform", "--algo", "pop", "--detach", "--json"], ws)
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["job_id"]
    deadline = time.monotonic() + 120
    while show_job(platform, job_id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    job = show_job(platform, job_id)
    assert job.status == "succeeded", job.error
    listed = json.loads(run_cli(["jobs", "list", "--json"], ws).stdout)
    assert any(j["id"] == job_id and j["kind"] == "train" for j in listed)
    assert models.model_from_job(platform, job_id).algo == "pop"
