"""The Access screen's forms: grant a role (with an SSH key, an OS user, an authorized_keys file)
and revoke one — ``kpconsole access grant`` / ``revoke`` through the same functions, in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label, Select

from kpconsole import access
from kpconsole.access import GrantOutcome
from kpconsole.identity import Role
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.widgets.form_row import FormRow
from kpconsole.tui.widgets.path_suggester import PathSuggester, typed_path

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.access import GrantRecord


@dataclass
class Granted(Message):
    outcome: GrantOutcome


@dataclass
class Revoked(Message):
    grant: GrantRecord


def optional_path(text: str) -> Path | None:
    return typed_path(text) if text else None


class GrantFormScreen(FormScreen[GrantOutcome | None]):
    """Grant access"""

    TITLE_TEXT = "Grant a role to a person (or change it), optionally with their SSH key"
    SUBMIT_LABEL = "Grant"

    def __init__(self, person: str = "") -> None:
        super().__init__()
        self.person = person

    def compose_fields(self) -> ComposeResult:
        yield FormRow("person", Input(self.person, placeholder="a name: letters, digits, '.', '_', '-'", id="person",
                                      compact=True))
        yield FormRow("role", Select([(f"{r.value}", r.value) for r in Role], value=Role.ANALYST.value,
                                     allow_blank=False, id="role", compact=True))
        yield FormRow("ssh key", Input(placeholder="their public key file, e.g. ~/keys/alice.pub [none]", id="key",
                                       suggester=PathSuggester(), compact=True))
        yield FormRow("os user", Input(placeholder="the local OS account they use here [none]", id="os_user",
                                       compact=True))
        yield FormRow("authorized_keys", Input(placeholder="write the sshd line into this file [show it instead]",
                                               id="authorized_keys", suggester=PathSuggester(), compact=True))
        yield Label("analyst: reads · operator: also runs jobs · admin: also data deletion and access",
                    classes="form-note")

    def submit(self) -> None:
        role = access.parse_role(str(self.choice("role")))
        self.in_thread(self._grant, self.text("person"), role, self.text("os_user") or None,
                       optional_path(self.text("key")), optional_path(self.text("authorized_keys")), group="grant")

    def _grant(self, person: str, role: Role, os_user: str | None, key: Path | None, authorized: Path | None) -> None:
        self.post_message(Granted(access.grant(self.app.session, person, role, os_account=os_user, key_file=key,
                                               authorized_keys=authorized)))

    def on_granted(self, message: Granted) -> None:
        grant = message.outcome.grant
        self.notify(f"granted {grant.role} to {grant.person}")
        self.dismiss(message.outcome)


class RevokeFormScreen(FormScreen["GrantRecord | None"]):
    """Revoke access"""

    TITLE_TEXT = "Revoke a person's access: their role and every SSH key (cannot be undone)"
    SUBMIT_LABEL = "Revoke"

    def __init__(self, person: str = "") -> None:
        super().__init__()
        self.person = person

    def compose_fields(self) -> ComposeResult:
        yield FormRow("person", Input(self.person, placeholder="whose access to remove", id="person", compact=True))
        yield FormRow("authorized_keys", Input(placeholder="also remove their kpconsole lines from this file [no]",
                                               id="authorized_keys", suggester=PathSuggester(), compact=True))

    def submit(self) -> None:
        self.in_thread(self._revoke, self.text("person"), optional_path(self.text("authorized_keys")), group="revoke")

    def _revoke(self, person: str, authorized: Path | None) -> None:
        self.post_message(Revoked(access.revoke(self.app.session, person, authorized_keys=authorized)))

    def on_revoked(self, message: Revoked) -> None:
        g = message.grant
        self.notify(f"revoked {g.person} ({g.role}, {len(g.keys)} key(s))")
        self.dismiss(message.grant)
