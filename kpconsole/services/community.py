"""Community health in the console: Q&A health and monetisation KPIs of a dataset (read-only).

For a Stack Exchange–shaped dataset (items with questions and answers) or any dataset with
``ask``/``answer`` events: the Q&A figures rated against Area 51 (engine.community.qa). For a
dataset where money moved: ARPU, ARPPU, paying ratio, refund rate, creator income
concentration and the MRR roll-forward (engine.community.monetisation). A dataset may have
both; one with neither is a one-line error.

:func:`active_users` gives any dataset's daily, weekly and monthly active users, day by day
(engine.community.activity).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.community.activity import MONTH_DAYS
from engine.community.activity import active_users as rolling_active_users
from engine.community.monetisation import Monetisation, monetisation
from engine.community.qa import QAHealth, posts_from_events, posts_from_items, qa_health
from engine.data.schema import REVENUE_KINDS
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.services import datasets
from kpconsole.session import Session
from store.catalog import DatasetRecord


@dataclass(frozen=True)
class CommunityReport:
    dataset: str
    qa: QAHealth | None
    money: Monetisation | None
    weeks: int | None = None  # how many of the latest weeks the weekly series keeps (None: all)

    def as_dict(self) -> dict:
        qa = self.qa.as_dict() if self.qa else None
        if qa and self.weeks is not None:
            qa["weekly"] = qa["weekly"][-self.weeks:]
        return {"dataset": self.dataset, "qa": qa, "monetisation": self.money.as_dict() if self.money else None}


def health(session: Session, data: str, *, weeks: int | None = None) -> CommunityReport:
    """Q&A health and/or monetisation KPIs of dataset ``data``."""
    if weeks is not None and weeks < 1:
        raise InvalidField("{weeks} must be at least 1", "weeks")
    record = datasets.get(session, data)
    events = datasets.load(record, "events")
    kinds = record.profile.get("kinds", {})
    qa = _qa(record, events) if kinds.get("ask") or _has_questions(record) else None
    money = None
    if any(kinds.get(k) for k in REVENUE_KINDS):
        items = datasets.load(record, "items") if "items" in record.tables else None
        money = monetisation(events, items)
    if qa is None and money is None:
        raise ConsoleError(f"dataset '{data}' has neither questions and answers (ask/answer events) nor revenue "
                           f"events ({', '.join(REVENUE_KINDS)}): no community or monetisation figures")
    return CommunityReport(record.name, qa, money, weeks)


def _has_questions(record: DatasetRecord) -> bool:
    return "items" in record.tables and "parent_id" in record.schema.get("items", {})


def _qa(record: DatasetRecord, events: pl.LazyFrame) -> QAHealth:
    if _has_questions(record):
        questions, answers = posts_from_items(datasets.load(record, "items"))
    else:
        questions, answers = posts_from_events(events)
    users = datasets.load(record, "users").collect() if "users" in record.tables else None
    badges = datasets.load(record, "badges").collect() if "badges" in record.tables else None
    if "comments" in record.tables:
        comments = record.tables["comments"]
    else:
        comments = record.profile.get("kinds", {}).get("comment")
    return qa_health(questions, answers, users, badges, comments)


def stickiness(actives: pl.DataFrame) -> list[float]:
    """DAU/MAU of each day of :func:`active_users` whose month window lies inside the data (every
    day when the data spans less than a month)."""
    full = actives.tail(actives.height - (MONTH_DAYS - 1)) if actives.height >= MONTH_DAYS else actives
    return [dau / mau for dau, mau in zip(full["dau"].to_list(), full["mau"].to_list(), strict=True) if mau]


def active_users(session: Session, data: str) -> pl.DataFrame:
    """DAU, WAU and MAU of dataset ``data`` for each day from its first event to its last
    (columns day, dau, wau, mau; see :func:`engine.community.activity.active_users`)."""
    record = datasets.get(session, data)
    return rolling_active_users(datasets.load(record, "events"))
