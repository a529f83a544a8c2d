"""Simulate screen: run a tiny scenario as a job, see its daily KPI with interval bands, compare
two runs (identical scenarios with common random numbers differ by exactly zero)."""

from __future__ import annotations

import pytest
from test_tui_data import wait_for_job
from test_tui_support import SAMPLE, console, notices, platform_workspace, run_async, screen_text, settle
from textual.widgets import DataTable, Input, OptionList, TextArea

from kpconsole import jobs
from kpconsole.services import simulate
from kpconsole.tui.screens.sim_run_form import SimRunFormScreen
from kpconsole.tui.widgets.chart import Chart

SCENARIOS = SAMPLE / "scenarios"


@pytest.fixture
def session(tmp_path):
    return platform_workspace(tmp_path / "ws")


@pytest.mark.slow
@run_async
async def test_a_tiny_scenario_runs_as_a_job_and_its_daily_kpi_is_charted_with_its_band(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await settle(pilot)
        files = app.screen.query_one("#sim-files", OptionList)
        files.highlighted = app.screen.files.index(SCENARIOS / "baseline.toml")
        await settle(pilot)
        assert app.screen.query_one("#sim-text", TextArea).text == (SCENARIOS / "baseline.toml").read_text()
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, SimRunFormScreen)
        app.screen.query_one("#days", Input).value = "4"
        app.screen.query_one("#replicates", Input).value = "2"
        await pilot.press("ctrl+s")
        await settle(pilot)
        job = jobs.list_jobs(session, limit=1)[0]
        assert (job.kind, job.params["days"], job.params["replicates"]) == ("sim_run", 4, 2)
        await wait_for_job(pilot, session, job.id)
        for _ in range(30):
            if any(f"job {job.id} (sim_run) succeeded" in n for n in notices(app)):
                break
            await pilot.pause(0.1)
        await settle(pilot)
        run = simulate.list_runs(session)[0]
        assert app.screen.query_one("#sim-runs", DataTable).row_count == 1
        chart = app.screen.query_one("#sim-chart", Chart)
        daily = sorted(simulate.series(session, run.id, ["dau"]), key=lambda r: r["day"])
        (shown,) = chart.series
        assert list(shown.values) == [r["mean"] for r in daily]
        assert list(shown.low) == [r["low"] for r in daily] and list(shown.high) == [r["high"] for r in daily]


@pytest.mark.slow
@run_async
async def test_two_identical_runs_compare_with_zero_differences(session):
    a = simulate.run_file(session, SCENARIOS / "baseline.toml", days=3, replicates=2)
    b = simulate.run_file(session, SCENARIOS / "baseline.toml", days=3, replicates=2)
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await settle(pilot)
        app.screen.query_one("#sim-runs", DataTable).focus()
        await pilot.press("space", "down", "space", "c")
        await settle(pilot)
        text = screen_text(app)
        assert f"run {b.id} baseline − run {a.id} baseline" in text
        assert "paired: common random numbers" in text
        table = app.screen.query_one("#sim-compare")
        assert "dau" in text and "[0, 0]" in text
        assert all(row["difference"] == 0 for row in simulate.compare(session, b.id, a.id).rows)
