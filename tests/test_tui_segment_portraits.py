"""Segments screen: each segment's portrait — what sets it apart, by lift — as the CLI words it."""

from __future__ import annotations

from test_tui_support import console, press, run_async, screen_text
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import Static

from kpconsole.services import segments
from kpconsole.services.segment_portraits import portrait
from kpconsole.services.segments import SegmentRequest


@run_async
async def test_the_segments_screen_shows_what_sets_each_segment_apart(session):
    segments.run(session, SegmentRequest(data="platform", method="kmeans", k=4, resamples=0))
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "5")
        view = app.screen.view  # what the screen was given: the service's answer
        assert len(view.segments) == 4
        shown = str(app.screen.query_one("#segment-portraits", Static).render())
        assert shown.startswith("What sets each apart (lift = share in segment / share overall)")
        for s in view.segments:
            assert f"{s.segment_id} {s.name}: {portrait(s.profile)}" in shown
        text = screen_text(app)
        assert "renew ×" in text and "answer ×" in text  # the members' and the contributors' marks, on screen
