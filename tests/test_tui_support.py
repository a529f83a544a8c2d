"""Helpers the console's tests share (no tests here): a fixed clock, a fixed person, settling,
pressing keys and filling forms, waiting for a job the console watches."""

from __future__ import annotations

import asyncio
import functools
import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kpconsole import jobs
from kpconsole.identity import Actor, Role
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session, create_session
from kpconsole.tui.app import ConsoleApp
from store.jobs import JobRecord

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


def ingest_qc(session: Session) -> None:
    """Add the shipped Stack Exchange sample (quantumcomputing, a real Q&A site) as ``qc``."""
    datasets.ingest(session, IngestRequest(path=SAMPLE / "stackexchange" / "quantumcomputing", name="qc"))


@pytest.fixture
def session(tmp_path) -> Session:
    """A fresh workspace with the sample platform ingested (a test module imports this fixture to use it)."""
    return platform_workspace(tmp_path / "ws")


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


async def press(pilot, *keys: str) -> None:
    """Press ``keys`` in one go, as a person types them, and settle what they started."""
    await pilot.press(*keys)
    await settle(pilot)


async def press_each(pilot, *keys: str) -> None:
    """Press each key in turn, settling after each (one opens a screen, the next acts on it)."""
    for key in keys:
        await press(pilot, key)


async def show_community(pilot, data: str) -> None:
    """Open the Community screen (key 7) on the dataset ``data``."""
    await press(pilot, "7")
    pilot.app.screen.query_one("#community-data").value = data
    await settle(pilot)


def fill(form, **values: object) -> None:
    """Set the form's fields, named by id, as a person would (text for an Input, an option for a Select)."""
    for field, value in values.items():
        form.query_one(f"#{field}").value = value


async def submit(pilot, **values: object) -> None:
    """Fill the form on top with ``values`` (as ``fill``) and submit it (ctrl+s), settling what that started."""
    fill(pilot.app.screen, **values)
    await press(pilot, "ctrl+s")


def newest_job(session: Session) -> JobRecord:
    """The job started last (the one a form just submitted)."""
    return jobs.list_jobs(session, limit=1)[0]


async def wait_until(pilot, done: Callable[[], bool], rounds: int) -> None:
    """Yield 0.1 s at a time until ``done()`` holds, ``rounds`` times at most (the caller asserts)."""
    for _ in range(rounds):
        if done():
            break
        await pilot.pause(0.1)


async def wait_for_job(pilot, session: Session, job_id: int, rounds: int = 1200) -> None:
    """Let a detached job finish while the console keeps running (each round yields 0.1 s; generous: CI
    machines are shared)."""
    await wait_until(pilot, lambda: not jobs.show_job(session, job_id).active, rounds)
    await settle(pilot)


async def wait_for_success(pilot, session: Session, job: JobRecord) -> None:
    """Let ``job`` finish and the console's note that it succeeded arrive (it polls watched jobs every
    second)."""
    await wait_for_job(pilot, session, job.id)
    await wait_until(pilot, lambda: any(f"job {job.id} ({job.kind}) succeeded" in n for n in notices(pilot.app)), 30)
    await settle(pilot)


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
