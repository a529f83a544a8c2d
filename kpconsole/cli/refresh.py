"""``kpconsole refresh``: the nightly loop — append what is new, update, segment, value, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpconsole.cli import common
from kpconsole.errors import ConsoleError


def register(app: typer.Typer) -> None:
    app.command("refresh")(refresh)


def refresh(
    data: Annotated[str, typer.Option("--data", "-d", help="The dataset to refresh.")],
    source: Annotated[str, typer.Option("--source", "-s", help="Where new events are: a file or folder, or a database "
                                        "URL (postgresql://USER@HOST/DB, sqlite:///FILE.db; the password through "
                                        "PGPASSWORD or ~/.pgpass).")],
    query: Annotated[str | None, typer.Option("--query", "-q", help="A database's SELECT [default: the one the "
                                              "dataset was ingested with].")] = None,
    since_column: Annotated[str | None, typer.Option("--since-column", help="A column of the query: only rows past "
                                                     "its largest value at the last refresh are read.")] = None,
    models: Annotated[str, typer.Option("--models", help="latest (the dataset's newest model), ids such as 3,7, "
                                        "or none.")] = "latest",
    export: Annotated[Path | None, typer.Option("--export", help="A folder for recommendations-<model>.parquet, "
                                                "segments.parquet and value.parquet.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Append what is new since the last refresh, update models, rerun the newest segmentation and
    value fit, write the exports; exits non-zero with one line if a step fails (for cron)."""
    from kpconsole.services.refresh import RefreshRequest, run_refresh

    session = common.session(workspace)
    request = RefreshRequest(data=data, source=source, query=query, since_column=since_column,
                             models=None if models == "none" else models, export=export)
    with common.progress_bar(f"refresh {data}") as progress:
        job_id, result, error = run_refresh(session, request, progress)
    if error:
        raise ConsoleError(f"{error} (job {job_id})")
    common.emit({"job_id": job_id, **(result.as_dict() if result else {})}, as_json,
                lambda: [common.note(line) for line in (result.lines if result else [])] and None)
