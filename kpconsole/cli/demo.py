"""``kpconsole demo``: build a demo workspace from sample_data and print what each step found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpconsole.cli import common


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Folder for the demo workspace.")] = Path(".demo-workspace"),
    reset: Annotated[bool, typer.Option("--reset", help="Rebuild an existing demo workspace from scratch.")] = False,
    as_json: common.JsonOpt = False,
) -> None:
    """Ingest the sample data into a fresh workspace and run every capability on it."""
    from kpconsole.demo import prepare_workspace, run_demo  # every service: imported only when run

    session = prepare_workspace(workspace, reset)
    common.note(f"demo workspace: {session.ws.root}")
    results = run_demo(session)
    if as_json:
        common.emit_json({"workspace": str(session.ws.root), "steps": [
            {"title": r.title, "figures": r.figures} for r in results]})
        return
    import shlex

    from kpconsole.cli.tables import wrap_line

    width = common.stdout.width
    for r in results:
        common.stdout.rule(r.title, align="left")
        for line in r.lines:
            for part in wrap_line(line, width):  # at spaces, never inside a word
                common.stdout.print(part, soft_wrap=True, markup=False)
        common.stdout.print()
    command = f"kpconsole --workspace {shlex.quote(str(session.ws.root))}"  # to be copied: never wrapped
    lead = "Open the console on it:"
    for part in ([f"{lead} {command}"] if len(lead) + 1 + len(command) <= width else [lead, f"  {command}"]):
        common.stdout.print(part, soft_wrap=True, markup=False)
