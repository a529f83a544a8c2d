"""``kpconsole model …`` and ``kpconsole recommend`` end to end, on the sample platform and the
real Quantum Computing Stack Exchange dump; bad input is one line and changes nothing."""

from __future__ import annotations

import json

import polars as pl
import pytest
from conftest import SAMPLE_DATA, run_cli, tree_state

from kpconsole.cli import main
from kpconsole.errors import PermissionDenied
from kpconsole.identity import Actor, Role
from kpconsole.reads import models as model_reads
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.session import Session
from store import audit

FAST = {"pop": [], "itemknn": [], "ease": [], "als": ["--epochs", "5"], "bpr": ["--epochs", "3"],
        "ncf": ["--epochs", "2", "--factors", "8", "--param", "layers=16-8"]}


@pytest.fixture
def ws(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "stackexchange" / "quantumcomputing", name="qc"))
    return session.ws.root


def cli(capsys, ws, *args):
    """Run the CLI in this process; returns (exit code, stdout, stderr) as a user would see them."""
    with pytest.raises(SystemExit) as ended:
        main(["--workspace", str(ws), *map(str, args)])
    out = capsys.readouterr()
    return ended.value.code, out.out, out.err


def cli_json(capsys, ws, *args):
    code, out, err = cli(capsys, ws, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.slow
def test_every_model_trains_evaluates_and_recommends_through_the_cli_on_both_datasets(capsys, ws):
    users = {"platform": "17", "qc": "26"}
    trained = {}
    for data in ("platform", "qc"):
        for algo, extra in FAST.items():
            record = cli_json(capsys, ws, "model", "train", "--data", data, "--algo", algo, *extra)
            assert record["algo"] == algo and record["dataset"] == data and record["metrics"]["users"] > 0
            trained[(data, algo)] = record["id"]
            evaluation = cli_json(capsys, ws, "model", "evaluate", record["id"], "--k", "5", "10")
            assert evaluation["ks"] == [5, 10]
            assert evaluation["metrics"]["ndcg@10"] == pytest.approx(record["metrics"]["ndcg@10"], abs=1e-9)
            listed = cli_json(capsys, ws, "recommend", users[data], "--model", record["id"], "-k", "5", "--explain")
            assert len(listed["items"]) == 5 and listed["known"]
            assert all(item["because"] for item in listed["items"])
    assert len(cli_json(capsys, ws, "model", "list")) == 12
    shown = cli_json(capsys, ws, "model", "show", trained[("qc", "als")])
    assert shown["interactions"]["kinds"] == ["answer", "comment", "favorite"]
    assert len(shown["fit"]["history"]) == 5
    ids = [trained[("platform", a)] for a in FAST]
    comparison = cli_json(capsys, ws, "model", "compare", *ids, "--k", "10")
    assert [r["algo"] for r in comparison["rows"]] == list(FAST) and comparison["comparable"]
    code, out, _ = cli(capsys, ws, "model", "compare", *ids)
    assert code == 0 and "ndcg@10" in out and "itemknn" in out


def test_explanations_name_the_users_own_interactions_with_titles(capsys, ws):
    record = cli_json(capsys, ws, "model", "train", "--data", "qc", "--algo", "itemknn")
    listed = cli_json(capsys, ws, "recommend", "26", "--model", record["id"], "-k", "3", "--explain")
    because = [item["because"] for item in listed["items"]]
    assert all(b.startswith("because you ") and "“" in b for b in because), because
    verbs = {r["verb"] for item in listed["items"] for r in item["reasons"]}
    assert verbs <= {"answered", "commented on", "saved"}
    code, out, err = cli(capsys, ws, "recommend", "26", "--model", record["id"], "-k", "3", "--explain")
    assert code == 0 and "because you" in out and "user 26" in err


def test_unknown_users_get_the_cold_start_list_and_filters_apply(capsys, ws):
    record = cli_json(capsys, ws, "model", "train", "--data", "platform", "--algo", "als", "--epochs", "3")
    cold = cli_json(capsys, ws, "recommend", "no-such-user", "--model", record["id"], "-k", "4")
    assert not cold["known"] and cold["source"] == "popular overall" and len(cold["items"]) == 4
    bought = cli_json(capsys, ws, "recommend", "17", "--model", record["id"], "-k", "40")
    purchased = (datasets.load(datasets.get(models_session(ws), "platform"), "events")
                 .filter((pl.col("user_id") == 17) & (pl.col("kind") == "purchase"))
                 .collect()["item_id"].to_list())
    hidden = bought["items"][0]["item_id"]
    filtered = cli_json(capsys, ws, "recommend", "17", "--model", record["id"], "-k", "40", "--exclude-purchased",
                        "--hide", hidden)
    shown = {item["item_id"] for item in filtered["items"]}
    assert hidden not in shown and not shown & set(purchased)
    diverse = cli_json(capsys, ws, "recommend", "17", "--model", record["id"], "-k", "10", "--diversity", "0.8")
    assert len({i["item_id"] for i in diverse["items"]}) == 10


def models_session(ws) -> Session:
    from kpconsole.session import open_session

    return open_session(ws)


def registry_state(ws):
    return tree_state(ws / "models"), [m.id for m in model_reads.list_models(models_session(ws))]


@pytest.mark.parametrize("args, message", [
    (["model", "train", "--data", "nope", "--algo", "als"], "no dataset named 'nope'"),
    (["model", "train", "--data", "platform", "--algo", "svd"], "unknown algorithm 'svd'"),
    (["model", "train", "--data", "platform", "--algo", "pop", "--factors", "8"], "'factors' does not apply to pop"),
    (["model", "train", "--data", "platform", "--algo", "als", "--split", "temporal", "--cut", "2031-01-01"],
     "leaves no test users"),
    (["model", "train", "--data", "platform", "--algo", "ease", "--param", "max_gb=0.0001"],
     "use --algo als"),
    (["model", "train", "--data", "qc", "--algo", "als", "--events", "view"], "event kind 'view' does not occur"),
    (["model", "train", "--data", "platform", "--algo", "als", "--k", "0"], "every k must be at least 1"),
    (["model", "evaluate", "1", "--k", "0"], "k must be at least 1"),
    (["model", "evaluate", "1", "--user", "nobody"], "user nobody is not in model 1's data"),
    (["model", "evaluate", "99"], "no model 99"),
    (["recommend", "17", "--model", "1", "-k", "0"], "k must be at least 1"),
    (["recommend", "17", "--model", "1", "--hide", "999999"], "item 999999 is not among model 1's items"),
])
def test_bad_input_is_one_line_and_leaves_the_registry_unchanged(capsys, ws, args, message):
    cli_json(capsys, ws, "model", "train", "--data", "platform", "--algo", "pop")
    before = registry_state(ws)
    code, out, err = cli(capsys, ws, *args)
    assert code == 1 and out == ""
    assert err.startswith("kpconsole: ") and err.count("\n") == 1 and message in err, err
    assert registry_state(ws) == before


def test_a_corrupted_model_file_is_a_one_line_error_in_a_real_process(ws, capsys):
    record = cli_json(capsys, ws, "model", "train", "--data", "platform", "--algo", "pop")
    path = ws / "models" / record["artifact"]
    path.write_bytes(path.read_bytes()[:200])
    result = run_cli(["model", "evaluate", str(record["id"])], ws)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "is damaged or not a kpconsole model" in result.stderr
    assert "Traceback" not in result.stderr
    code, out, err = cli(capsys, ws, "recommend", "17", "--model", record["id"])
    assert code == 1 and out == "" and "is damaged or not a kpconsole model" in err


def test_an_analyst_may_read_but_not_train(ws):
    reader = Session(models_session(ws).ws, Actor("ann", Role.ANALYST, "ann"))
    with pytest.raises(PermissionDenied, match="needs the operator role"):
        models.train(reader, TrainRequest(data="platform", algo="pop"))
    assert model_reads.list_models(reader) == []
    refused = audit.entries(reader.ws, action="model.train")
    assert refused[0].outcome == "refused" and refused[0].actor == "ann"


def test_training_is_audited_with_its_parameters(ws, capsys):
    cli_json(capsys, ws, "model", "train", "--data", "platform", "--algo", "pop", "--seed", "3")
    entry = audit.entries(models_session(ws).ws, action="model.train")[0]
    assert entry.outcome == "ok" and entry.target == "platform" and entry.params["seed"] == 3


def test_a_user_without_training_interactions_gets_what_their_segment_likes(ws, capsys):
    segments = pytest.importorskip("kpconsole.services.segments")
    session = models_session(ws)
    segments.run(session, segments.SegmentRequest(data="platform", method="rfm", resamples=0))
    record = cli_json(capsys, ws, "model", "train", "--data", "platform", "--algo", "pop", "--events", "purchase")
    buyers = set(models.load_model(session, record["id"], "cpu").user_ids.to_list())
    never_bought = next(u for u in range(1, 1001) if u not in buyers)
    listed = cli_json(capsys, ws, "recommend", never_bought, "--model", record["id"], "-k", "5")
    assert not listed["known"] and listed["source"] == "popular in segment"
    overall = cli_json(capsys, ws, "recommend", "no-such-user", "--model", record["id"], "-k", "5")
    assert overall["source"] == "popular overall"


def test_events_weights_and_cut_offs_take_several_values_after_one_option(capsys, ws):
    record = cli_json(capsys, ws, "model", "train", "--data", "qc", "--algo", "als", "--epochs", "2",
                      "--events", "answer", "comment", "favorite", "--weight", "answer=3", "comment=2", "--k", "5", "15")
    assert record["interactions"] == {"kinds": ["answer", "comment", "favorite"],
                                      "weights": {"answer": 3.0, "comment": 2.0, "favorite": 1.0}}
    assert {"ndcg@5", "ndcg@15"} <= record["metrics"].keys() and "ndcg@10" not in record["metrics"]
    code, _, err = cli(capsys, ws, "model", "train", "--data", "qc", "--algo", "pop", "answer")
    assert code == 1 and "event kinds go after --events" in err
