"""The Stack Exchange importer on the four real dumps, checked against stats.json and against
figures this test computes itself with a direct XML pass (never the importer's own output)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime

import polars as pl
import pytest

from conftest import SE_SITES, STACKEXCHANGE
from engine.data.stackexchange import import_dump

FILE_TABLE = {
    "Users.xml": "users", "Posts.xml": "items", "Badges.xml": "badges", "Tags.xml": "tags", "Votes.xml": "votes",
    "Comments.xml": "comments", "PostLinks.xml": "post_links", "PostHistory.xml": "post_history",
}
STATS = json.loads((STACKEXCHANGE / "stats.json").read_text()) if STACKEXCHANGE.exists() else {}


def rows(site: str, name: str) -> list[dict]:
    path = STACKEXCHANGE / site / name
    return [el.attrib for _, el in ET.iterparse(path) if el.tag == "row"] if path.exists() else []


@pytest.fixture(scope="module", params=SE_SITES)
def imported(request, tmp_path_factory):
    site = request.param
    dest = tmp_path_factory.mktemp(site)
    result = import_dump(STACKEXCHANGE / site, dest)
    tables = {name: pl.read_parquet(dest / f"{name}.parquet") for name in result.tables}
    return site, result, tables


def test_all_four_sites_are_present():
    assert len(SE_SITES) == 4


def test_every_file_parses_with_the_row_counts_of_stats_json(imported):
    site, result, tables = imported
    expected = {name: info["rows"] for name, info in STATS[site].items()}
    assert result.files == expected
    for name, count in expected.items():
        assert tables[FILE_TABLE[name]].height == count


def test_questions_answers_and_acceptance_match_the_xml(imported):
    site, _result, tables = imported
    posts = rows(site, "Posts.xml")
    items = tables["items"]
    kinds = Counter(p["PostTypeId"] for p in posts)
    assert items.filter(pl.col("kind") == "question").height == kinds["1"]
    assert items.filter(pl.col("kind") == "answer").height == kinds["2"]
    accepted = {p["AcceptedAnswerId"] for p in posts if "AcceptedAnswerId" in p}
    got = set(items.filter(pl.col("is_accepted").fill_null(False))["item_id"].cast(pl.String).to_list())
    post_ids = {p["Id"] for p in posts}
    assert got == accepted & post_ids


def test_answer_latency_matches_a_direct_computation(imported):
    site, _result, tables = imported
    posts = rows(site, "Posts.xml")
    created = {p["Id"]: datetime.fromisoformat(p["CreationDate"]) for p in posts}
    first: dict[str, datetime] = {}
    for p in posts:
        if p["PostTypeId"] == "2" and p.get("ParentId") in created:
            t = created[p["Id"]]
            first[p["ParentId"]] = min(first.get(p["ParentId"], t), t)
    latency = {q: (t - created[q]).total_seconds() for q, t in first.items()}
    items = tables["items"].filter(pl.col("kind") == "question")
    got = dict(zip(items["item_id"].cast(pl.String).to_list(), items["first_answer_seconds"].to_list(), strict=True))
    questions = {p["Id"] for p in posts if p["PostTypeId"] == "1"}
    assert {q for q in questions if got[q] is not None} == {q for q in questions if q in latency}
    for q, seconds in latency.items():
        if q in got:
            assert got[q] == pytest.approx(seconds, abs=1e-3)


def test_user_events_match_the_xml(imported):
    site, _result, tables = imported
    posts = rows(site, "Posts.xml")
    thread = {p["Id"]: (p["ParentId"] if p["PostTypeId"] == "2" else p["Id"]) for p in posts}
    expected = Counter()
    expected["ask"] = sum(1 for p in posts if p["PostTypeId"] == "1" and "OwnerUserId" in p)
    expected["answer"] = sum(1 for p in posts if p["PostTypeId"] == "2" and "OwnerUserId" in p)
    expected["comment"] = sum(1 for c in rows(site, "Comments.xml") if "UserId" in c)
    votes = rows(site, "Votes.xml")
    for type_id, kind in (("5", "favorite"), ("8", "bounty"), ("9", "bounty_award")):
        expected[kind] = sum(1 for v in votes if v["VoteTypeId"] == type_id and "UserId" in v)
    expected["edit"] = sum(1 for h in rows(site, "PostHistory.xml") if h["PostHistoryTypeId"] in ("4", "5", "6")
                           and "UserId" in h)
    events = tables["events"]
    got = Counter(dict(zip(*events.group_by("kind").len().to_dict(as_series=False).values(), strict=True)))
    assert +got == +expected
    comments = [c for c in rows(site, "Comments.xml") if "UserId" in c]
    if comments:
        c = comments[0]
        hit = events.filter((pl.col("kind") == "comment") & (pl.col("user_id") == int(c["UserId"]))
                            & (pl.col("ts") == datetime.fromisoformat(c["CreationDate"])))
        assert hit["item_id"].cast(pl.String).to_list()[0] == thread.get(c["PostId"], c["PostId"])


def test_reputation_and_badges_are_kept(imported):
    site, _result, tables = imported
    users = rows(site, "Users.xml")
    rep = {int(u["Id"]): int(u["Reputation"]) for u in users}
    got = dict(zip(tables["users"]["user_id"].to_list(), tables["users"]["reputation"].to_list(), strict=True))
    assert got == rep
    gold = sum(1 for b in rows(site, "Badges.xml") if b["Class"] == "1")
    assert tables["badges"].filter(pl.col("class") == 1).height == gold


def test_tags_of_both_dump_styles_are_split():
    from engine.data.stackexchange import _tags

    frame = pl.DataFrame({"t": ["<a><b-c>", "|x|y|", None]})
    assert frame.select(_tags(pl.col("t")).alias("t"))["t"].to_list() == [["a", "b-c"], ["x", "y"], None]


def test_shipped_sample_is_the_quantumcomputing_dump_without_texts(tmp_path):
    from conftest import SAMPLE_DATA

    result = import_dump(SAMPLE_DATA / "stackexchange" / "quantumcomputing", tmp_path)
    assert result.files == {name: info["rows"] for name, info in STATS["quantumcomputing.stackexchange.com"].items()}
