"""Helpers the console's tests share (no tests here): a fixed clock, a fixed person, settling."""

from __future__ import annotations

import asyncio
import functools
import html
import re
from pathlib import Path

from kpconsole.identity import Actor, Role
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session, create_session
from kpconsole.tui.app import ConsoleApp

FIXED_NOW = "2026-01-15T09:30:00.000+00:00"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
OPS = Actor(name="ops", role=Role.ADMIN, os_user="ops")


def freeze_clock(monkeypatch) -> None:
    """Every time the store writes is FIXED_NOW (snapshots must not show a clock)."""
    from store.workspace import Workspace

    monkeypatch.setattr(Workspace, "clock", staticmethod(lambda: FIXED_NOW))


def platform_workspace(root: Path, actor: Actor = OPS) -> Session:
    """A workspace with the generated sample platform ingested as ``platform``."""
    session = create_session(root, actor=actor)
    datasets.ingest(session, IngestRequest(path=SAMPLE / "platform", name="platform"))
    return session


def as_role(session: Session, role: Role) -> Session:
    """The same workspace, used by someone with ``role``."""
    return Session(session.ws, Actor(name=f"{role}-user", role=role, os_user=f"{role}-user"))


def console(session: Session, theme: str = "textual-dark") -> ConsoleApp:
    return ConsoleApp(session, theme=theme, watch_terminal=False)


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and the messages they posted be handled (no sleeping).

    A worker that fails is the console's to report (tests read its notification), so its
    exception is not raised here; each worker is awaited on its own (``wait_for_complete``
    would raise the first failure and stop waiting for the others)."""
    for _ in range(rounds):
        await pilot.pause()
        await asyncio.gather(*(worker.wait() for worker in pilot.app.workers), return_exceptions=True)
    await pilot.pause()


def notices(app: ConsoleApp) -> list[str]:
    """What the console told the person, as ``severity: message``."""
    return list(app.notices)


def run_async(test):
    """Run an ``async def`` test on a fresh event loop (no asyncio plugin needed)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run


_SVG_TEXT = re.compile(r'<text[^>]*x="([\d.]+)"[^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>')
_CELL_WIDTH = 12.2  # Textual's SVG export draws one cell 12.2 units wide


def screen_text(app: ConsoleApp) -> str:
    """What the person sees, as plain lines of text (from the app's own SVG export)."""
    lines: dict[int, list[tuple[float, str]]] = {}
    for match in _SVG_TEXT.finditer(app.export_screenshot()):
        text = html.unescape(match.group(3)).replace("\xa0", " ")
        lines.setdefault(int(match.group(2)), []).append((float(match.group(1)), text))
    out = []
    for n in sorted(lines):
        row = ""
        for x, text in sorted(lines[n]):
            row = row.ljust(round(x / _CELL_WIDTH)) + text
        out.append(row)
    return "\n".join(out)
