"""``kpconsole data …``: ingest, list, show, delete and generate datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpconsole.cli import common, completion
from kpconsole.cli.groups import GROUPS
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest

app = typer.Typer(help=GROUPS["data"].help, no_args_is_help=True)


@app.command("ingest")
def ingest(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A CSV/Parquet/JSONL events file, a folder with events.* "
                                             "(+ users.*, items.*), a Stack Exchange dump folder, an OULAD folder, or "
                                             "a database: postgresql://USER@HOST:PORT/DB or sqlite:///FILE.db with "
                                             "--query (needs: pip install 'kpconsole[db]').")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the workspace.")],
    fmt: Annotated[str | None, typer.Option("--format", "-f",
                                            help="csv, parquet, jsonl, stackexchange, oulad or folder [default: by suffix/content]")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", "-m",
                                                      help="FIELD=COLUMN, e.g. user_id=id_student; users.FIELD / items.FIELD for those files. Repeatable.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Event kind for every row (instead of a kind column).")] = None,
    users: Annotated[Path | None, typer.Option("--users", help="A users file (user_id, joined_at, attributes…).")] = None,
    items: Annotated[Path | None, typer.Option("--items", help="An items file (item_id, kind, creator_id, price, tags, created_at, title, …).")] = None,
    ts_format: Annotated[str | None, typer.Option("--ts-format", help="epoch, epoch_ms or a strftime format [default: detected]")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="For a database PATH: the SELECT whose rows are "
                                              "the events (mapped as a file's columns are).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a dataset of the same name.")] = False,
    append: Annotated[bool, typer.Option("--append", help="Add the file's events (and new users and items) to the "
                                         "existing dataset NAME as its next version; exact duplicates are skipped. "
                                         "--map, --kind and --ts-format default to the dataset's.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Run as a background job (survives a closed terminal); "
                                         "prints the job id.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Validate a file or dump and store it as a dataset; all or nothing."""
    if append and replace:
        raise typer.BadParameter("--append adds to a dataset, --replace overwrites it: give one", param_hint="--append")
    from engine.data.database import is_database_url

    session = common.session(workspace)
    url = path if is_database_url(path) else None
    if query and not url:
        raise typer.BadParameter("--query reads a database: give a postgresql:// or sqlite:/// URL as PATH",
                                 param_hint="--query")
    request = IngestRequest(
        path=None if url else Path(path), name=name, url=url, query=query, format=fmt,
        mapping=datasets.parse_mapping(mapping or []), kind=kind, users=users, items=items, ts_format=ts_format, replace=replace, append=append,
    )
    if detach:
        from kpconsole.cli.jobs import print_job_id
        from kpconsole.jobs.ingest import start_ingest

        job_id = start_ingest(session, request)
        common.emit({"job_id": job_id}, as_json, lambda: print_job_id(job_id))
        return
    if append:
        from kpconsole.services.dataset_append import append as append_events

        with common.progress_bar(f"append to {name}") as progress:
            result = append_events(session, request, progress)
        common.emit(result, as_json, lambda: common.note(result.line))
        return
    with common.progress_bar(f"ingest {name}") as progress:
        record = datasets.ingest(session, request, progress)
    common.emit(record, as_json, lambda: _print_record(record, "ingested"))


@app.command("list")
def list_(workspace: common.WorkspaceOpt = None, as_json: common.JsonOpt = False) -> None:
    """Datasets in the workspace with row counts and time ranges."""
    records = datasets.list_datasets(common.session(workspace))
    rows = [
        (r.name, r.format, r.profile["n_events"], r.profile["n_users"], r.profile["n_items"],
         _day(r.profile["ts_min"]), _day(r.profile["ts_max"]), r.created_at[:16].replace("T", " "))
        for r in records
    ]
    common.emit(records, as_json, lambda: common.stdout.print(
        common.table(None, ["name", "format", "events", "users", "items", "from", "to", "ingested"], rows,
                     right=["events", "users", "items"], drop=["ingested"]) if rows else "no datasets yet: kpconsole data ingest PATH --name NAME"
    ))


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(autocompletion=completion.datasets, help="Dataset name.")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many top items to list.")] = 10,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Rows, users, items, event kinds, time range and top items of a dataset."""
    summary = datasets.show(common.session(workspace), name, top)
    common.emit(summary, as_json, lambda: _print_summary(summary))


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(autocompletion=completion.datasets, help="Dataset name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: common.WorkspaceOpt = None,
) -> None:
    """Remove a dataset and its files (admin)."""
    session = common.session(workspace)
    datasets.get(session, name)
    if not yes and not typer.confirm(f"delete dataset '{name}' and its files?", err=True):
        raise typer.Exit(1)
    datasets.delete(session, name)
    common.note(f"deleted {name}")


@app.command("prune")
def prune(
    name: Annotated[str | None, typer.Argument(autocompletion=completion.datasets,
                                               help="Dataset name [default: every dataset].")] = None,
    keep: Annotated[int, typer.Option("--keep", min=0, help="Previous versions to keep of each dataset.")] = 0,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Remove the previous versions an --append kept (their folders), but the newest --keep (admin)."""
    from kpconsole.services import dataset_append

    session = common.session(workspace)
    if name is not None:
        datasets.get(session, name)
    if not yes and not typer.confirm(f"remove the previous versions of {repr(name) if name else 'every dataset'}?",
                                     err=True):
        raise typer.Exit(1)
    pruned = dataset_append.prune(session, name, keep)
    common.emit([v.as_dict() for v in pruned], as_json, lambda: common.note(
        "pruned " + ", ".join(f"{v.dataset} v{v.version}" for v in pruned) if pruned else "nothing to prune"))


def _day(iso: str | None) -> str | None:
    return iso[:10] if iso else None


def _print_record(record, verb: str) -> None:
    p = record.profile
    common.note(
        f"{verb} '{record.name}' ({record.format}): {p['n_events']:,} events, {p['n_users']:,} users, "
        f"{p['n_items']:,} items, {_day(p['ts_min'])} .. {_day(p['ts_max'])}"
    )


def _print_summary(summary: datasets.DatasetSummary) -> None:
    r = summary.record
    p = r.profile
    common.stdout.print(common.kv(f"dataset {r.name}", {
        "format": r.format, "source": r.source, "events": p["n_events"], "users": p["n_users"], "items": p["n_items"],
        "from": p["ts_min"], "to": p["ts_max"], "tables": ", ".join(f"{t} {n:,}" for t, n in r.tables.items()),
        "content hash": r.content_hash[:16], "version": r.version,
        "ingested": f"{r.created_at} by {r.created_by}",
    }))
    common.stdout.print()
    common.stdout.print(common.table("event kinds", ["kind", "events"], list(p["kinds"].items()), right=["events"]))
    common.stdout.print()
    cols = [c for c in ("item_id", "kind", "title", "users", "events") if summary.top_items and c in summary.top_items[0]]
    common.stdout.print(common.table("top items (by distinct users)", cols,
                                     [[row.get(c) for c in cols] for row in summary.top_items], right=["users", "events"],
                                     wrap=["title"]))


@app.command("synth")
def synth(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="Folder to write users/items/events (+ truth_*) into.")],
    users: Annotated[int, typer.Option("--users", min=datasets.SYNTH_MIN_USERS, help="Number of users.")] = datasets.SYNTH_DEFAULTS["users"],
    days: Annotated[int, typer.Option("--days", min=1, help="Days of activity.")] = datasets.SYNTH_DEFAULTS["days"],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = datasets.SYNTH_DEFAULTS["seed"],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that already has files.")] = False,
    as_json: common.JsonOpt = False,
) -> None:
    """Generate a knowledge platform with planted segments, tastes and price sensitivity."""
    try:
        result = datasets.synthesize(out, users=users, days=days, seed=seed, fmt=fmt, force=force)
    except datasets.SynthValueError as exc:  # worded as Click words a bad parameter
        from kpconsole.cli import flag

        command = ctx.command
        hint = flag(exc.field, command)
        raise typer.BadParameter(exc.reason.worded(lambda field: flag(field, command)),
                                 param_hint=f"'{hint}'" if hint.startswith("-") else hint) from None
    info = {"folder": str(out), "files": [str(p) for p in result.files], "users": result.users,
            "items": result.items, "events": result.events, "config": result.config}
    common.emit(info, as_json, lambda: common.note(
        f"{result.summary} — ingest with: kpconsole data ingest {out} --name NAME"
    ))
