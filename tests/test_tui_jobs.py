"""Jobs screen: live progress and metrics of a running job, its log, cancel; the console stays
responsive meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_tui_jobkinds
from test_tui_support import console, notices, platform_workspace, press, run_async, screen_text, settle

from kpconsole import jobs
from kpconsole.tui.screens.confirm import ConfirmScreen
from kpconsole.tui.widgets.chart import Chart

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def session(tmp_path, monkeypatch):
    test_tui_jobkinds.enable(monkeypatch, TESTS)
    return platform_workspace(tmp_path / "ws")


@pytest.mark.slow
@run_async
async def test_a_running_job_shows_live_progress_and_its_loss_chart_and_can_be_cancelled(session):
    job_id = jobs.start_job(session, test_tui_jobkinds.KIND, {"steps": 2000, "every": 0.02})
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9")
        seen: set[float] = set()
        for _ in range(100):  # the screen polls every second; wait for three fresh reports
            await pilot.pause(0.1)
            job = app.screen.records.get(job_id)
            if job is not None and job.status == "running":
                seen.add(job.progress)
            if len(seen) >= 3:
                break
        assert len(seen) >= 3, "the job's progress did not move on screen"
        await settle(pilot)
        assert f"job {job_id} tui_wait ▶ running" in screen_text(app)
        await press(pilot, "l")
        chart = app.screen.query_one(Chart)
        assert chart.series and chart.series[0].label == "loss" and len(chart.series[0].values) >= 2
        values = chart.series[0].values
        assert values[-1] < values[0]  # the loss falls as the job reports it
        await press(pilot, "c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        for _ in range(150):
            await pilot.pause(0.1)
            if any(n.endswith(": cancelled") for n in notices(app)):
                break
        assert f"information: job {job_id}: cancelled" in notices(app)
        assert jobs.show_job(session, job_id).status == "cancelled"
        await settle(pilot)
        await press(pilot, "l")
        assert "cancel requested" in screen_text(app)  # the log tail
