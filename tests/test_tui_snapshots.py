"""SVG snapshots of the main screens at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a fixed clock for every time the store writes, a fixed person, sample data,
no cursor blink, animations off. The Simulate screen is left out: it lists the repository's
scenario folder, which grows with the project (tests/test_tui_simulate.py drives it instead). Update after an intended change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs it writes.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_tui_support import OPS, SAMPLE, console, freeze_clock, platform_workspace, settle

from kpconsole import access
from kpconsole.identity import Role
from kpconsole.services import models, segments, simulate, value
from kpconsole.services.model_requests import TrainRequest
from kpconsole.services.segments import SegmentRequest
from store import jobs as jobs_store

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
ALICE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEjbp88KQFvh9qQ9SMDaoCTmswnNTNZsxYyQDN+jdFp1 alice@laptop\n"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One workspace for every snapshot (they only look): sample data, a model, a segmentation,
    a value fit, a tiny simulation, a finished and a failed job, a person granted access with an
    SSH key — all at FIXED_NOW."""
    patch = pytest.MonkeyPatch()
    freeze_clock(patch)
    patch.setattr(models, "time", SimpleNamespace(perf_counter=lambda: 0.0))  # fit time: no clock either
    try:
        session = platform_workspace(tmp_path_factory.mktemp("snapshots") / "ws", OPS)
        models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3}))
        segments.run(session, SegmentRequest(data="platform", method="kmeans", k=4, resamples=2))
        value.fit(session, value.ValueRequest(data="platform", model="gammagamma"))
        simulate.run_file(session, SAMPLE / "scenarios" / "baseline.toml", days=5, replicates=2)
        finished = jobs_store.create_job(session.ws, "ingest", {"name": "platform"}, "ops")
        jobs_store.report_progress(session.ws, finished, 1.0, "ingested", {"rows": 78707.0})
        jobs_store.finish(session.ws, finished, "succeeded", result_kind="dataset", result_id="platform")
        failed = jobs_store.create_job(session.ws, "ingest", {"name": "broken"}, "ops")
        jobs_store.finish(session.ws, failed, "failed", error="events.csv: row 17: field 'ts': bad timestamp 'x'")
        key = tmp_path_factory.mktemp("keys") / "alice.pub"
        key.write_text(ALICE_KEY)
        access.grant(session, "alice", Role.OPERATOR, os_account="alice", key_file=key)
        yield session
    finally:
        patch.undo()


def keys_then_settle(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        focused = pilot.app.focused
        if focused is not None and hasattr(focused, "cursor_blink"):
            focused.cursor_blink = False  # the cursor shown, not wherever its 0.5 s blink timer left it

    return run_before


SCREENS = {
    "overview": (),
    "data": ("2",),
    "dataset_rows": ("2", "o"),
    "ingest_form": ("2", "i"),
    "models": ("3",),
    "train_form": ("3", "t"),
    "recommend": ("4", "slash", "4", "4", "enter"),
    "segments": ("5",),
    "value": ("6",),
    "community": ("7",),
    "jobs": ("9",),
    "audit": ("0",),
    "help": ("2", "question_mark"),
    "access": ("a",),  # last: listing grants is audited, and the audit snapshots come before it
}


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen_snapshot(screen, size, session, snap_compare):
    app = console(session)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys_then_settle(*SCREENS[screen]))
