"""a Access (admins only): who may use this workspace, with which role, OS user and SSH keys;
grant and revoke — ``kpconsole access list / grant / revoke`` through the same functions.

Listing is itself an audited admin action (``access.list``: it shows who can get in), so the
screen reads the grants when it is opened, after a change and on ``l`` — never on a timer. The
screen is hidden from other roles, and the access service refuses them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from kpconsole import access
from kpconsole.access import GrantOutcome
from kpconsole.tui.formatting import minute
from kpconsole.tui.screens.access_forms import GrantFormScreen, RevokeFormScreen
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.access import GrantRecord

COLUMNS = ("person", "role", "os user", "ssh keys", "granted")


@dataclass
class GrantsListed(Message):
    grants: list[GrantRecord]


def outcome_lines(outcome: GrantOutcome) -> list[str]:
    """What ``access grant`` tells the admin: the grant, the key, and where the sshd line goes."""
    g = outcome.grant
    lines = [f"granted {g.role} to {g.person}" + (f" (OS user {g.os_user})" if g.os_user else "")]
    if outcome.key is not None:
        lines.append(f"key {outcome.key.fingerprint} ({outcome.key.key_type}) registered")
    if outcome.authorized_keys_file:
        lines.append(f"wrote the forced-command line to {outcome.authorized_keys_file}")
    elif outcome.authorized_keys_line:
        lines.append("add this line to ~/.ssh/authorized_keys of the account sshd logs them into (y copies it "
                     "whole; the terminal shows it wrapped):")
        lines.append(outcome.authorized_keys_line)
    return lines


class AccessScreen(ConsoleScreen):
    """Access"""

    MODE = "access"
    TITLE = "Access"
    CSS_PATH = "access.tcss"
    GATED = {"grant": "access.grant", "revoke": "access.revoke", "reload": "access.list"}
    BINDINGS = [
        Binding("g", "grant", "Grant", tooltip="Grant: role or SSH key…", id="access.grant"),
        Binding("r", "revoke", "Revoke", tooltip="Revoke: a person's access…", id="access.revoke"),
        Binding("y", "copy_line", "Copy sshd line", tooltip="Copy: the new key's authorized_keys line",
                id="access.copy_line"),
        Binding("l", "reload", "Reload", tooltip="Reload: grants and keys", id="access.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.grants: dict[str, GrantRecord] = {}
        self.outcome: GrantOutcome | None = None

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="grants", cursor_type="row")
        with VerticalScroll(id="access-panel"):
            yield Static(id="grant-detail")

    def on_mount(self) -> None:
        set_columns(self.query_one("#grants", DataTable), COLUMNS)
        self.query_one("#grants", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.in_thread(lambda: self.post_message(GrantsListed(access.list_grants(self.session))), group="grants")

    def on_grants_listed(self, message: GrantsListed) -> None:
        self.grants = {g.person: g for g in message.grants}
        sync_rows(self.query_one("#grants", DataTable), [
            (g.person, (g.person, g.role, g.os_user or "–", str(len(g.keys)),
                        f"{minute(g.updated_at)} by {g.updated_by}")) for g in message.grants])
        self.show_detail()

    @property
    def selected(self) -> GrantRecord | None:
        key = cursor_key(self.query_one("#grants", DataTable))
        return self.grants.get(key) if key else None

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted person's keys, after what the last grant made (its sshd line to copy)."""
        parts: list = [*outcome_lines(self.outcome), ""] if self.outcome else []
        grant = self.selected
        if grant is None:
            parts.append("Nobody is granted access yet (the workspace owner is always admin): g grants a role, "
                         "with an SSH key for `ssh host` logins.")
        else:
            parts.append(f"{grant.person}: {grant.role}" + (f", OS user {grant.os_user}" if grant.os_user else "")
                         + f"; granted {minute(grant.created_at)} by {grant.created_by}")
            keys = Table(box=None, pad_edge=False, header_style="bold")
            for name in ("ssh key fingerprint", "type", "comment", "added"):
                keys.add_column(name)
            for k in grant.keys:
                keys.add_row(k.fingerprint, k.key_type, k.comment or "–", f"{minute(k.added_at)} by {k.added_by}")
            if grant.keys:
                parts.append(keys)
            elif grant.os_user:
                parts.append(f"no SSH keys: they use kpconsole here as OS user {grant.os_user}")
            else:
                parts.append("no SSH keys and no OS user yet: g adds either")
        self.query_one("#grant-detail", Static).update(Group(*parts))

    # --- changes ------------------------------------------------------------------------------

    def action_grant(self) -> None:
        self.app.push_screen(GrantFormScreen(), self._granted)

    def _granted(self, outcome: GrantOutcome | None) -> None:
        if outcome is not None:
            self.outcome = outcome
            self.action_reload()

    def action_copy_line(self) -> None:
        """The sshd line of the key just granted, to the terminal's clipboard (OSC 52)."""
        line = self.outcome.authorized_keys_line if self.outcome else None
        if not line:
            self.notify("no sshd line to copy: grant a role with an SSH key first (g)", severity="warning")
            return
        self.app.copy_to_clipboard(line)
        self.notify("copied the authorized_keys line (terminals that refuse clipboard access over OSC 52 "
                    "leave the clipboard as it was)")

    def action_revoke(self) -> None:
        grant = self.selected
        if grant is None:
            self.notify("nobody to revoke: no grants yet", severity="warning")
            return
        self.app.push_screen(RevokeFormScreen(grant.person), self._revoked)

    def _revoked(self, grant: GrantRecord | None) -> None:
        if grant is not None:
            self.outcome = None
            self.action_reload()
