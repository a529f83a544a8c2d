"""Segments screen: profiles as bars, a user's segment and why (the service's answer), a run as a job."""

from __future__ import annotations

import pytest
from test_tui_support import console, newest_job, press, press_each, run_async, screen_text, submit, wait_for_success
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import DataTable

from kpconsole.reads import segments as segment_reads
from kpconsole.services import segments
from kpconsole.services.segments import SegmentRequest
from kpconsole.tui.screens.segment_form import SegmentFormScreen
from kpconsole.tui.widgets.bars import Bars


@run_async
async def test_segment_profiles_show_as_bars_and_a_user_lookup_says_why(session):
    record = segments.run(session, SegmentRequest(data="platform", method="kmeans", k=4, resamples=2))
    view = segment_reads.show(session, record.id, "44")
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "5")
        assert app.screen.query_one("#segments", DataTable).row_count == 4
        bars = app.screen.query_one(Bars)
        assert [v for _, v in bars.items] == [s.users for s in view.segments]
        await pilot.press("b")
        assert [v for _, v in bars.items] == [s.profile["revenue"] for s in view.segments]
        await press(pilot, "slash", *"44", "enter")
        text = screen_text(app)
        assert f"user 44 is in segment {view.member['segment_id']} “{view.member['segment']}”" in text
        assert view.member["why"][0][:40] in text


@pytest.mark.slow
@run_async
async def test_the_segment_form_runs_rfm_as_a_job_and_the_new_segmentation_appears(session):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press_each(pilot, "5", "r")
        assert isinstance(app.screen, SegmentFormScreen)
        await submit(pilot, method="rfm", resamples="0")
        job = newest_job(session)
        assert (job.kind, job.params["method"]) == ("segment", "rfm")
        await wait_for_success(pilot, session, job)
        assert app.screen.query_one("#segmentations", DataTable).row_count == 1
        assert "rfm" in screen_text(app)
