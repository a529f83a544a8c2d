"""Models screen: train through the form as a job and watch it, compare models, stale models,
evaluate at chosen cut-offs, update with new events as a job and see the drift."""

from __future__ import annotations

import pytest
from test_tui_data import EVENTS_CSV
from test_tui_support import (console, newest_job, notices, press, press_each, run_async, screen_text, submit,
                              wait_for_success)
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import DataTable

from kpconsole.services import datasets, model_evaluation, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.evaluate_form import EvaluateFormScreen
from kpconsole.tui.screens.train import TrainScreen
from kpconsole.tui.screens.update_form import UpdateFormScreen
from kpconsole.tui.widgets.chart import Chart


@pytest.mark.slow
@run_async
async def test_the_training_form_starts_a_job_the_screen_follows_it_and_the_model_appears(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "3", "t")
        form = app.screen
        assert isinstance(form, TrainScreen)
        await submit(pilot, algo="bpr", factors="8", epochs="10")
        job = newest_job(session)
        assert (job.kind, job.params["algo"], job.params["params"]) == ("train", "bpr", {"factors": 8, "epochs": 10})
        await wait_for_success(pilot, session, job)
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
        await press(pilot, "3")
        await press(pilot, "space", "down", "space", "c")
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
        await press(pilot, "3")
        assert "⚠ stale: data changed" in screen_text(app)


@run_async
async def test_a_model_is_evaluated_at_the_chosen_cut_offs_with_the_numbers_the_cli_prints(session):
    model = models.train(session, TrainRequest(data="platform", algo="pop"))
    expected = model_evaluation.evaluate(session, model.id, [5, 20])
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_each(pilot, "3", "e")
        assert isinstance(app.screen, EvaluateFormScreen)
        await submit(pilot, ks="20, 5")
        text = screen_text(app)
        assert f"model {model.id} (pop on 'platform'), full" in text  # the heading wraps at 80 columns
        assert f"ranking, {expected.users:,} test users" in text
        ndcg = next(line.split() for line in text.splitlines() if line.split()[:1] == ["ndcg"])
        assert ndcg == ["ndcg", short(expected.metrics["ndcg@5"]), short(expected.metrics["ndcg@20"])]
        assert "@5" in text and "@20" in text


@pytest.mark.slow
@run_async
async def test_an_update_runs_as_a_job_and_the_new_model_shows_its_drift_against_the_parent(session):
    parent = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3}))
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "3", "u")
        assert isinstance(app.screen, UpdateFormScreen)
        await submit(pilot, epochs="1")
        job = newest_job(session)
        assert (job.kind, job.params) == ("model_update", {"model_id": parent.id, "data": "platform", "epochs": 1,
                                                           "device": "auto"})
        await wait_for_success(pilot, session, job)
        child = models.model_from_job(session, job.id)
        assert app.screen.selected.id == child.id and child.parent_id == parent.id
        text = screen_text(app)
        drift = child.drift
        assert f"drift against the parent, model {parent.id}" in text
        assert f"users          {drift['users']:,} ({drift['new_users']:,} new)" in text
        change = drift["metrics"]["ndcg@10"]
        assert f"ndcg@10: parent {change['parent']:.4f} → update {change['child']:.4f} ({change['change']:+.4f})" in text
        assert app.screen.query_one("#training-chart", Chart).title.startswith(f"job {job.id} model_update succeeded")
