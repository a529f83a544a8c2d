"""o on Recommend, Segments, Value, Simulate and Community: a path prompt, then the export the
CLI's --out writes — the same file, atomically; a bad path is one line naming the field, the form
stays open and nothing is written."""

from __future__ import annotations

import polars as pl
import pytest
from test_tui_support import (SAMPLE, console, ingest_qc, notices, platform_workspace, press, press_each, run_async,
                              show_community, submit)
from textual.widgets import Input

from kpconsole.services import models, segments, simulate, value
from kpconsole.services.model_requests import TrainRequest
from kpconsole.services.segments import SegmentRequest
from kpconsole.tui.screens.export_form import ExportFormScreen


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    session = platform_workspace(tmp_path_factory.mktemp("exports") / "ws")
    ingest_qc(session)
    models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3}))
    segments.run(session, SegmentRequest(data="platform", method="kmeans", k=4, resamples=2))
    value.fit(session, value.ValueRequest(data="platform", model="gammagamma"))
    simulate.run_file(session, SAMPLE / "scenarios" / "baseline.toml", days=5, replicates=2)
    return session


async def open_export(pilot, app, keys: tuple[str, ...]):
    """Go to the screen the keys lead to and press o there; the screen on top (the export form)."""
    await press_each(pilot, *keys, "o")
    return app.screen


async def export_from(pilot, app, keys: tuple[str, ...], path) -> ExportFormScreen:
    form = await open_export(pilot, app, keys)
    assert isinstance(form, ExportFormScreen)
    await submit(pilot, out=str(path))
    return form


# (screen keys, the CLI's export of the same thing, what the form suggests as the file name)
CASES = {
    "segments": (("5",), ["segment", "export", "1"], "segments-1.parquet"),
    "value": (("6",), ["value", "export", "1"], "value-1.parquet"),
    "simulate": (("8",), ["sim", "show", "1"], "run-1.csv"),
    "recommend": (("4",), ["recommend", "--all", "--model", "1", "-k", "10"], "recommendations-1.parquet"),
}


@pytest.mark.parametrize("screen", CASES)
@run_async
async def test_each_screen_exports_the_file_the_cli_writes(session, tmp_path, cli, screen):
    keys, cli_args, suggested = CASES[screen]
    by_cli = tmp_path / ("cli" + suggested[suggested.index("."):])
    done = cli("--workspace", str(session.ws.root), *cli_args, "--out", str(by_cli))
    assert done.code == 0, done.stderr
    mine = tmp_path / suggested
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_export(pilot, app, keys)
        assert isinstance(form, ExportFormScreen) and form.query_one("#out", Input).value == suggested
        await submit(pilot, out=str(mine))
        assert not isinstance(app.screen, ExportFormScreen)
        assert any(n.startswith("information: wrote ") and str(mine) in n for n in notices(app)), notices(app)
    read = pl.read_parquet if suggested.endswith(".parquet") else pl.read_csv
    assert read(mine).equals(read(by_cli))


@run_async
async def test_a_bad_path_is_one_line_naming_the_field_and_nothing_is_written(session, tmp_path):
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await export_from(pilot, app, ("5",), tmp_path / "no-such-folder" / "s.parquet")
        assert app.screen is form  # left open with what was typed
        assert notices(app)[-1] == (f"error: out {tmp_path / 'no-such-folder' / 's.parquet'}: folder "
                                    f"{tmp_path / 'no-such-folder'} does not exist")
        await submit(pilot, out=str(tmp_path / "s.txt"))
        assert "suffix '.txt' names no export format" in notices(app)[-1] and app.screen is form
        await press(pilot, "escape")
    assert list(tmp_path.iterdir()) == []


@run_async
async def test_community_exports_the_suggested_answerers_of_every_unanswered_question(session, tmp_path, cli):
    by_cli = tmp_path / "cli.csv"
    done = cli("--workspace", str(session.ws.root), "route", "unanswered", "--data", "qc", "--all", "--out", str(by_cli))
    assert done.code == 0, done.stderr
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_community(pilot, "qc")
        await export_from(pilot, app, (), tmp_path / "mine.csv")
    assert pl.read_csv(tmp_path / "mine.csv").equals(pl.read_csv(by_cli))
    assert pl.read_csv(by_cli).height == 43 * 3
