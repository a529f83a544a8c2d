"""SVG snapshots of the main screens at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a fixed clock for every time the store writes, a fixed person, sample data,
no cursor blink, animations off. Update after an intended change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs it writes.
"""

from __future__ import annotations

import pytest
from test_tui_support import OPS, console, freeze_clock, platform_workspace, settle

from store import jobs as jobs_store

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture
def session(tmp_path, monkeypatch):
    freeze_clock(monkeypatch)
    session = platform_workspace(tmp_path / "ws", OPS)
    finished = jobs_store.create_job(session.ws, "ingest", {"name": "platform"}, "ops")
    jobs_store.report_progress(session.ws, finished, 1.0, "ingested", {"rows": 78707.0})
    jobs_store.finish(session.ws, finished, "succeeded", result_kind="dataset", result_id="platform")
    failed = jobs_store.create_job(session.ws, "ingest", {"name": "broken"}, "ops")
    jobs_store.finish(session.ws, failed, "failed", error="events.csv: row 17: field 'ts': bad timestamp 'x'")
    return session


def keys_then_settle(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


SCREENS = {
    "data": ("2",),
    "dataset_rows": ("2", "o"),
    "ingest_form": ("2", "i"),
    "jobs": ("9",),
    "audit": ("0",),
    "help": ("2", "question_mark"),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen_snapshot(screen, size, session, snap_compare):
    app = console(session)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_then_settle(*SCREENS[screen]))
