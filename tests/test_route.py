"""Question routing: BM25 and the metrics by hand, the protocol on the real dumps, the CLI's refusals."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from conftest import SAMPLE_DATA, STACKEXCHANGE, qa_posts_of
from engine.community.route import fit_router, route
from engine.community.route_eval import (
    cut_at, evaluate_routing, metrics_of_ranks, paired_bootstrap, relevant_ranks,
)
from engine.community.route_features import FEATURES, profiles_at, question_features
from engine.community.route_text import BM25Index, strip_html, tokenize, tokens_expr
from engine.data.stackexchange import import_dump

QC_FULL = STACKEXCHANGE / "quantumcomputing.stackexchange.com"
QC_SAMPLE = SAMPLE_DATA / "stackexchange" / "quantumcomputing"
BICYCLES = STACKEXCHANGE / "bicycles.meta.stackexchange.com"


@pytest.fixture(scope="module")
def qc(tmp_path_factory):
    return qa_posts_of(QC_FULL, tmp_path_factory.mktemp("route") / "qc")


# --- text -------------------------------------------------------------------------------------

def test_bm25_matches_the_formula_worked_by_hand():
    docs = [["qubit", "gate", "qubit"], ["gate"], ["noise", "channel", "noise", "noise"]]
    index = BM25Index.fit(docs, k1=1.2, b=0.75)
    n, avgdl = 3, (3 + 1 + 4) / 3

    def weight(tf, df, length):
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avgdl))

    got = index.scores([["qubit", "gate", "qubit"], ["noise", "unseen"]])
    # a repeated query term counts once; a term the index never saw adds nothing
    assert got[0] == pytest.approx([weight(2, 1, 3) + weight(1, 2, 3), weight(1, 2, 1), 0.0])
    assert got[1] == pytest.approx([0.0, 0.0, weight(3, 1, 4)])
    # idf ln(1 + 2.5/1.5) = 0.98083; 2 · 2.2 / (2 + 1.2 · (0.25 + 0.75 · 3 / (8/3))) = 1.32830
    assert weight(2, 1, 3) == pytest.approx(1.3028, abs=1e-4)


def test_html_is_stripped_and_the_polars_tokens_equal_the_python_ones_on_the_real_bodies(tmp_path):
    assert tokenize(strip_html("<p>A <code>CNOT</code> &amp; Hadamard&nbsp;gate</p>")) == ["cnot", "hadamard", "gate"]
    dest = tmp_path / "qc"
    dest.mkdir()
    import_dump(QC_FULL, dest)
    bodies = pl.read_parquet(dest / "post_texts.parquet")
    assert bodies.height == 1986 and bodies["body"].str.contains("<p>").sum() > 1500
    fast = bodies.select(tokens_expr(pl.col("body")))["body"].to_list()
    assert fast == [tokenize(strip_html(b)) for b in bodies["body"].to_list()]
    assert not any("<" in t or "amp" == t for tokens in fast for t in tokens)


# --- metrics ----------------------------------------------------------------------------------

def test_metrics_worked_by_hand():
    # question 1: relevant users at ranks 2 and 7 (of 2 relevant); question 2: one relevant, not ranked
    m = metrics_of_ranks([np.array([7, 2]), np.array([], dtype=np.int64)], np.array([2, 1]))
    assert m["hit@1"].tolist() == [0.0, 0.0]
    assert m["hit@5"].tolist() == [1.0, 0.0] and m["hit@10"].tolist() == [1.0, 0.0]
    assert m["mrr"].tolist() == [0.5, 0.0]
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert m["ndcg@10"][0] == pytest.approx((1 / math.log2(3) + 1 / math.log2(8)) / ideal)
    assert m["ndcg@10"][0] == pytest.approx(0.5912, abs=1e-4)  # (0.63093 + 0.33333) / (1 + 0.63093)


def test_equal_scores_rank_by_the_secondary_key_then_the_lower_user():
    scores = np.array([[1.0, 2.0, 2.0, 2.0]])
    assert relevant_ranks(scores, [np.array([3, 1, 0])])[0].tolist() == [3, 1, 4]
    assert relevant_ranks(scores, [np.array([3, 1])], secondary=np.array([0, 0, 0, 5.0]))[0].tolist() == [1, 2]


def test_paired_bootstrap_is_seeded_and_brackets_the_mean_difference():
    rng = np.random.default_rng(3)
    a, b = rng.random(200), rng.random(200) - 0.2
    first, again = paired_bootstrap(a, b, seed=7), paired_bootstrap(a, b, seed=7)
    assert first == again
    mean, low, high = first
    assert mean == pytest.approx((a - b).mean()) and low < mean < high and low > 0


# --- features and the ranker on the real dump --------------------------------------------------

def test_profiles_see_only_the_past(qc):
    cut = cut_at(qc, 0.5)
    profiles = profiles_at(qc, cut)
    before = qc.answers.filter(pl.col("created_at") < cut)
    assert profiles.answers.sum() == before.filter(pl.col("user_id").is_in(profiles.users.tolist())).height
    top = before.group_by("user_id").len().sort("len", descending=True).row(0)
    assert profiles.answers[profiles.index_of(np.array([top[0]]))[0]] == top[1]
    assert profiles.answers_30.max() <= profiles.answers_90.max() <= profiles.answers.max()


def test_a_question_is_routed_to_people_who_answered_its_tags(qc):
    model = fit_router(qc, seed=0)
    assert model.weights[FEATURES.index("hybrid")] == 0.0  # the hybrid's feature is a named variant, off by default
    profiles = profiles_at(qc, qc.span[1] + dt.timedelta(seconds=1))
    got = route(model, profiles, ["qiskit", "grovers-algorithm"], tokenize("grover search with qiskit"), k=5)
    assert len(got) == 5 and [s.score for s in got] == sorted((s.score for s in got), reverse=True)
    assert all(s.shared_tags for s in got[:3])
    assert all(s.answers > 0 for s in got)


def test_fitting_the_router_is_seeded_and_quick(qc):
    import time

    start = time.perf_counter()
    first = fit_router(qc, cut_at(qc, 0.67), seed=0)
    assert time.perf_counter() - start < 20  # seconds, on a busy shared machine (about 1 s alone)
    again = fit_router(qc, cut_at(qc, 0.67), seed=0)
    assert np.array_equal(first.weights, again.weights)


def test_the_router_beats_mostpop_on_quantumcomputing(qc):
    ev = evaluate_routing(qc, cut_at(qc, 0.67), seed=0, bootstrap=1000)
    assert ev.questions == 130 and ev.candidates == 448
    mostpop = ev.baselines["mostpop"]
    assert ev.router["hit@10"] > mostpop["hit@10"] + 0.05
    assert ev.router["ndcg@10"] > mostpop["ndcg@10"] and ev.router["mrr"] > mostpop["mrr"]
    assert ev.differences["mostpop"]["hit@10"][1] > 0  # the paired interval's lower bound
    assert ev.router["hit@10"] > ev.baselines["bm25"]["hit@10"] and ev.accepted["questions"] > 50


def test_features_are_finite_and_the_asker_is_marked(qc):
    profiles = profiles_at(qc, cut_at(qc, 0.67))
    asker = int(profiles.users[0])
    x = question_features(profiles, [["qiskit"]], [["qiskit"]], np.array([asker]))
    assert np.isfinite(x).all() and x.shape == (1, len(profiles.users), len(FEATURES))
    assert x[0, 0, FEATURES.index("is_asker")] == 1.0 and x[0, 1:, FEATURES.index("is_asker")].sum() == 0


# --- the console ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def route_ws(tmp_path_factory):
    from conftest import run_cli

    root = tmp_path_factory.mktemp("route_ws") / "ws"
    for args in (["init"], ["data", "ingest", str(QC_SAMPLE), "-n", "qc"],
                 ["data", "ingest", str(SAMPLE_DATA / "platform"), "-n", "platform"]):
        done = run_cli(args, root)
        assert done.returncode == 0, done.stderr
    return root


def test_route_cli_lists_answerers_with_why_and_evaluates_in_json(route_ws, cli):
    shown = cli("--workspace", str(route_ws), "route", "4125", "--data", "qc", "-k", "3", "--json")
    assert shown.code == 0, shown.stderr
    got = shown.json()
    assert got["question_id"] == 4125 and len(got["suggestions"]) == 3 and got["text"].startswith("titles and tags")
    assert {"shared_tags", "recent_answers", "acceptance_rate", "active"} <= set(got["suggestions"][0])
    new = cli("--workspace", str(route_ws), "route", "--data", "qc", "--title", "Grover on qiskit", "--tags",
              "qiskit,grovers-algorithm", "--json")
    assert new.code == 0 and new.json()["question_id"] is None and len(new.json()["suggestions"]) == 10
    ev = cli("--workspace", str(route_ws), "route", "evaluate", "--data", "qc", "--cut", "0.67", "--json",
             "--bootstrap", "200")
    assert ev.code == 0, ev.stderr
    report = ev.json()
    assert report["questions"] == 130 and set(report["baselines"]) == {"mostpop", "recentpop", "tagpop", "bm25"}
    assert set(report["router"]) == {"hit@1", "hit@5", "hit@10", "mrr", "ndcg@10"}
    assert report["router"]["hit@10"] > report["baselines"]["mostpop"]["hit@10"]
    assert report["profiles"] == "question" and report["candidate_set"] == "cut"  # the defaults


def test_route_evaluate_can_freeze_the_profiles_at_the_cut_and_says_which_protocol_it_ran(route_ws, cli):
    frozen = cli("--workspace", str(route_ws), "route", "evaluate", "--data", "qc", "--cut", "0.67", "--profiles",
                 "cut", "--bootstrap", "100", "--json")
    assert frozen.code == 0, frozen.stderr
    assert frozen.json()["profiles"] == "cut" and frozen.json()["baselines"]["mostpop"]["hit@10"] == 0.6769
    shown = cli("--workspace", str(route_ws), "route", "evaluate", "--data", "qc", "--cut", "0.67", "--profiles",
                "day", "--candidates", "question", "--bootstrap", "100")
    assert shown.code == 0, shown.stderr
    words = " ".join(shown.stdout.split())  # the header wraps at the terminal's width
    assert "featured from the history before each question's day" in words
    assert "users ranked (active before each question)" in words


@pytest.mark.parametrize(("args", "message"), [
    (["route", "999999", "--data", "qc"], "QUESTION_ID: no question 999999 in dataset 'qc'"),
    (["route", "5", "--data", "nope"], "no dataset named 'nope'"),
    (["route", "5", "--data", "platform"], "--data: dataset 'platform' is not a Q&A dump"),
    (["route", "evaluate", "--data", "platform", "--cut", "0.5"], "--data: dataset 'platform' is not a Q&A"),
    (["route", "evaluate", "--data", "qc", "--cut", "soon"], "--cut: 'soon' is neither a ratio in (0, 1) nor a date"),
    (["route", "evaluate", "--data", "qc", "--cut", "1.5"], "--cut: 1.5 is not a ratio strictly between 0 and 1"),
    (["route", "evaluate", "--data", "qc", "--cut", "2031-01-01"], "--cut: 2031-01-01 is outside the dataset's posts"),
    (["route", "5", "--data", "qc", "-k", "0"], "--k: 0 is not a positive number of users"),
    (["route", "evaluate", "--data", "qc", "--cut", "0.67", "--profiles", "weekly"],
     "--profiles: 'weekly' is not a way to profile (one of question, day, cut)"),
    (["route", "evaluate", "--data", "qc", "--cut", "0.67", "--candidates", "all"],
     "--candidates: 'all' is not a candidate set (one of cut, question)"),
])
def test_bad_route_requests_are_one_line_naming_the_field(route_ws, cli, args, message):
    done = cli("--workspace", str(route_ws), *args)
    assert done.code != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_service_errors_name_the_field_without_cli_flags(route_ws):
    from kpconsole.services import route as service
    from kpconsole.session import open_session

    with pytest.raises(service.RouteInputError) as caught:
        service.evaluate(open_session(route_ws), "qc", "soon")
    assert caught.value.field == "cut" and "--" not in str(caught.value) and "kpconsole " not in str(caught.value)


@pytest.mark.slow
def test_the_router_beats_mostpop_mrr_on_bicycles_meta(tmp_path):
    posts = qa_posts_of(BICYCLES, tmp_path / "bicycles")
    ev = evaluate_routing(posts, cut_at(posts, 0.67), seed=0, bootstrap=500)
    assert ev.questions == 50
    assert ev.router["mrr"] >= 1.3 * ev.baselines["mostpop"]["mrr"]


# --- unanswered questions ---------------------------------------------------------------------

def test_routing_several_questions_at_once_equals_routing_each(qc):
    from engine.community.route import route_many

    model = fit_router(qc, seed=0)
    profiles = profiles_at(qc, qc.span[1])
    questions = qc.questions.tail(4)
    tags, tokens = questions["tags"].to_list(), questions["tokens"].to_list()
    askers = questions["user_id"].to_list()
    for by in ("router", "tagpop", "mostpop"):
        together = route_many(model, profiles, tags, tokens, askers, k=5, by=by)
        alone = [route(model, profiles, t, w, asker=a, k=5, by=by) for t, w, a in zip(tags, tokens, askers, strict=True)]
        assert together == alone


def test_routing_in_batches_equals_routing_each(qc, monkeypatch):
    from engine.community import route as router

    monkeypatch.setattr(router, "BATCH", 3)
    model = fit_router(qc, seed=0)
    profiles = profiles_at(qc, qc.span[1])
    questions = qc.questions.tail(7)
    tags, tokens, askers = questions["tags"].to_list(), questions["tokens"].to_list(), questions["user_id"].to_list()
    batched = router.route_many(model, profiles, tags, tokens, askers, k=4)
    assert batched == [route(model, profiles, t, w, asker=a, k=4) for t, w, a in zip(tags, tokens, askers, strict=True)]


def test_baseline_routers_rank_as_their_evaluation_does(qc):
    from engine.community.route import router_scores

    model = fit_router(qc, seed=0)
    profiles = profiles_at(qc, qc.span[1])
    question = qc.questions.tail(1)
    tags = question["tags"].to_list()
    x = question_features(profiles, tags, question["tokens"].to_list(), np.asarray([-1]))
    tagpop, tie = router_scores("tagpop", model, profiles, x)
    expected = np.asarray(profiles.answer_tags[:, [profiles.tags[t] for t in tags[0] if t in profiles.tags]].sum(axis=1)).ravel()
    assert tagpop[0] == pytest.approx(expected) and tie is profiles.answers
    mostpop, none = router_scores("mostpop", model, profiles, x)
    assert list(mostpop[0]) == list(profiles.answers) and none is None
    top = route(model, profiles, tags[0], [], k=3, by="mostpop")
    assert [s.user_id for s in top] == [int(profiles.users[i]) for i in np.lexsort((np.arange(len(profiles.users)),
                                                                                      -profiles.answers))[:3]]


def test_unanswered_lists_the_newest_questions_without_an_answer_with_answerers(route_ws, cli):
    import glob

    items = pl.read_parquet(glob.glob(str(route_ws / "data" / "qc-*" / "items.parquet"))[0])
    answered = items.filter(pl.col("parent_id").is_not_null()).select(pl.col("parent_id").alias("item_id")).unique()
    open_questions = (items.filter(pl.col("kind") == "question").join(answered, on="item_id", how="anti")
                      .sort("created_at", "item_id", descending=True))
    shown = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "-n", "4", "-k", "2", "--json")
    assert shown.code == 0, shown.stderr
    got = shown.json()
    assert got["total"] == open_questions.height == 43 and got["by"] == "router"
    assert [q["question_id"] for q in got["questions"]] == open_questions["item_id"].head(4).to_list()
    assert [q["title"] for q in got["questions"]] == open_questions["title"].head(4).to_list()
    assert all(len(q["suggestions"]) == 2 for q in got["questions"])
    by_tags = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "-n", "1", "--by", "tagpop",
                  "--json").json()
    first = by_tags["questions"][0]
    assert by_tags["by"] == "tagpop" and set(first["suggestions"][0]["shared_tags"]) <= set(first["tags"])
    assert first["suggestions"][0]["shared_tags"], "tagpop's best answerer shares a tag"
    table = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "-n", "2")
    assert table.code == 0 and "43 unanswered questions in 'qc'" in table.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "nope"], "--by: 'nope' is not a router (one of router, mostpop, recentpop, tagpop, bm25)"),
    (["-n", "0"], "--limit: 0 is not a positive number of questions"),
    (["-k", "0"], "--k: 0 is not a positive number of users"),
])
def test_bad_unanswered_requests_are_one_line_naming_the_field(route_ws, cli, args, message):
    done = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", *args)
    assert done.code == 1 and done.stderr == f"kpconsole: {message}\n"


def test_unanswered_exports_one_row_per_question_and_answerer_atomically(route_ws, cli, tmp_path):
    out = tmp_path / "answerers.parquet"
    done = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "--all", "-k", "2",
               "--out", str(out), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["rows"] == 86  # 43 unanswered questions × 2
    rows = pl.read_parquet(out)
    listed = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "--all", "-k", "2",
                 "--json").json()
    assert rows["question_id"].unique(maintain_order=True).to_list() == [q["question_id"] for q in listed["questions"]]
    first = listed["questions"][0]["suggestions"][0]
    assert rows.row(0, named=True)["user_id"] == first["user_id"] and rows["rank"].head(2).to_list() == [1, 2]
    assert rows.row(0, named=True)["shared_tags"] == ",".join(f"{t}:{n}" for t, n in first["shared_tags"].items())
    refused = cli("--workspace", str(route_ws), "route", "unanswered", "--data", "qc", "--by", "nope",
                  "--out", str(out))
    assert refused.code == 1 and pl.read_parquet(out).height == 86  # the old file is kept whole
    assert [p.name for p in tmp_path.iterdir()] == ["answerers.parquet"]
