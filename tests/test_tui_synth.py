"""Data → g: generate sample data as ``kpconsole data synth`` does — the same checks and one-line
messages (nothing written on a bad value), the same files, and the ingest form offered with the
folder filled in to those who may ingest."""

from __future__ import annotations

import polars as pl
from test_tui_support import as_role, console, notices, press, press_each, run_async, settle, wait_until
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import Input, Select

from kpconsole.identity import Role
from kpconsole.tui.screens.ingest import IngestScreen
from kpconsole.tui.screens.synth_form import SynthFormScreen

CLI_HELP = " (see: kpconsole data synth --help)"


async def open_form(pilot, app, values: dict[str, str]) -> SynthFormScreen:
    await press_each(pilot, "2", "g")
    form = app.screen
    assert isinstance(form, SynthFormScreen)
    for field, text in values.items():
        widget = form.query_one(f"#{field}")
        if isinstance(widget, Select):
            widget.value = {"yes": True, "no": False}.get(text, text)
        else:
            widget.value = text
    return form


@run_async
async def test_bad_synth_values_get_the_clis_own_line_and_nothing_is_written(session, tmp_path, cli):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("keep me\n")
    cases = [  # (form fields, the same values on the command line)
        ({"out": str(tmp_path / "a"), "users": "10"}, [str(tmp_path / "a"), "--users", "10"]),
        ({"out": str(tmp_path / "a"), "days": "0"}, [str(tmp_path / "a"), "--days", "0"]),
        ({"out": str(tmp_path / "a"), "seed": "x"}, [str(tmp_path / "a"), "--seed", "x"]),
        ({"out": str(full)}, [str(full)]),
        ({"out": ""}, []),
    ]
    expected = []
    for _, args in cases:
        result = cli("data", "synth", *args)
        assert result.code == 2 and result.stderr.startswith("kpconsole: data synth: ")
        expected.append(result.stderr.strip().removeprefix("kpconsole: ").removesuffix(CLI_HELP))
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        for (values, _), line in zip(cases, expected, strict=True):
            form = await open_form(pilot, app, values)
            app.notices.clear()
            await press(pilot, "ctrl+s")
            assert notices(app) == [f"error: {line}"], values
            assert app.screen is form  # left open with what was typed
            await press(pilot, "escape")
    assert "10 is not in the range x>=50." in expected[0]
    assert not (tmp_path / "a").exists()
    assert [p.name for p in full.iterdir()] == ["notes.txt"]


@run_async
async def test_synth_writes_what_the_cli_writes_and_offers_the_ingest_form_with_the_folder(session, tmp_path, cli):
    out = tmp_path / "shop"
    assert cli("data", "synth", str(tmp_path / "by-cli"), "--users", "60", "--days", "12", "--seed", "3").code == 0
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot, app, {"out": str(out), "users": "60", "days": "12", "seed": "3"})
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, IngestScreen), 100)
        await settle(pilot)
        users = pl.read_csv(out / "users.csv")
        events = pl.read_csv(out / "events.csv")
        items = pl.read_csv(out / "items.csv")
        assert users.height == 60
        assert notices(app)[-1] == (f"information: wrote {events.height:,} events, 60 users, {items.height:,} items "
                                    f"to {out}; ingest it with the form (esc: not now)")
        for name in ("users", "items", "events", "truth_users", "truth_items"):
            assert (out / f"{name}.csv").read_bytes() == (tmp_path / "by-cli" / f"{name}.csv").read_bytes(), name
        form = app.screen
        assert isinstance(form, IngestScreen)
        assert (form.query_one("#path", Input).value, form.query_one("#name", Input).value) == (str(out), "shop")
        await press(pilot, "escape")
        assert app.screen.__class__.__name__ == "DataScreen"


@run_async
async def test_an_analyst_may_generate_parquet_sample_data_but_is_not_offered_the_ingest_form(session, tmp_path):
    out = tmp_path / "sample"
    out.mkdir()
    (out / "old.txt").write_text("x\n")
    app = console(as_role(session, Role.ANALYST))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot, app, {"out": str(out), "users": "50", "days": "5", "format": "parquet",
                                     "force": "yes"})
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, SynthFormScreen), 100)
        await settle(pilot)
        assert app.screen.__class__.__name__ == "DataScreen"
        assert notices(app)[-1].endswith(f"to {out}; ingesting it needs the operator role")
    assert pl.read_parquet(out / "users.parquet").height == 50
    assert sorted(p.name for p in out.iterdir()) == ["events.parquet", "items.parquet", "old.txt", "truth_items.parquet",
                                                     "truth_users.parquet", "users.parquet"]
