"""The canonical data model every kpconsole dataset is stored in.

Three tables, each a Parquet file in the dataset's folder:

``users``   user_id, joined_at, then any attributes (display_name, reputation, …)
``items``   item_id, kind, creator_id, price, tags, created_at, title, then attributes
``events``  user_id, item_id, kind, ts, value, amount

IDs keep their natural type: ``Int64`` when every value of the source column is an integer,
else ``String``; within one dataset user_id (and creator_id) share one type, item_id another.
Timestamps are ``Datetime("us")`` in UTC without a zone. ``amount`` is money that moved
(never negative: the event kind says its direction, e.g. ``refund``); ``value`` is the
strength of an interaction (1 for most kinds, a rating or a duration where one exists).

A dataset may carry more tables beside these three (a Stack Exchange dump keeps ``badges``,
``tags``, ``votes``, ``comments``, ``post_links`` and ``post_history``); their columns are
declared by the importer that writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

TS = pl.Datetime("us")

#: Event kinds the engine gives a meaning to. Others are accepted and kept as they are.
EVENT_KINDS: dict[str, str] = {
    "view": "opened an item",
    "like": "liked or up-voted an item",
    "favorite": "saved an item",
    "star": "starred a repository",
    "comment": "commented on an item (for Q&A: on the question's thread)",
    "ask": "asked a question (the item is the question)",
    "answer": "answered a question (the item is the question)",
    "edit": "edited a post",
    "bounty": "offered a bounty on a question (value = reputation offered)",
    "bounty_award": "was awarded a bounty (value = reputation)",
    "purchase": "bought an item (amount = price paid)",
    "subscribe": "started a subscription or membership (amount = first payment)",
    "renew": "renewed a subscription (amount = payment)",
    "cancel": "cancelled a subscription",
    "refund": "was refunded (amount = money returned)",
    "enroll": "registered for a course",
    "unenroll": "withdrew from a course",
}

#: Kinds whose ``amount`` is revenue (refund is revenue returned).
REVENUE_KINDS = ("purchase", "subscribe", "renew")
REFUND_KIND = "refund"

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: Item kinds the engine gives a meaning to; others are accepted.
ITEM_KINDS = (
    "course",
    "column",
    "article",
    "question",
    "answer",
    "repo",
    "live",
    "membership",
    "post",
)


@dataclass(frozen=True)
class Field:
    """One canonical column: its name, its type family and how a missing value is treated."""

    name: str
    kind: str  # "id" | "ts" | "float" | "string" | "tags"
    required: bool = False
    default: float | None = None  # for "float" fields: used where the source cell is empty
    nonnegative: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    fields: tuple[Field, ...]
    key: str | None = None  # primary key; must be unique and present
    keep_extra: bool = False  # keep source columns that map to no field, as attributes
    doc: str = ""
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


USERS = TableSpec(
    "users",
    (
        Field("user_id", "id", required=True, doc="the user's ID"),
        Field("joined_at", "ts", doc="when the user joined (first event when absent)"),
    ),
    key="user_id",
    keep_extra=True,
    doc="one row per user; extra columns are kept as attributes",
)

ITEMS = TableSpec(
    "items",
    (
        Field("item_id", "id", required=True, doc="the item's ID"),
        Field("kind", "string", doc="course, column, article, question, answer, repo, live, membership…"),
        Field("creator_id", "id", doc="the user who made it"),
        Field("price", "float", nonnegative=True, doc="list price; empty for free items"),
        Field("tags", "tags", doc="labels, separated by '|' in CSV"),
        Field("created_at", "ts", doc="when it was published (first event when absent)"),
        Field("title", "string", doc="a short human-readable name"),
    ),
    key="item_id",
    keep_extra=True,
    doc="one row per item; extra columns are kept as attributes",
)

EVENTS = TableSpec(
    "events",
    (
        Field("user_id", "id", required=True, doc="who acted"),
        Field("item_id", "id", required=True, doc="on what"),
        Field("kind", "string", required=True, doc="what they did (or --kind for the whole file)"),
        Field("ts", "ts", required=True, doc="when: ISO-8601 date/datetime or Unix epoch seconds"),
        Field("value", "float", default=1.0, doc="strength of the interaction (default 1)"),
        Field("amount", "float", default=0.0, nonnegative=True, doc="money that moved (default 0)"),
    ),
    doc="one row per interaction",
)

CANONICAL = {spec.name: spec for spec in (USERS, ITEMS, EVENTS)}
