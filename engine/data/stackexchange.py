"""Native import of a Stack Exchange data dump (the official XML files of one site).

Mapping onto the canonical model (see :mod:`engine.data.schema`):

* ``users``  ← Users.xml: user_id, joined_at, display_name, reputation, location,
  last_access_at, views, up_votes, down_votes, account_id.
* ``items``  ← Posts.xml, one item per post: kind question / answer / wiki / nomination / post,
  creator_id (owner), tags, created_at, title, post_type_id, parent_id (answers),
  accepted_answer_id (questions), is_accepted (answers), score, view_count, answer_count,
  comment_count, favorite_count, closed_at, last_activity_at, and for questions
  first_answer_at and first_answer_seconds (answer latency).
* ``post_texts`` ← Posts.xml: item_id, body (the post's HTML as the dump has it), one row per
  post with a body; apart from ``items`` so that reading items stays cheap.
* ``events`` ← the actions that carry a user: ``ask`` (the question), ``answer``, ``comment``,
  ``favorite`` (vote type 5), ``bounty`` (8, value = reputation offered), ``bounty_award`` (9),
  and ``edit`` (post history types 4–6). The item of every event is the question's thread,
  so that user × question is the interaction collaborative filtering learns from.
* kept as they are: ``badges``, ``tags``, ``votes`` (all, also the anonymous ones),
  ``comments``, ``post_links``, ``post_history`` (without texts).

Posts.xml and Users.xml are required; every other file may be missing. Each table has as many
rows as its XML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.data.profile import DatasetProfile, profile_events
from engine.data.schema import TS
from engine.data.xmlrows import read_rows
from engine.errors import DataError
from engine.progress import Progress, no_progress

REQUIRED_FILES = ("Posts.xml", "Users.xml")
OPTIONAL_FILES = ("Votes.xml", "Comments.xml", "Badges.xml", "Tags.xml", "PostLinks.xml", "PostHistory.xml")

POST_KINDS = {1: "question", 2: "answer", 3: "wiki", 4: "wiki", 5: "wiki", 6: "nomination", 7: "wiki", 8: "wiki"}
VOTE_KINDS = {
    1: "accept", 2: "up", 3: "down", 4: "offensive", 5: "favorite", 6: "close", 7: "reopen",
    8: "bounty_start", 9: "bounty_close", 10: "deletion", 11: "undeletion", 12: "spam",
    15: "moderator_review", 16: "approve_edit",
}
EDIT_HISTORY_TYPES = (4, 5, 6)


@dataclass(frozen=True)
class _File:
    """One dump file: its root element and the attributes kept, with their types."""

    name: str
    root: str
    ints: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    required: tuple[str, ...] = ("Id",)


FILES = {
    "Users.xml": _File(
        "Users.xml", "users",
        ints=("Id", "Reputation", "Views", "UpVotes", "DownVotes", "AccountId"),
        dates=("CreationDate", "LastAccessDate"),
        texts=("DisplayName", "Location"),
        required=("Id", "CreationDate"),
    ),
    "Posts.xml": _File(
        "Posts.xml", "posts",
        ints=("Id", "PostTypeId", "ParentId", "AcceptedAnswerId", "OwnerUserId", "Score", "ViewCount",
              "AnswerCount", "CommentCount", "FavoriteCount"),
        dates=("CreationDate", "ClosedDate", "LastActivityDate"),
        texts=("Title", "Tags", "Body"),
        required=("Id", "PostTypeId", "CreationDate"),
    ),
    "Votes.xml": _File(
        "Votes.xml", "votes", ints=("Id", "PostId", "VoteTypeId", "UserId", "BountyAmount"),
        dates=("CreationDate",), required=("Id", "PostId", "VoteTypeId", "CreationDate"),
    ),
    "Comments.xml": _File(
        "Comments.xml", "comments", ints=("Id", "PostId", "UserId", "Score"),
        dates=("CreationDate",), required=("Id", "PostId", "CreationDate"),
    ),
    "Badges.xml": _File(
        "Badges.xml", "badges", ints=("Id", "UserId", "Class"), dates=("Date",),
        texts=("Name", "TagBased"), required=("Id", "UserId", "Name", "Date"),
    ),
    "Tags.xml": _File(
        "Tags.xml", "tags", ints=("Id", "Count", "ExcerptPostId", "WikiPostId"), texts=("TagName",),
        required=("Id", "TagName"),
    ),
    "PostLinks.xml": _File(
        "PostLinks.xml", "postlinks", ints=("Id", "PostId", "RelatedPostId", "LinkTypeId"),
        dates=("CreationDate",), required=("Id", "PostId", "RelatedPostId", "LinkTypeId"),
    ),
    "PostHistory.xml": _File(
        "PostHistory.xml", "posthistory", ints=("Id", "PostHistoryTypeId", "PostId", "UserId"),
        dates=("CreationDate",), required=("Id", "PostHistoryTypeId", "PostId", "CreationDate"),
    ),
}

_SE_TS = "%Y-%m-%dT%H:%M:%S%.f"


@dataclass(frozen=True)
class StackExchangeResult:
    tables: dict[str, int]
    files: dict[str, int]  # rows read per XML file
    schema: dict[str, dict[str, str]]
    profile: DatasetProfile


def is_dump(folder: Path) -> bool:
    """Whether ``folder`` looks like a Stack Exchange dump (it has a Posts.xml)."""
    return Path(folder).is_dir() and (Path(folder) / "Posts.xml").exists()


def read_file(path: Path) -> pl.DataFrame:
    """Read one dump file into a typed frame, validating required attributes, types and IDs."""
    spec = FILES[path.name]
    raw = read_rows(path, spec.root, spec.ints + spec.dates + spec.texts)
    frame = pl.DataFrame(raw, schema={name: pl.String for name in raw} | {"_line": pl.Int64})
    for name in spec.required:
        missing = frame.filter(pl.col(name).is_null())
        if missing.height:
            raise DataError(f"row has no {name} attribute", file=path.name, line=missing["_line"][0], field=name)
    converted = frame.select(
        "_line",
        *[pl.col(n).cast(pl.Int64, strict=False) for n in spec.ints],
        *[pl.col(n).str.to_datetime(_SE_TS, strict=False, time_unit="us") for n in spec.dates],
        *[pl.col(n) for n in spec.texts],
    )
    for name in spec.ints + spec.dates:
        bad = converted.filter(pl.col(name).is_null() & frame[name].is_not_null())
        if bad.height:
            line = bad["_line"][0]
            value = frame.filter(pl.col("_line") == line)[name][0]
            what = "an integer" if name in spec.ints else "a date (YYYY-MM-DDTHH:MM:SS.fff)"
            raise DataError(f"{value!r} is not {what}", file=path.name, line=line, field=name)
    dup = converted.filter(pl.col("Id").is_duplicated())
    if dup.height:
        raise DataError(f"duplicate Id {dup['Id'][0]}", file=path.name, line=dup["_line"][1], field="Id")
    return converted.drop("_line")


def import_dump(folder: Path, dest: Path, progress: Progress = no_progress) -> StackExchangeResult:
    """Read a dump folder and write its canonical and extra tables as Parquet into ``dest``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("no such folder", file=str(folder))
    for name in REQUIRED_FILES:
        if not (folder / name).exists():
            raise DataError(f"not a Stack Exchange dump: {name} is missing", file=str(folder))
    present = [n for n in REQUIRED_FILES + OPTIONAL_FILES if (folder / n).exists()]
    raw: dict[str, pl.DataFrame] = {}
    for i, name in enumerate(present):
        progress(i / (len(present) + 1), f"reading {name}")
        raw[name] = read_file(folder / name)
    progress(len(present) / (len(present) + 1), "mapping to the canonical model")

    users = _users(raw["Users.xml"])
    items = _items(raw["Posts.xml"])
    extra = _extra_tables(raw)
    extra["post_texts"] = raw["Posts.xml"].filter(pl.col("Body").is_not_null()).select(
        pl.col("Id").alias("item_id"), pl.col("Body").alias("body")).sort("item_id")
    events = _events(items, raw)
    tables = {"users": users, "items": items, "events": events, **extra}
    dest = Path(dest)
    for name, frame in tables.items():
        frame.write_parquet(dest / f"{name}.parquet")
    profile = profile_events(events.lazy()).with_counts(n_users=users.height, n_items=items.height)
    progress(1.0, "written")
    return StackExchangeResult(
        tables={name: frame.height for name, frame in tables.items()},
        files={name: frame.height for name, frame in raw.items()},
        schema={name: {c: str(t) for c, t in frame.schema.items()} for name, frame in tables.items()},
        profile=profile,
    )


def _users(u: pl.DataFrame) -> pl.DataFrame:
    return u.select(
        pl.col("Id").alias("user_id"),
        pl.col("CreationDate").alias("joined_at"),
        pl.col("DisplayName").alias("display_name"),
        pl.col("Reputation").alias("reputation"),
        pl.col("Location").alias("location"),
        pl.col("LastAccessDate").alias("last_access_at"),
        pl.col("Views").alias("views"),
        pl.col("UpVotes").alias("up_votes"),
        pl.col("DownVotes").alias("down_votes"),
        pl.col("AccountId").alias("account_id"),
    ).sort("user_id")


def _tags(col: pl.Expr) -> pl.Expr:
    """``<a><b>`` (older dumps) or ``|a|b|`` (newer) → ["a", "b"]."""
    cleaned = col.str.replace_all(r"^[<|]|[>|]$", "").str.replace_all(r"><|\|", "\x1f")
    return pl.when(col.is_null() | (col == "")).then(None).otherwise(cleaned.str.split("\x1f"))


def _items(p: pl.DataFrame) -> pl.DataFrame:
    answers = p.filter(pl.col("PostTypeId") == 2)
    first_answer = answers.group_by("ParentId").agg(pl.col("CreationDate").min().alias("first_answer_at"))
    accepted = p.select(pl.col("AcceptedAnswerId").drop_nulls().alias("Id"), pl.lit(True).alias("_acc"))
    items = (
        p.join(first_answer, left_on="Id", right_on="ParentId", how="left")
        .join(accepted, on="Id", how="left")
        .select(
            pl.col("Id").alias("item_id"),
            pl.col("PostTypeId").replace_strict(POST_KINDS, default="post", return_dtype=pl.String).alias("kind"),
            pl.col("OwnerUserId").alias("creator_id"),
            pl.lit(None, dtype=pl.Float64).alias("price"),
            _tags(pl.col("Tags")).alias("tags"),
            pl.col("CreationDate").alias("created_at"),
            pl.col("Title").alias("title"),
            pl.col("PostTypeId").alias("post_type_id"),
            pl.col("ParentId").alias("parent_id"),
            pl.col("AcceptedAnswerId").alias("accepted_answer_id"),
            pl.when(pl.col("PostTypeId") == 2).then(pl.col("_acc").fill_null(False)).alias("is_accepted"),
            pl.col("Score").alias("score"),
            pl.col("ViewCount").alias("view_count"),
            pl.col("AnswerCount").alias("answer_count"),
            pl.col("CommentCount").alias("comment_count"),
            pl.col("FavoriteCount").alias("favorite_count"),
            pl.col("ClosedDate").alias("closed_at"),
            pl.col("LastActivityDate").alias("last_activity_at"),
            pl.when(pl.col("PostTypeId") == 1).then(pl.col("first_answer_at")).alias("first_answer_at"),
        )
        .with_columns(
            ((pl.col("first_answer_at") - pl.col("created_at")).dt.total_microseconds() / 1e6).alias(
                "first_answer_seconds"
            )
        )
    )
    return items.sort("item_id")


def _thread_of(items: pl.DataFrame) -> pl.DataFrame:
    """post id → the question it belongs to (itself for a question or any other post)."""
    return items.select(
        pl.col("item_id").alias("post_id"),
        pl.when(pl.col("kind") == "answer").then(pl.col("parent_id")).otherwise(pl.col("item_id")).alias("thread_id"),
    )



def _events(items: pl.DataFrame, raw: dict[str, pl.DataFrame]) -> pl.DataFrame:
    threads = _thread_of(items)
    parts = [
        items.filter((pl.col("kind") == "question") & pl.col("creator_id").is_not_null()).select(
            pl.col("creator_id").alias("user_id"), pl.col("item_id"), pl.lit("ask").alias("kind"),
            pl.col("created_at").alias("ts"), pl.lit(1.0).alias("value"),
        ),
        items.filter((pl.col("kind") == "answer") & pl.col("creator_id").is_not_null()).select(
            pl.col("creator_id").alias("user_id"), pl.col("parent_id").alias("item_id"),
            pl.lit("answer").alias("kind"), pl.col("created_at").alias("ts"), pl.lit(1.0).alias("value"),
        ),
    ]
    if "Comments.xml" in raw:
        parts.append(_thread_events(raw["Comments.xml"], threads, "comment", pl.lit(1.0)))
    if "Votes.xml" in raw:
        votes = raw["Votes.xml"].filter(pl.col("UserId").is_not_null())
        for type_id, kind in ((5, "favorite"), (8, "bounty"), (9, "bounty_award")):
            chosen = votes.filter(pl.col("VoteTypeId") == type_id)
            value = pl.col("BountyAmount").cast(pl.Float64).fill_null(1.0) if type_id != 5 else pl.lit(1.0)
            parts.append(_thread_events(chosen, threads, kind, value))
    if "PostHistory.xml" in raw:
        edits = raw["PostHistory.xml"].filter(pl.col("PostHistoryTypeId").is_in(EDIT_HISTORY_TYPES))
        parts.append(_thread_events(edits, threads, "edit", pl.lit(1.0)))
    events = pl.concat(parts, how="vertical").with_columns(pl.lit(0.0).alias("amount"))
    return events.select(
        pl.col("user_id").cast(pl.Int64), pl.col("item_id").cast(pl.Int64), "kind",
        pl.col("ts").cast(TS), pl.col("value").cast(pl.Float64), "amount",
    ).sort(["ts", "user_id", "item_id", "kind"])


def _thread_events(frame: pl.DataFrame, threads: pl.DataFrame, kind: str, value: pl.Expr) -> pl.DataFrame:
    with_user = frame.filter(pl.col("UserId").is_not_null())
    return with_user.join(threads, left_on="PostId", right_on="post_id", how="left").select(
        pl.col("UserId").alias("user_id"),
        pl.coalesce("thread_id", "PostId").alias("item_id"),
        pl.lit(kind).alias("kind"),
        pl.col("CreationDate").alias("ts"),
        value.alias("value"),
    )


def _extra_tables(raw: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    if "Badges.xml" in raw:
        out["badges"] = raw["Badges.xml"].select(
            pl.col("Id").alias("badge_id"), pl.col("UserId").alias("user_id"), pl.col("Name").alias("name"),
            pl.col("Class").alias("class"), (pl.col("TagBased").str.to_lowercase() == "true").alias("tag_based"),
            pl.col("Date").alias("ts"),
        )
    if "Tags.xml" in raw:
        out["tags"] = raw["Tags.xml"].select(
            pl.col("Id").alias("tag_id"), pl.col("TagName").alias("name"), pl.col("Count").alias("count"),
            pl.col("ExcerptPostId").alias("excerpt_post_id"), pl.col("WikiPostId").alias("wiki_post_id"),
        )
    if "Votes.xml" in raw:
        out["votes"] = raw["Votes.xml"].select(
            pl.col("Id").alias("vote_id"), pl.col("PostId").alias("post_id"),
            pl.col("VoteTypeId").alias("vote_type_id"),
            pl.col("VoteTypeId").replace_strict(VOTE_KINDS, default="other", return_dtype=pl.String).alias("kind"),
            pl.col("CreationDate").alias("ts"), pl.col("UserId").alias("user_id"),
            pl.col("BountyAmount").alias("bounty_amount"),
        )
    if "Comments.xml" in raw:
        out["comments"] = raw["Comments.xml"].select(
            pl.col("Id").alias("comment_id"), pl.col("PostId").alias("post_id"), pl.col("UserId").alias("user_id"),
            pl.col("Score").alias("score"), pl.col("CreationDate").alias("ts"),
        )
    if "PostLinks.xml" in raw:
        out["post_links"] = raw["PostLinks.xml"].select(
            pl.col("Id").alias("link_id"), pl.col("PostId").alias("post_id"),
            pl.col("RelatedPostId").alias("related_post_id"), pl.col("LinkTypeId").alias("link_type_id"),
            pl.col("CreationDate").alias("ts"),
        )
    if "PostHistory.xml" in raw:
        out["post_history"] = raw["PostHistory.xml"].select(
            pl.col("Id").alias("history_id"), pl.col("PostId").alias("post_id"),
            pl.col("PostHistoryTypeId").alias("type_id"), pl.col("UserId").alias("user_id"),
            pl.col("CreationDate").alias("ts"),
        )
    return out
