"""Segments screen: profiles as bars, a user's segment and why (the service's answer), a run as a job."""

from __future__ import annotations

import pytest
from test_tui_data import wait_for_job
from test_tui_support import console, notices, platform_workspace, run_async, screen_text, settle
from textual.widgets import DataTable, Input, Select

from kpconsole import jobs
from kpconsole.reads import segments as segment_reads
from kpconsole.services import segments
from kpconsole.services.segments import SegmentRequest
from kpconsole.tui.screens.segment_form import SegmentFormScreen
from kpconsole.tui.widgets.bars import Bars


@pytest.fixture
def session(tmp_path):
    return platform_workspace(tmp_path / "ws")


@run_async
async def test_segment_profiles_show_as_bars_and_a_user_lookup_says_why(session):
    record = segments.run(session, SegmentRequest(data="platform", method="kmeans", k=4, resamples=2))
    view = segment_reads.show(session, record.id, "44")
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert app.screen.query_one("#segments", DataTable).row_count == 4
        bars = app.screen.query_one(Bars)
        assert [v for _, v in bars.items] == [s.users for s in view.segments]
        await pilot.press("b")
        assert [v for _, v in bars.items] == [s.profile["revenue"] for s in view.segments]
        await pilot.press("slash", *"44", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert f"user 44 is in segment {view.member['segment_id']} “{view.member['segment']}”" in text
        assert view.member["why"][0][:40] in text


@pytest.mark.slow
@run_async
async def test_the_segment_form_runs_rfm_as_a_job_and_the_new_segmentation_appears(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, SegmentFormScreen)
        app.screen.query_one("#method", Select).value = "rfm"
        app.screen.query_one("#resamples", Input).value = "0"
        await pilot.press("ctrl+s")
        await settle(pilot)
        job = jobs.list_jobs(session, limit=1)[0]
        assert (job.kind, job.params["method"]) == ("segment", "rfm")
        await wait_for_job(pilot, session, job.id)
        for _ in range(30):
            if any(f"job {job.id} (segment) succeeded" in n for n in notices(app)):
                break
            await pilot.pause(0.1)
        await settle(pilot)
        assert app.screen.query_one("#segmentations", DataTable).row_count == 1
        assert "rfm" in screen_text(app)
