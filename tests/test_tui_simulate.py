"""Simulate screen: run a tiny scenario as a job, see its daily KPI with interval bands, compare
two runs (identical scenarios with common random numbers differ by exactly zero), run an edited
scenario without saving it, calibrate, backtest, see a run's totals and the calibrations."""

from __future__ import annotations

import re

import pytest
from test_tui_support import (SAMPLE, console, fill, newest_job, notices, platform_workspace, press, press_each,
                              run_async, screen_text, settle, submit, wait_for_success, wait_until)
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import DataTable, OptionList, TextArea

from engine.simulate.intervals import mean_interval
from kpconsole import jobs
from kpconsole.reads import simulations as sim_reads
from kpconsole.services import simulate
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.backtest_form import BacktestFormScreen
from kpconsole.tui.screens.calibrate_form import CalibrateFormScreen
from kpconsole.tui.screens.sim_run_form import SimRunFormScreen
from kpconsole.tui.widgets.chart import Chart

SCENARIOS = SAMPLE / "scenarios"


@pytest.mark.slow
@run_async
async def test_a_tiny_scenario_runs_as_a_job_and_its_daily_kpi_is_charted_with_its_band(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "8")
        files = app.screen.query_one("#sim-files", OptionList)
        files.highlighted = app.screen.files.index(SCENARIOS / "baseline.toml")
        await settle(pilot)
        assert app.screen.query_one("#sim-text", TextArea).text == (SCENARIOS / "baseline.toml").read_text()
        await press(pilot, "r")
        assert isinstance(app.screen, SimRunFormScreen)
        await submit(pilot, days="4", replicates="2")
        job = newest_job(session)
        assert (job.kind, job.params["days"], job.params["replicates"]) == ("sim_run", 4, 2)
        await wait_for_success(pilot, session, job)
        run = sim_reads.list_runs(session)[0]
        assert app.screen.query_one("#sim-runs", DataTable).row_count == 1
        chart = app.screen.query_one("#sim-chart", Chart)
        daily = sorted(sim_reads.series(session, run.id, ["dau"]), key=lambda r: r["day"])
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
        await press(pilot, "8")
        app.screen.query_one("#sim-runs", DataTable).focus()
        await press(pilot, "space", "down", "space", "c")
        text = screen_text(app)
        assert f"run {b.id} baseline − run {a.id} baseline" in text
        assert "paired: common random numbers" in text
        app.screen.query_one("#sim-compare")  # the comparison table is shown
        assert "dau" in text and "[0, 0]" in text
        assert all(row["difference"] == 0 for row in sim_reads.compare(session, b.id, a.id).rows)


@pytest.mark.slow
@run_async
async def test_an_edited_scenario_runs_as_it_stands_and_no_file_is_written(session):
    files_before = sorted(SCENARIOS.iterdir())
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "8")
        app.screen.query_one("#sim-files", OptionList).highlighted = app.screen.files.index(SCENARIOS / "baseline.toml")
        await settle(pilot)
        await pilot.press("e")
        area = app.screen.query_one("#sim-text", TextArea)
        edited = area.text.replace('name = "baseline"', 'name = "baseline, edited here"')
        area.load_text(edited)
        area.read_only = False
        await press(pilot, "tab", "r")  # tab leaves the text, r runs it
        assert isinstance(app.screen, SimRunFormScreen) and "as edited on the screen (not saved)" in screen_text(app)
        await submit(pilot, days="2", replicates="1")
        job = newest_job(session)
        assert (job.kind, job.params["text"], job.params["source"]) == (
            "sim_run", edited, f"{SCENARIOS / 'baseline.toml'} (edited)")
        await wait_for_success(pilot, session, job)
        run = sim_reads.get_run(session, int(jobs.show_job(session, job.id).result_id))
        assert (run.name, run.scenario_text, run.days, run.replicates) == ("baseline, edited here", edited, 2, 1)
        assert app.screen.charted == str(run.id)  # the cursor went to the new run
    assert sorted(SCENARIOS.iterdir()) == files_before


@run_async
async def test_calibrating_from_the_screen_stores_a_calibration_and_shows_what_was_fitted(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "8", "w")
        assert isinstance(app.screen, CalibrateFormScreen)
        fill(app.screen, segments="rule")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, CalibrateFormScreen), 600)
        await settle(pilot)
        (calibration,) = sim_reads.list_calibrations(session)
        text = screen_text(app)
        assert f"calibration {calibration.id} of 'platform': 78,707 events" in text and "segments: rule" in text
        segments = [s["segment"] for s in calibration.summary["segments"]]
        assert "per segment" in text and all(name in text for name in segments)
        users = next(line.split() for line in text.splitlines() if line.split()[:1] == ["users"])
        assert users[1:] == [f"{s['users']:,}" for s in calibration.summary["segments"]]
        app.screen.query_one("#sim-panel").focus()
        await press(pilot, "end")  # the rest of the panel, scrolled into view
        assert f"catalog: {calibration.summary['catalog']['items']:,} items" in screen_text(app)
        assert f"information: calibration {calibration.id} of 'platform' stored" in notices(app)


@pytest.mark.slow
@run_async
async def test_a_backtest_runs_as_a_job_and_its_run_shows_the_mape_and_what_happened(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "8", "b")
        assert isinstance(app.screen, BacktestFormScreen)
        await submit(pilot, cut="0.8", replicates="2")
        job = newest_job(session)
        assert (job.kind, job.params) == ("sim_backtest", {"data": "platform", "cut": "0.8", "replicates": 2,
                                                           "seed": 0, "device": "auto"})
        await wait_for_success(pilot, session, job)
        run = sim_reads.get_run(session, int(jobs.show_job(session, job.id).result_id))
        bt = run.summary["backtest"]
        text = screen_text(app)
        assert f"MAPE against what happened: actives {bt['mape_actives']:.1f} % daily" in text
        assert f"revenue {bt['mape_revenue']:.1f} % daily" in text
        simulated, actual = app.screen.query_one("#sim-chart", Chart).series
        happened = sorted(sim_reads.series(session, run.id, ["actual_dau"]), key=lambda r: r["day"])
        assert simulated.label == "dau" and actual.label == "actual dau"
        assert list(actual.values) == [r["mean"] for r in happened]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A workspace with two small runs of the baseline (one calibration) and a second calibration."""
    session = platform_workspace(tmp_path_factory.mktemp("simulated") / "ws")
    runs = [simulate.run_file(session, SCENARIOS / "baseline.toml", days=3, replicates=r) for r in (3, 2)]
    simulate.calibrate(session, "platform", segmentation="rule", seed=1)
    return session, runs


def panel_line(text: str, first_word: str) -> str:
    return next(line for line in text.splitlines() if line.split()[:1] == [first_word])


@run_async
async def test_t_shows_the_highlighted_runs_totals_with_95_percent_intervals_as_sim_show_does(simulated):
    session, (first, second) = simulated
    values = simulate.totals(first, simulate.replicate_values(first))
    mean, low, high = mean_interval(values["dau"])
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "8")
        runs = app.screen.query_one("#sim-runs", DataTable)
        runs.focus()
        runs.move_cursor(row=list(app.screen.runs).index(str(first.id)))
        await press(pilot, "t")
        text = screen_text(app)
        assert f"run {first.id} 'baseline' (run) on 'platform': 3 days × 3 replicates, seed" in text
        assert "headline KPIs (t: every one)" in text
        assert panel_line(text, "dau").split() == ["dau", "mean", short(float(mean)), f"[{short(float(low))},",
                                                   f"{short(float(high))}]"]
        assert "wau" not in text.split()  # not a headline KPI
        await press(pilot, "t")  # again: every KPI, as sim show --all
        text = screen_text(app)
        assert "every KPI (t: the headline ones)" in text
        wau = simulate.totals(first, simulate.replicate_values(first))["wau"]
        assert panel_line(text, "wau").split()[:3] == ["wau", "mean", short(float(mean_interval(wau)[0]))]
        runs.move_cursor(row=list(app.screen.runs).index(str(second.id)))  # the totals follow the cursor
        await settle(pilot)
        assert f"run {second.id} 'baseline' (run) on 'platform': 3 days × 2 replicates" in screen_text(app)
        await press(pilot, "x")
        assert not app.screen.query_one("#sim-panel").display and "run totals" not in screen_text(app)


@run_async
async def test_l_lists_the_calibrations_and_shows_what_the_highlighted_one_fitted(simulated):
    session, _ = simulated
    newest, older = sim_reads.list_calibrations(session)
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "8", "l")
        table = app.screen.query_one("#sim-calibrations", DataTable)
        assert table.display and app.screen.focused is table
        text = screen_text(app)
        assert "id  dataset   events  segments  tastes  made              by" in text
        for c in (newest, older):
            assert re.search(rf"^ *{c.id} +platform +all +{c.segments} +{c.tastes} +{c.created_at[:10]} .* ops *$",
                             text, re.MULTILINE), c
        assert f"calibration {newest.id} of 'platform'" in text and "per segment" in text
        await press(pilot, "down")
        text = screen_text(app)
        assert f"calibration {older.id} of 'platform'" in text
        assert f"calibration {newest.id} of" not in text
        await press(pilot, "enter")  # that calibration alone, the panel focused to scroll through it
        assert not table.display and app.screen.focused is app.screen.query_one("#sim-panel")
        await press(pilot, "end")
        assert f"catalog: {older.summary['catalog']['items']:,} items" in screen_text(app)
        await press(pilot, "l")  # the list again, focused
        assert table.display and app.screen.focused is table
        await press(pilot, "x")  # closed: the focus goes back to the runs
        assert not app.screen.query_one("#sim-panel").display
        assert app.screen.focused is app.screen.query_one("#sim-runs", DataTable)
