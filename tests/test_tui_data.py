"""Data screens: the dataset list, rows paged from Parquet, ingest as a job, delete; Jobs and
Audit screens watching them."""

from __future__ import annotations


import pytest
from conftest import tree_state
from test_tui_support import (as_role, console, newest_job, notices, press, press_each, run_async, screen_text, settle,
                              submit, wait_for_success)
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import DataTable

from kpconsole.identity import Role
from kpconsole.services import datasets
from kpconsole.tui.screens.confirm import ConfirmScreen
from kpconsole.tui.screens.dataset import DatasetScreen
from kpconsole.tui.screens.ingest import IngestScreen
from kpconsole.tui.widgets.parquet_table import PAGE_ROWS, ParquetTable
from store import audit

EVENTS_CSV = "user_id,item_id,kind,ts,value,amount\n" + "".join(
    f"u{i % 7},i{i % 5},{'purchase' if i % 9 == 0 else 'view'},2026-02-{1 + i % 27:02d} 10:00:00,1,"
    f"{'9.9' if i % 9 == 0 else '0'}\n" for i in range(60)
)


@run_async
async def test_data_screen_lists_each_dataset_with_its_counts_and_time_range(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "2")
        text = screen_text(app)
        assert "platform  folder  78,707  1,000  1,838  2026-01-01  2026-06-29" in text
        assert "view" in text and "54,558" in text  # event kinds as bars with their counts


@run_async
async def test_a_dataset_opens_as_rows_paged_from_parquet_never_the_whole_table(session):
    record = datasets.get(session, "platform")
    events = datasets.load(record, "events").collect()
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_each(pilot, "2", "o")
        assert isinstance(app.screen, DatasetScreen)
        table = app.screen.query_one(ParquetTable)
        assert table.view.n_rows == events.height
        first = events.row(0, named=True)
        assert table.row_text(0)[:3] == (str(first["user_id"]), str(first["item_id"]), first["kind"])
        await press(pilot, "end")
        last = events.row(events.height - 1, named=True)
        assert table.cursor_row == events.height - 1
        assert table.row_text(events.height - 1)[:3] == (str(last["user_id"]), str(last["item_id"]), last["kind"])
        loaded = sum(table.row_text(r) is not None for r in range(0, events.height, PAGE_ROWS))
        assert loaded <= 6  # the first and last pages and their neighbours, not 308 pages
        assert f"row {events.height:,} of {events.height:,}" in screen_text(app)
        await press(pilot, "t")
        assert table.view.key.startswith("platform/users/")
        await press(pilot, "escape")
        assert app.screen.__class__.__name__ == "DataScreen"


@pytest.mark.slow
@run_async
async def test_the_ingest_form_starts_a_job_and_the_new_dataset_appears_when_it_ends(session, tmp_path):
    source = tmp_path / "shop.csv"
    source.write_text(EVENTS_CSV)
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_each(pilot, "2", "i")
        form = app.screen
        assert isinstance(form, IngestScreen)
        await submit(pilot, path=str(source), name="shop")
        assert not isinstance(app.screen, IngestScreen), notices(app)
        job = newest_job(session)
        assert job.kind == "ingest" and job.params["name"] == "shop"
        await wait_for_success(pilot, session, job)
        assert f"information: job {job.id} (ingest) succeeded → dataset shop" in notices(app)
        assert app.screen.query_one("#datasets", DataTable).row_count == 2
        assert datasets.get(session, "shop").profile["n_events"] == 60


@run_async
async def test_an_analyst_submitting_the_ingest_form_is_refused_with_one_line_and_it_is_audited(session, tmp_path):
    source = tmp_path / "shop.csv"
    source.write_text(EVENTS_CSV)
    analyst = as_role(session, Role.ANALYST)
    before = tree_state(session.ws.root)
    app = console(analyst)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(IngestScreen())  # the key is greyed out; the form still asks the service
        await settle(pilot)
        await submit(pilot, path=str(source), name="shop")
        assert notices(app)[-1] == ("error: analyst-user (analyst) may not data.ingest: it needs the operator role")
    assert tree_state(session.ws.root) == before
    assert [d.name for d in datasets.list_datasets(session)] == ["platform"]
    refused = audit.entries(session.ws, action="data.ingest", limit=1)[0]
    assert (refused.actor, refused.outcome) == ("analyst-user", "refused")


@run_async
async def test_delete_asks_first_and_then_removes_the_dataset(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_each(pilot, "2", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert [d.name for d in datasets.list_datasets(session)] == ["platform"]
        await press_each(pilot, "d", "y")
        assert datasets.list_datasets(session) == []
        assert "No datasets yet" in screen_text(app)


@run_async
async def test_audit_screen_shows_who_did_what_and_filters_by_action(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "0")
        text = screen_text(app)
        assert "ops" in text and "data.ingest" in text and "✓ ok" in text
        await pilot.press("slash")
        await press(pilot, *"model.")
        assert app.screen.query_one("#audit", DataTable).row_count == 0
        await press(pilot, "escape")
        assert app.screen.query_one("#audit", DataTable).row_count == 1
