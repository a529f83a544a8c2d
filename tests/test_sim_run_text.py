"""``simulate.start_run`` of a scenario's text: an edited scenario runs as a ``sim_run`` job without being written
to a file, after the same checks a file gets; bad text is refused before anything is recorded."""

from __future__ import annotations

import time

import pytest

from conftest import SAMPLE_DATA, tree_state
from engine.simulate.scenario import ScenarioError
from kpconsole import jobs
from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, simulate
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.simulate import SimRunRequest
from store.errors import NotFound

BASELINE = SAMPLE_DATA / "scenarios" / "baseline.toml"


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def wait_until_ended(session, job_id: int, timeout_s: float = 240.0):
    deadline = time.monotonic() + timeout_s
    while (job := jobs.show_job(session, job_id)).active and time.monotonic() < deadline:
        time.sleep(0.2)
    return job


def test_bad_text_or_an_unknown_dataset_is_refused_with_the_source_named_and_nothing_recorded(platform):
    before = tree_state(platform.ws.root), jobs.list_jobs(platform)
    with pytest.raises(ScenarioError, match=r"^baseline\.toml \(edited\): scenario\.colour"):
        simulate.start_run(platform, SimRunRequest(
            BASELINE.read_text().replace("[scenario]\n", '[scenario]\ncolour = "red"\n'), "baseline.toml (edited)"))
    with pytest.raises(ScenarioError, match="not valid TOML"):
        simulate.start_run(platform, SimRunRequest("[scenario\n", "edited"))
    with pytest.raises(NotFound, match="elsewhere"):
        simulate.start_run(platform, SimRunRequest(BASELINE.read_text().replace('"platform"', '"elsewhere"'), "edited"))
    assert (tree_state(platform.ws.root), jobs.list_jobs(platform)) == before


@pytest.mark.slow
def test_an_edited_scenario_runs_as_a_job_and_the_run_keeps_the_edited_text(platform):
    text = BASELINE.read_text().replace('name = "baseline"', 'name = "baseline, edited"')
    assert text != BASELINE.read_text()
    job_id = simulate.start_run(platform, SimRunRequest(text, "baseline.toml (edited)", days=2, replicates=1))
    job = jobs.show_job(platform, job_id)
    assert (job.kind, job.params) == ("sim_run", {"text": text, "source": "baseline.toml (edited)", "days": 2,
                                                  "replicates": 1, "seed": None, "device": "auto"})
    job = wait_until_ended(platform, job_id)
    assert job.status == "succeeded", job.error
    run = sim_reads.get_run(platform, int(job.result_id))
    assert (run.name, run.scenario_text, run.days, run.replicates) == ("baseline, edited", text, 2, 1)
