"""0 Audit: who did what, when, from where, and how it ended (newest first, filter by action)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from kpconsole.reads import audit
from kpconsole.tui.formatting import minute
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.audit import AuditEntry

COLUMNS = ("when (UTC)", "who", "role", "action", "target", "outcome")
OUTCOME_MARK = {"ok": "✓ ok", "error": "✗ error", "refused": "⊘ refused"}
LIMIT = 500
POLL_SECONDS = 2.0


@dataclass
class AuditCollected(Message):
    entries: list[AuditEntry]


class AuditScreen(ConsoleScreen):
    """Audit log"""

    MODE = "audit"
    TITLE = "Audit"
    CSS_PATH = "audit.tcss"
    BINDINGS = [
        Binding("slash", "filter", "Filter", tooltip="Filter: audit by action", id="audit.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Clear: audit filter",
                id="audit.clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, AuditEntry] = {}
        self.refresher = self.poll("audit", self._collect, POLL_SECONDS)

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="/ filter by action prefix, e.g. data. or model.train", id="audit-filter",
                    compact=True)
        yield DataTable(id="audit", cursor_type="row")
        yield Static(id="audit-detail")

    def on_mount(self) -> None:
        table = self.query_one("#audit", DataTable)
        set_columns(table, COLUMNS)
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresher.now()

    def _collect(self) -> AuditCollected:
        prefix = self.query_one("#audit-filter", Input).value.strip() or None
        return AuditCollected(audit.entries(self.session, action=prefix, limit=LIMIT))

    def on_audit_collected(self, message: AuditCollected) -> None:
        self.entries = {str(e.id): e for e in message.entries}
        rows = [(str(e.id), (minute(e.at), e.actor, e.role or "–", e.action, e.target or "–",
                             OUTCOME_MARK.get(e.outcome, e.outcome))) for e in message.entries]
        with self.app.batch_update():
            sync_rows(self.query_one("#audit", DataTable), rows)
            self.show_detail()

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        key = cursor_key(self.query_one("#audit", DataTable))
        entry = self.entries.get(key) if key else None
        detail = self.query_one("#audit-detail", Static)
        if entry is None:
            detail.update("No audit entries" + (" match the filter." if self.entries == {} else "."))
            return
        where = " ".join(x for x in (entry.os_user and f"os user {entry.os_user}",
                                     entry.remote_addr and f"from {entry.remote_addr}",
                                     entry.ssh_key and f"key {entry.ssh_key}") if x)
        detail.update(f"{entry.action} {entry.target or ''} — {entry.outcome}"
                      f"{': ' + entry.detail if entry.detail else ''}\n{where}")

    def on_input_changed(self) -> None:
        self.refresher.now()

    def on_input_submitted(self) -> None:
        self.query_one("#audit", DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#audit-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#audit-filter", Input).value = ""
        self.query_one("#audit", DataTable).focus()
