"""``kpconsole init``: create a workspace."""

from __future__ import annotations

import typer

from kpconsole.cli import common
from kpconsole.session import create_session, resolve_workspace
from store.workspace import Workspace


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(workspace: common.WorkspaceOpt = None, as_json: common.JsonOpt = False) -> None:
    """Create a workspace folder (state.db, data/, models/, logs/); upgrade it if it is older."""
    root = resolve_workspace(common.workspace_path(workspace))
    existed = Workspace.exists(root)
    session = create_session(root)
    if not existed:
        with session.action("workspace.init", target=str(session.ws.root)):
            pass
    info = {"workspace": str(session.ws.root), "schema_version": session.ws.schema_version, "created": not existed}
    common.emit(info, as_json, lambda: common.note(
        f"{'created' if not existed else 'already a workspace:'} {session.ws.root} (schema v{session.ws.schema_version})"
    ))
