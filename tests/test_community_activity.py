"""Daily, weekly and monthly active users: against a count by hand, against the definition on the
sample platform (a set of people per day, unioned over each window), and through the service."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
import pytest

from conftest import SAMPLE_DATA
from engine.community.activity import active_users
from engine.errors import EngineError
from kpconsole.services import community, datasets
from kpconsole.services.datasets import IngestRequest
from store.errors import NotFound

JAN = dt.date(2026, 1, 1)


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour)


def people_within(people: dict[dt.date, set], day: dt.date, days: int) -> int:
    """Distinct people active on ``day`` or the ``days - 1`` days before it."""
    return len(set().union(*(people.get(day - dt.timedelta(days=k), set()) for k in range(days))))


def test_active_users_match_a_count_by_hand():
    # a: days 1, 2, 5 · b: days 2, 9 · c: twice on day 4 · a row without a time is left out
    events = pl.LazyFrame({
        "user_id": ["a", "a", "a", "b", "b", "c", "c", "d"],
        "ts": [at(1, 9), at(2), at(5, 23), at(2, 0), at(9), at(4, 8), at(4, 20), None],
    })
    got = active_users(events, week_days=3, month_days=5)
    assert got["day"].to_list() == [JAN + dt.timedelta(days=k) for k in range(9)]
    #                             day 1  2  3  4  5  6  7  8  9
    assert got["dau"].to_list() == [1, 2, 0, 1, 1, 0, 0, 0, 1]
    assert got["wau"].to_list() == [1, 2, 2, 3, 2, 2, 1, 0, 1]   # days d-2 … d
    assert got["mau"].to_list() == [1, 2, 2, 3, 3, 3, 2, 2, 2]   # days d-4 … d


def test_active_users_of_the_platform_match_the_definition_day_by_day():
    events = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv", try_parse_dates=True)
    people: dict[dt.date, set] = defaultdict(set)
    for user, ts in events.select("user_id", "ts").iter_rows():
        people[ts.date()].add(user)
    got = active_users(events.lazy())
    first, last = min(people), max(people)
    assert got.height == (last - first).days + 1
    for day, dau, wau, mau in got.iter_rows():
        assert (dau, wau, mau) == tuple(people_within(people, day, w) for w in (1, 7, 30)), day


def test_no_events_give_no_days_and_a_window_under_a_day_is_refused():
    empty = pl.LazyFrame(schema={"user_id": pl.Int64, "ts": pl.Datetime("us")})
    assert active_users(empty).columns == ["day", "dau", "wau", "mau"] and active_users(empty).height == 0
    with pytest.raises(EngineError, match="at least one day"):
        active_users(empty, month_days=0)


def test_the_service_gives_a_datasets_actives_and_names_an_unknown_one(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    got = community.active_users(session, "platform")
    record = datasets.get(session, "platform")
    assert str(got["day"][-1]) == record.profile["ts_max"][:10]
    assert (got["dau"] <= got["wau"]).all() and (got["wau"] <= got["mau"]).all()
    last = got["day"][-1]
    month = (datasets.load(record, "events").filter(pl.col("ts").dt.date() > last - dt.timedelta(days=30))
             .select(pl.col("user_id").n_unique()).collect().item())
    assert got["mau"][-1] == month <= record.profile["n_users"]
    with pytest.raises(NotFound, match="nope"):
        community.active_users(session, "nope")
