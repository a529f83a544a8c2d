"""Recommend screen: look a user up with completion, the same list and reasons the service (and
so the CLI) gives, diversity λ and K at one key, and an unknown user gets the cold-start list."""

from __future__ import annotations

import pytest
from test_tui_support import console, platform_workspace, press, run_async, screen_text, settle
from textual.widgets import DataTable

from kpconsole.services import models
from kpconsole.services.model_requests import TrainRequest
from kpconsole.services.recommend import recommend


@pytest.fixture
def trained(tmp_path):
    session = platform_workspace(tmp_path / "ws")
    model = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3}))
    return session, model


def shown_items(app) -> list[str]:
    table = app.screen.query_one("#recommend-items", DataTable)
    return [table.get_row_at(i)[1] for i in range(table.row_count)]


@run_async
async def test_a_user_looked_up_gets_the_services_list_with_reasons_and_lambda_changes_it(trained):
    session, model = trained
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "4")
        assert await app.screen.suggester.get_suggestion("10") == "10"[:2] + "0"  # IDs complete: "10" → "100"
        await press(pilot, "slash", *"44", "enter")
        expected = recommend(session, model.id, "44", 10, explain=True)
        assert shown_items(app) == [str(row["item_id"]) for row in expected.items]
        table = app.screen.query_one("#recommend-items", DataTable)
        assert table.get_row_at(0)[5] == expected.items[0]["because"]
        assert f"user 44 (known user) · model #{model.id}" in screen_text(app)
        await press(pilot, "l")
        diverse = recommend(session, model.id, "44", 10, explain=True, diversity=0.3)
        assert shown_items(app) == [str(row["item_id"]) for row in diverse.items]
        assert "diversity λ 0.3" in screen_text(app)
        await press(pilot, "plus")
        assert len(shown_items(app)) == 15
        await press(pilot, "slash", "ctrl+a", "ctrl+k", *"someone-new", "enter")
        cold = recommend(session, model.id, "someone-new", 15, explain=True, diversity=0.3)
        assert f"user someone-new (not in the model's data) · model #{model.id} · {cold.source}" in screen_text(app)
        assert shown_items(app) == [str(row["item_id"]) for row in cold.items]


@run_async
async def test_a_hybrid_model_explains_its_list_in_the_tags_of_what_the_user_did(tmp_path):
    from test_tui_support import SAMPLE

    from kpconsole.services import datasets
    from kpconsole.services.datasets import IngestRequest
    from kpconsole.services.recommend import NO_PERSONAL_REASON

    session = platform_workspace(tmp_path / "ws")
    datasets.ingest(session, IngestRequest(path=SAMPLE / "stackexchange" / "quantumcomputing", name="qc"))
    model = models.train(session, TrainRequest(data="qc", algo="hybrid", params={"epochs": 3}))
    expected = recommend(session, model.id, "1837", 10, explain=True)
    because = [row["because"] for row in expected.items]
    assert all(b.startswith("because you ") and " questions tagged " in b or b == NO_PERSONAL_REASON
               for b in because) and sum(" questions tagged " in b for b in because) >= 8, because
    app = console(session)
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "4")
        app.screen.query_one("#recommend-model").value = model.id
        await settle(pilot)
        await press(pilot, "slash", *"1837", "enter")
        table = app.screen.query_one("#recommend-items", DataTable)
        assert shown_items(app) == [str(row["item_id"]) for row in expected.items]
        assert [table.get_row_at(i)[5] for i in range(table.row_count)] == [row["because"] for row in expected.items]
