"""The console's shell: screens by number key, help, palette, themes, roles, failures, launch."""

from __future__ import annotations

import pytest
from test_tui_support import as_role, console, notices, press, run_async, screen_text, settle
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import DataTable

from kpconsole.identity import Role
from kpconsole.tui.failures import ERRORS_LOG
from kpconsole.tui.palette import ConsoleCommands
from kpconsole.tui.places import PLACES
from kpconsole.tui.screens.help import HelpScreen
from kpconsole.tui.themes import default_theme


@run_async
async def test_number_keys_switch_screens_and_each_keeps_its_state(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for place in PLACES:
            if place.mode in app.MODES:
                await press(pilot, place.key)
                assert app.current_mode == place.mode
        await press(pilot, "2")
        data_screen = app.screen
        await press(pilot, "9", "2")
        assert app.screen is data_screen
        assert data_screen.query_one("#datasets", DataTable).row_count == 1


@run_async
async def test_question_mark_opens_help_with_the_screen_keys_and_closes_again(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Ingest: file or dump" in text and "Quit: console" in text and "1 Overview" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


@run_async
async def test_palette_names_every_screen_and_the_front_screens_actions(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "2")
        provider = ConsoleCommands(app.screen)
        names = [c.name for c in provider.commands()]
        assert [f"Open: {p.title}" for p in PLACES] == names[: len(PLACES)]
        assert {"Ingest: file or dump…", "Delete: dataset…", "Browse: dataset rows", "Theme: ansi-dark"} <= set(names)
        command = next(c for c in provider.commands() if c.name == "Open: Jobs")
        await command.run()
        await settle(pilot)
        assert app.current_mode == "jobs"


@run_async
async def test_actions_a_role_may_not_do_are_greyed_out_and_left_out_of_the_palette(session):
    app = console(as_role(session, Role.ANALYST))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "2")
        active = {b.binding.id: b.enabled for b in app.screen.active_bindings.values()}
        assert active["data.ingest"] is False and active["data.delete"] is False and active["data.browse"] is True
        names = {c.name for c in ConsoleCommands(app.screen).commands()}
        assert "Ingest: file or dump…" not in names and "Browse: dataset rows" in names
        await pilot.press("i")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "DataScreen"


def test_default_theme_is_ansi_over_ssh_and_truecolor_where_the_terminal_says_so(monkeypatch):
    monkeypatch.delenv("KPCONSOLE_THEME", raising=False)
    monkeypatch.delenv("COLORTERM", raising=False)
    assert default_theme() == "ansi-dark"
    monkeypatch.setenv("COLORTERM", "truecolor")
    assert default_theme() == "textual-dark"
    monkeypatch.setenv("KPCONSOLE_THEME", "ansi-light")
    assert default_theme() == "ansi-light"
    monkeypatch.setenv("KPCONSOLE_THEME", "no-such-theme")
    assert default_theme() == "textual-dark"


@run_async
async def test_animations_are_off_and_no_color_is_respected(session, monkeypatch):
    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    app = console(session, theme="ansi-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.animation_level == "none"
        assert app.no_color  # conftest sets NO_COLOR for every test
        assert app.theme == "ansi-dark"


async def run_in_a_worker(pilot, work) -> None:
    """Run ``work`` as the screen runs its own (a thread worker) and settle what it reports."""
    pilot.app.screen.in_thread(work, group="test")
    await settle(pilot)


@run_async
async def test_a_user_error_in_a_worker_shows_the_clis_one_line_and_the_app_keeps_running(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        from store.errors import NotFound

        def fail():
            raise NotFound("no dataset named 'nope' (known: platform)")

        await run_in_a_worker(pilot, fail)
        assert notices(app)[-1] == "error: no dataset named 'nope' (known: platform)"
        assert app.is_running
        assert not (session.ws.logs_dir / ERRORS_LOG).exists()


@run_async
async def test_a_bug_in_a_worker_is_logged_with_its_traceback_and_shown_as_one_sanitised_line(session):
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def bug():
            secret = "hunter2"  # a local variable a traceback with locals would print
            raise KeyError(secret[:0] + "missing-key")

        await run_in_a_worker(pilot, bug)
        shown = notices(app)[-1]
        log = session.ws.logs_dir / ERRORS_LOG
        assert shown == f"error: internal error (KeyError); details in {log}"
        assert "hunter2" not in shown
        text = log.read_text()
        assert "Traceback" in text and "missing-key" in text and "hunter2" not in text
        assert app.is_running


@run_async
async def test_an_unexpected_crash_goes_to_the_crash_report_not_the_terminal(session, capsys):
    app = console(session)
    with pytest.raises(ZeroDivisionError):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.call_later(lambda: 1 / 0)
            await pilot.pause()
    report = app.crash_report()
    assert "ZeroDivisionError" in report
    captured = capsys.readouterr()
    assert "ZeroDivisionError" not in captured.err and "Traceback" not in captured.err


@run_async
async def test_an_analyst_may_evaluate_but_update_calibrate_and_backtest_are_greyed_out_and_refused(session):
    from textual.widgets import Input

    from kpconsole.services import models
    from kpconsole.services.model_requests import TrainRequest
    from kpconsole.tui.screens.backtest_form import BacktestFormScreen
    from kpconsole.tui.screens.calibrate_form import CalibrateFormScreen
    from kpconsole.tui.screens.update_form import UpdateFormScreen

    model = models.train(session, TrainRequest(data="platform", algo="pop"))
    app = console(as_role(session, Role.ANALYST))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "3")
        active = {b.binding.id: b.enabled for b in app.screen.active_bindings.values()}
        assert (active["models.evaluate"], active["models.update"], active["models.train"]) == (True, False, False)
        await press(pilot, "8")
        active = {b.binding.id: b.enabled for b in app.screen.active_bindings.values()}
        assert not active["simulate.calibrate"] and not active["simulate.backtest"] and not active["simulate.run"]
        for form, action in ((UpdateFormScreen(model, ["platform"]), "model.update"),
                             (CalibrateFormScreen(["platform"], "platform"), "sim.calibrate"),
                             (BacktestFormScreen(["platform"], "platform"), "sim.backtest")):
            app.push_screen(form)  # reached anyway: the service refuses
            await settle(pilot)
            if isinstance(form, BacktestFormScreen):
                form.query_one("#cut", Input).value = "0.8"
            await press(pilot, "ctrl+s")
            assert notices(app)[-1] == f"error: analyst-user (analyst) may not {action}: it needs the operator role"
            assert app.screen is form
            await press(pilot, "escape")


def test_every_place_opens_the_screen_it_names_and_the_modes_are_the_places():
    """The screens are listed once (tui/places.py): the app's modes are made from that list."""
    import importlib

    from kpconsole.tui.app import SCREENS_BY_MODE

    assert list(SCREENS_BY_MODE) == [p.mode for p in PLACES]
    for place in PLACES:
        module, name = place.screen.split(":")
        screen = getattr(importlib.import_module(f"kpconsole.tui.screens.{module}"), name)
        assert screen.MODE == place.mode
