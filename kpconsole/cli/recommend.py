"""``kpconsole recommend USER``: top-K items for one person from a registered model."""

from __future__ import annotations

from typing import Annotated

import typer

from pathlib import Path

from kpconsole.cli import common, completion, exporting
from kpconsole.errors import ConsoleError

service = common.lazy_import("kpconsole.services.recommend")


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend)


def recommend(
    model: Annotated[int, typer.Option("--model", "-m", autocompletion=completion.models, help="Model id (see: kpconsole model list).")],
    user: Annotated[str | None, typer.Argument(help="The user's ID (an unknown or new user gets the cold-start list); "
                                                    "leave out with --all or --users.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many items.")] = 10,
    explain: Annotated[bool, typer.Option("--explain", help="Say which of the user's own interactions led to each item.")] = False,
    diversity: Annotated[float, typer.Option(
        "--diversity", help="MMR re-ranking λ in [0, 1]: 0 keeps the model's order, higher trades relevance for "
                            "variety.")] = 0.0,
    exclude_purchased: Annotated[bool, typer.Option("--exclude-purchased", help="Leave out items the user has bought.")] = False,
    hide: Annotated[list[str] | None, typer.Option("--hide", help="An item ID never to show (blocked). Repeatable.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    all_users: Annotated[bool, typer.Option("--all", help="Every user the model knows (with --out).")] = False,
    users: Annotated[Path | None, typer.Option(
        "--users", help="A file of user IDs (one a line, or a .csv/.parquet/.jsonl with user_id) to export lists "
                        "for (with --out).")] = None,
    out: exporting.OutOpt = None,
    fmt: exporting.FormatOpt = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Users scored together "
                                                   "[default: what 128 MiB of scores holds].")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Recommend items to a user; with --explain, say why in their own terms. With --all (or
    --users FILE) and --out, write every list to a file: user_id, rank, item_id, score (+ reason)."""
    if all_users or users is not None or out is not None:
        if user is not None:
            raise ConsoleError(f"give a user ID or --all / --users, not both (got {user!r})")
        if out is None:
            raise ConsoleError("--all and --users write a file: add --out PATH (.parquet, .csv or .jsonl)")
        if not all_users and users is None:
            raise ConsoleError("--out needs --all (every user the model knows) or --users FILE")
        _export(model, k, explain, diversity, exclude_purchased, hide, device, users, out, fmt, batch_size,
                workspace, as_json)
        return
    if user is None:
        raise ConsoleError("give a user ID, or --all --out PATH for every user's list")
    result = service.recommend(common.session(workspace), model, user, k, explain=explain, diversity=diversity,
                               exclude_purchased=exclude_purchased, hide=hide or [], device=device)
    common.emit(result, as_json, lambda: _print(result, explain))


def _export(model: int, k: int, explain: bool, diversity: float, exclude_purchased: bool, hide: list[str] | None,
            device: str, users: Path | None, out: Path, fmt: str | None, batch_size: int | None, workspace,
            as_json: bool) -> None:
    from kpconsole.services import recommend_batches as exports

    session = common.session(workspace)
    request = exports.RecommendationExport(model_id=model, k=k, users=users, explain=explain, diversity=diversity,
                                           exclude_purchased=exclude_purchased, hide=tuple(hide or ()),
                                           device=device, batch_size=batch_size)
    exporting.run_export(f"recommend model {model}", out, fmt,
                         lambda target, progress: exports.export_recommendations(session, request, target, progress),
                         as_json)


def _print(result: service.Recommendations, explain: bool) -> None:
    who = "" if result.known else " (not in the model's data)"
    common.note(f"user {result.user}{who}: {len(result.items)} items from model {result.model_id} — {result.source}")
    # the reason's item by ID in the table, its title once below (the same item is often behind every row)
    firsts = [(r.get("reasons") or [None])[0] for r in result.items] if explain else []
    explain = any(f is not None for f in firsts)  # a cold-start list has no personal reason: the note says why
    why = "similar to" if result.explanation == "similar" else "because you"
    cols = ["#", "item", "kind", "title", "score"] + ([why] if explain else [])
    rows = [[r["rank"], r["item_id"], r["kind"], r["title"], r["score"]] for r in result.items]
    if explain:
        for row, first in zip(rows, firsts, strict=True):
            cited = None if first is None else (f"{first['item_id']} ({first['verb']})" if why == "similar to"
                                                else f"{first['verb']} {first['noun']} tagged " + first["tag"]
                                                if "tag" in first else f"{first['verb']} {first['item_id']}")
            row.append(cited)
    common.stdout.print(common.table(None, cols, rows, right=["#", "score"], wrap=["title"]))
    cited = {}
    for first in firsts:
        if first is not None:
            cited.setdefault(first["item_id"], first["title"])
    for item_id, title in cited.items():
        common.stdout.print(f"item {item_id}: “{title}”" if title else f"item {item_id}: (no title)")
