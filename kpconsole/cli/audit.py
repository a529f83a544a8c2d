"""``kpconsole audit``: who did what, when, from where, and how it ended."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import typer

from kpconsole.cli import common
from kpconsole.errors import ConsoleError
from store import audit as store_audit
from store.audit import AuditEntry

RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
OUTCOMES = {"ok": "✓ ok", "error": "✗ error", "refused": "✗ refused"}


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def parse_since(text: str, now: dt.datetime | None = None) -> str:
    """``2h``, ``30m``, ``1d``, ``2w`` ago, or an ISO date/time (UTC when it has no offset), as
    the store's ISO-8601 UTC text.

    >>> parse_since("2h", dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))
    '2026-01-01T10:00:00.000+00:00'
    """
    now = now or dt.datetime.now(dt.UTC)
    match = RELATIVE.match(text.strip().lower())
    if match:
        when = now - dt.timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            when = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise ConsoleError(
                f"--since {text!r}: expected an age such as 30m, 2h, 1d, 2w or an ISO time such as 2026-11-27T08:00"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def audit(
    since: Annotated[str | None, typer.Option("--since", help="Only entries since: 30m, 2h, 1d, 2w or an ISO time.")] = None,
    action: Annotated[str | None, typer.Option("--action", "-a", help="Only actions starting with this, e.g. data. "
                                               "or access.grant")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")] = 100,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """The audit log: every change and every refusal, newest first."""
    session = common.session(workspace)
    entries = store_audit.entries(session.ws, since=parse_since(since) if since else None, action=action, limit=limit)
    common.emit(entries, as_json, lambda: _print(entries))


def _print(entries: list[AuditEntry]) -> None:
    if not entries:
        common.stdout.print("no audit entries match")
        return
    rows = []
    for e in entries:
        who = f"{e.actor} ({e.role})" if e.role else e.actor
        origin = _origin(e)
        rows.append((e.at[:16].replace("T", " "), f"{who}\n{origin}" if origin else who, e.action, e.target,
                     OUTCOMES.get(e.outcome, e.outcome), e.detail))
    # a target (a path, a dataset) wraps only at spaces, so a path stays whole; the detail gives way first
    common.stdout.print(common.table(None, ["at (UTC)", "who", "action", "target", "outcome", "detail"], rows,
                                     wrap=["who", "target", "detail"]))


def _origin(entry: AuditEntry) -> str:
    """Where it came from: ``osuser@address SHA256:abcd…`` (empty for a plain local call)."""
    parts = []
    if entry.remote_addr:
        parts.append(f"{entry.os_user or ''}@{entry.remote_addr}")
    if entry.ssh_key:
        parts.append(entry.ssh_key[:15] + "…")
    return " ".join(parts)
