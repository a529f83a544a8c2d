"""Community health on the four real Stack Exchange dumps, checked against figures computed
here by a direct pass over the XML files (xml.etree), and monetisation KPIs on the generated
platform checked against a plain-Python pass over its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import statistics
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

import numpy as np
import pytest

from conftest import SAMPLE_DATA, SE_SITES, SHARED_DATA
from kpconsole.services import community, datasets
from kpconsole.services.datasets import IngestRequest

STACKEXCHANGE = SHARED_DATA / "stackexchange"


def rows(site: str, name: str) -> list[dict]:
    path = STACKEXCHANGE / site / name
    return [el.attrib for el in ET.parse(path).getroot().iter("row")] if path.exists() else []


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def gini_by_mean_difference(values: list[int]) -> float:
    """G = Σ_i Σ_j |x_i − x_j| / (2 n² mean) — a different formula from the one under test."""
    x = np.array(values, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def expected_figures(site: str) -> dict:
    posts = rows(site, "Posts.xml")
    questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    answers = [p for p in posts if p["PostTypeId"] == "2"]
    answer_ids = {a["Id"] for a in answers}
    by_question = defaultdict(list)
    for a in answers:
        by_question[a.get("ParentId")].append(a)
    answered = accepted = 0
    latency = []
    for qid, q in questions.items():
        mine = by_question.get(qid, [])
        has_accepted = q.get("AcceptedAnswerId") in answer_ids
        accepted += has_accepted
        answered += has_accepted or any(int(a["Score"]) > 0 for a in mine)
        if mine:
            first = min(when(a["CreationDate"]) for a in mine)
            latency.append((first - when(q["CreationDate"])).total_seconds() / 3600)
    stamps = [when(p["CreationDate"]) for p in posts if p["PostTypeId"] in ("1", "2")]
    per_user = Counter(p["OwnerUserId"] for p in posts if p["PostTypeId"] in ("1", "2") and p.get("OwnerUserId"))
    counts = sorted(per_user.values(), reverse=True)
    top = math.ceil(0.01 * len(counts))
    reputation = [int(u["Reputation"]) for u in rows(site, "Users.xml")]
    badges = rows(site, "Badges.xml")
    return {
        "questions": len(questions),
        "answers": len(answers),
        "questions_per_day": len(questions) / ((max(stamps) - min(stamps)).total_seconds() / 86400),
        "answered_pct": 100 * answered / len(questions),
        "accepted_pct": 100 * accepted / len(questions),
        "answers_per_question": len(answers) / len(questions),
        "first_answer_median_hours": statistics.median(latency),
        "first_answer_p90_hours": float(np.percentile(latency, 90)),
        "users_200": sum(r >= 200 for r in reputation),
        "users_2000": sum(r >= 2000 for r in reputation),
        "users_3000": sum(r >= 3000 for r in reputation),
        "contributors": len(counts),
        "contribution_gini": gini_by_mean_difference(counts),
        "contribution_top1_share": sum(counts[:top]) / sum(counts),
        "badges": len(badges),
        "badge_classes": Counter(b["Class"] for b in badges),
        "badge_users": len({b["UserId"] for b in badges}),
        "comments": len(rows(site, "Comments.xml")),
    }


@pytest.mark.skipif(not SE_SITES, reason="../shared/data/stackexchange is not there")
@pytest.mark.parametrize("site", SE_SITES)
def test_health_of_a_real_dump_matches_a_direct_xml_pass(session, site):
    datasets.ingest(session, IngestRequest(path=STACKEXCHANGE / site, name="site"))
    report = community.health(session, "site")
    assert report.money is None  # no money moves on Stack Exchange
    got, want = report.qa.figures, expected_figures(site)
    for key in ("questions", "answers", "users_200", "users_2000", "users_3000", "contributors", "comments"):
        assert got[key] == want[key], key
    for key in ("questions_per_day", "answered_pct", "accepted_pct", "answers_per_question",
                "first_answer_median_hours", "first_answer_p90_hours", "contribution_gini", "contribution_top1_share"):
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    assert got["answered_rule"] == "accepted or score > 0"
    badges = report.qa.badges
    assert badges["total"] == want["badges"] and badges["users"] == want["badge_users"]
    assert badges["by_class"] == {name: want["badge_classes"][c] for c, name in (("1", "gold"), ("2", "silver"),
                                                                               ("3", "bronze")) if want["badge_classes"][c]}
    weekly = report.qa.weekly
    assert weekly["questions"].sum() == want["questions"] and weekly["answers"].sum() == want["answers"]
    assert (weekly["week"].diff().drop_nulls() == dt.timedelta(weeks=1)).all()
    area51 = {r["figure"]: r for r in report.qa.area51}
    assert area51["answered_pct"]["target"] == 90 and area51["users_200"]["target"] == 150
    assert area51["questions_per_day"]["meets"] is (want["questions_per_day"] >= 15)
    assert area51["users_3000"]["meets"] is (want["users_3000"] >= 5)


def platform_money_by_hand() -> dict:
    with (SAMPLE_DATA / "platform" / "events.csv").open() as fh:
        events = list(csv.DictReader(fh))
    with (SAMPLE_DATA / "platform" / "items.csv").open() as fh:
        items = list(csv.DictReader(fh))
    gross = sum(float(e["amount"]) for e in events if e["kind"] in ("purchase", "subscribe", "renew"))
    refunds = sum(float(e["amount"]) for e in events if e["kind"] == "refund")
    active = {e["user_id"] for e in events}
    paying = {e["user_id"] for e in events if e["kind"] in ("purchase", "subscribe", "renew") and float(e["amount"]) > 0}
    creator = {i["item_id"]: i["creator_id"] for i in items if i["creator_id"] and i["price"] and float(i["price"]) > 0}
    income = {c: 0.0 for c in creator.values()}
    for e in events:
        if e["item_id"] in creator and e["kind"] in ("purchase", "refund"):
            income[creator[e["item_id"]]] += float(e["amount"]) * (1 if e["kind"] == "purchase" else -1)
    # MRR at the end of May 2026: subscribers whose last payment is < 30 days old and not cancelled since
    at = dt.datetime(2026, 5, 31, 23, 59, 59, 999999)
    last_pay, last_stop = {}, {}
    for e in events:
        ts = dt.datetime.fromisoformat(e["ts"])
        if ts > at:
            continue
        if e["kind"] in ("subscribe", "renew") and (e["user_id"] not in last_pay or ts >= last_pay[e["user_id"]][0]):
            last_pay[e["user_id"]] = (ts, float(e["amount"]))
        if e["kind"] == "cancel":
            last_stop[e["user_id"]] = max(ts, last_stop.get(e["user_id"], ts))
    mrr = sum(amount for user, (ts, amount) in last_pay.items()
              if at - ts < dt.timedelta(days=30) and not (user in last_stop and last_stop[user] >= ts))
    return {"gross": gross, "refunds": refunds, "active": len(active), "paying": len(paying),
            "income": list(income.values()), "mrr_may": mrr}


def test_platform_monetisation_matches_a_plain_pass_over_the_csv(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    money = community.health(session, "platform").money
    f, want = money.figures, platform_money_by_hand()
    assert f["gross_revenue"] == pytest.approx(want["gross"]) and f["refunds"] == pytest.approx(want["refunds"])
    assert f["active_users"] == want["active"] and f["paying_users"] == want["paying"]
    net = want["gross"] - want["refunds"]
    assert f["arpu"] == pytest.approx(net / want["active"]) and f["arppu"] == pytest.approx(net / want["paying"])
    assert f["paying_ratio"] == pytest.approx(want["paying"] / want["active"])
    assert f["refund_rate"] == pytest.approx(want["refunds"] / want["gross"])
    assert f["creators"] == len(want["income"])
    assert f["creator_income_gini"] == pytest.approx(gini_by_mean_difference([max(x, 0) for x in want["income"]]))
    monthly = money.monthly
    may = monthly.filter(monthly["month"] == dt.datetime(2026, 5, 1))
    assert may["mrr"].item() == pytest.approx(want["mrr_may"])
    # the roll-forward adds up, month after month
    previous = 0.0
    for row in monthly.iter_rows(named=True):
        assert row["mrr"] == pytest.approx(previous + row["new_mrr"] + row["expansion_mrr"]
                                           - row["contraction_mrr"] - row["churned_mrr"])
        previous = row["mrr"]
    assert monthly["net_revenue"].sum() == pytest.approx(net)


def test_the_platform_has_questions_too_and_the_cli_prints_json(cli, session, workspace):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    result = cli("community", "health", "--data", "platform", "--weeks", "4", "--json", "-w", str(workspace))
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    with (SAMPLE_DATA / "platform" / "events.csv").open() as fh:
        kinds = Counter(e["kind"] for e in csv.DictReader(fh))
    assert report["qa"]["questions"] == kinds["ask"] and report["qa"]["answers"] == kinds["answer"]
    assert report["qa"]["answered_rule"].startswith("any answer")
    assert len(report["qa"]["weekly"]) == 4 and report["monetisation"]["net_revenue"] > 0
    table = cli("community", "health", "--data", "platform", "-w", str(workspace))
    assert table.code == 0 and "Area 51 targets" in table.stdout and "MRR at month end" in table.stdout


def test_a_dataset_with_neither_questions_nor_money_is_a_one_line_error(cli, session, workspace, tmp_path):
    folder = tmp_path / "views"
    folder.mkdir()
    (folder / "events.csv").write_text("user_id,item_id,kind,ts\n1,1,view,2024-01-01\n2,1,view,2024-01-02\n")
    datasets.ingest(session, IngestRequest(path=folder, name="views"))
    result = cli("community", "health", "--data", "views", "-w", str(workspace))
    assert result.code == 1 and result.stderr.count("\n") == 1
    assert "has neither questions and answers" in result.stderr
    missing = cli("community", "health", "--data", "nope", "-w", str(workspace))
    assert missing.code == 1 and "no dataset named 'nope'" in missing.stderr
