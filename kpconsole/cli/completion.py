"""Shell completion of the workspace's own names: datasets, models, segmentations, value fits,
simulation runs and jobs.

Typer calls these while the shell completes a word (``kpconsole model show <TAB>``); the
workspace is the one the line names with ``--workspace`` (the command's or the root's), else
the default. They read through :mod:`kpconsole.reads` and the store only, so a completion
costs what a read command costs; a missing or unreadable workspace completes nothing rather
than printing an error into the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from kpconsole.errors import USER_ERRORS
from kpconsole.session import Session, open_session

Candidates = list[tuple[str, str]]


def _workspace(ctx: typer.Context) -> Path | None:
    """The ``--workspace`` given on the line being completed (the command's, else the root's)."""
    here: typer.Context | None = ctx
    while here is not None:
        for key in ("workspace", "workspace_opt"):
            if here.params.get(key):
                return Path(here.params[key])
        here = here.parent
    return None


def _complete(ctx: typer.Context, incomplete: str, read: Callable[[Session], Candidates]) -> Candidates:
    try:
        found = read(open_session(_workspace(ctx)))
    except (*USER_ERRORS, OSError):
        return []
    return [(value, why) for value, why in found if value.startswith(incomplete)]


def datasets(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.services.datasets import list_datasets

    return _complete(ctx, incomplete, lambda s: [
        (r.name, f"{r.format}, {r.profile['n_events']:,} events") for r in list_datasets(s)])


def models(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.reads.models import list_models

    return _complete(ctx, incomplete, lambda s: [
        (str(r.id), f"{r.algo} on {r.dataset}") for r in list_models(s)])


def segmentations(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.reads.segments import list_segmentations

    return _complete(ctx, incomplete, lambda s: [
        (str(r.id), f"{r.method} on {r.dataset}, {r.k} segments") for r in list_segmentations(s)])


def value_fits(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.reads.value import list_fits

    return _complete(ctx, incomplete, lambda s: [(str(r.id), f"{r.model} on {r.dataset}") for r in list_fits(s)])


def runs(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.reads.simulations import list_runs

    return _complete(ctx, incomplete, lambda s: [
        (str(r.id), f"{r.kind} '{r.name}' on {r.dataset}") for r in list_runs(s)])


def jobs(ctx: typer.Context, incomplete: str) -> Candidates:
    from kpconsole.jobs.service import list_jobs

    return _complete(ctx, incomplete, lambda s: [(str(j.id), f"{j.kind}, {j.status}") for j in list_jobs(s)])
