"""Models screen: train through the form as a job and watch it, compare models, stale models."""

from __future__ import annotations

import pytest
from test_tui_data import EVENTS_CSV, wait_for_job
from test_tui_support import console, notices, platform_workspace, run_async, screen_text, settle
from textual.widgets import DataTable, Input, Select

from kpconsole import jobs
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.tui.screens.train import TrainScreen
from kpconsole.tui.widgets.chart import Chart


@pytest.fixture
def session(tmp_path):
    return platform_workspace(tmp_path / "ws")


@pytest.mark.slow
@run_async
async def test_the_training_form_starts_a_job_the_screen_follows_it_and_the_model_appears(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TrainScreen)
        form.query_one("#algo", Select).value = "bpr"
        form.query_one("#factors", Input).value = "8"
        form.query_one("#epochs", Input).value = "10"
        await pilot.press("ctrl+s")
        await settle(pilot)
        job = jobs.list_jobs(session, limit=1)[0]
        assert (job.kind, job.params["algo"], job.params["params"]) == ("train", "bpr", {"factors": 8, "epochs": 10})
        await wait_for_job(pilot, session, job.id)
        for _ in range(30):
            if any(f"job {job.id} (train) succeeded" in n for n in notices(app)):
                break
            await pilot.pause(0.1)
        await settle(pilot)
        model = models.model_from_job(session, job.id)
        assert f"information: job {job.id} (train) succeeded → model {model.id}" in notices(app)
        table = app.screen.query_one("#models", DataTable)
        assert table.row_count == 1
        text = screen_text(app)
        assert f"{model.metrics['ndcg@10']:.4f}" in text and "bpr" in text
        chart = app.screen.query_one("#training-chart", Chart)
        assert chart.title.startswith(f"job {job.id} train succeeded 100%")


@run_async
async def test_marked_models_are_compared_side_by_side_with_the_best_of_each_metric_starred(session):
    pop = models.train(session, TrainRequest(data="platform", algo="pop"))
    als = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3}))
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("space", "down", "space", "c")
        await settle(pilot)
        text = screen_text(app)
        assert f"#{als.id} als" in text and f"#{pop.id} pop" in text
        best = max(pop.metrics["ndcg@10"], als.metrics["ndcg@10"])
        assert f"{best:.4f} ★" in text


@run_async
async def test_a_model_whose_dataset_changed_since_training_is_marked_stale(session, tmp_path):
    models.train(session, TrainRequest(data="platform", algo="pop"))
    source = tmp_path / "other.csv"
    source.write_text(EVENTS_CSV)
    datasets.ingest(session, IngestRequest(path=source, name="platform", replace=True))
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        assert "⚠ stale: data changed" in screen_text(app)
