"""Access screen: an admin lists, grants (with an SSH key) and revokes through the access service;
every other role never sees the screen, and the service refuses them if they reach it anyway."""

from __future__ import annotations

import asyncssh
import pytest
from test_tui_support import as_role, console, notices, press, run_async, screen_text, settle, submit
from test_tui_support import session  # noqa: F401  (a fixture)
from textual.widgets import Input

from kpconsole import access
from kpconsole.identity import Role
from kpconsole.tui.palette import ConsoleCommands
from kpconsole.tui.screens.access_forms import GrantFormScreen, RevokeFormScreen
from kpconsole.tui.screens.help import HelpScreen
from store import access as store_access
from store import audit


@run_async
async def test_an_admin_grants_a_role_with_a_key_sees_its_sshd_line_and_revokes_it(session, tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alice@laptop")
    pub = tmp_path / "alice.pub"
    pub.write_bytes(key.export_public_key("openssh"))
    fingerprint = key.get_fingerprint("sha256")
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "a")
        assert app.current_mode == "access" and "Nobody is granted access yet" in screen_text(app)
        await press(pilot, "g")
        form = app.screen
        assert isinstance(form, GrantFormScreen)
        await submit(pilot, person="alice", role="operator", key=str(pub))
        (grant,) = store_access.list_grants(session.ws)
        assert (grant.person, grant.role, [k.fingerprint for k in grant.keys]) == ("alice", "operator", [fingerprint])
        text = screen_text(app)
        assert "alice   operator" in text and "granted operator to alice" in text
        assert f"key {fingerprint} (ssh-ed25519)" in " ".join(text.split())
        assert "add this line to ~/.ssh/authorized_keys" in text
        await press(pilot, "y")
        line = app.clipboard
        assert line.startswith("restrict,pty,command=") and f"--as alice --key {fingerprint}" in line
        assert line.endswith(pub.read_text().strip())
        await press(pilot, "r")
        assert isinstance(app.screen, RevokeFormScreen)
        assert app.screen.query_one("#person", Input).value == "alice"
        await press(pilot, "ctrl+s")
        assert store_access.list_grants(session.ws) == []
        assert "information: revoked alice (operator, 1 key(s))" in notices(app)
        assert "Nobody is granted access yet" in screen_text(app)
    done = [(e.action, e.target, e.outcome) for e in audit.entries(session.ws, action="access.grant", limit=5)]
    assert done == [("access.grant", "alice", "ok")]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ANALYST])
@run_async
async def test_other_roles_never_see_access_and_the_service_refuses_them_anyway(session, role):
    access.grant(session, "bob", Role.ANALYST)
    app = console(as_role(session, role))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Access" not in screen_text(app).splitlines()[0]  # the nav bar
        assert "Open: Access" not in {c.name for c in ConsoleCommands(app.screen).commands()}
        await press(pilot, "a")
        assert app.current_mode == "overview"
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen) and "a Access" not in screen_text(app)
        await pilot.press("escape")
        await app.run_action("open('access')")
        await settle(pilot)
        assert app.current_mode == "overview"
        app.switch_mode("access")  # reached anyway (not through any key): the service decides
        await settle(pilot)
        assert f"error: {role}-user ({role}) may not access.list: it needs the admin role" in notices(app)
        assert "bob" not in screen_text(app)
    refused = [(e.action, e.outcome) for e in audit.entries(session.ws, action="access.list", limit=5)]
    assert ("access.list", "refused") in refused
