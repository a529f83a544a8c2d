"""``kpconsole sim feedback``: a scenario's model policy retrained on the simulated clicks against
the same model frozen, both runs stored and paired; runs record where the agents' tastes came from,
and tastes taken from the policy's own model are noted in a run and refused in the comparison."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_DATA

from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.session import create_session

QUICK = ["--days", "4", "--replicates", "3"]
RETRAINED = '[scenario]\nname = "cf loop"\ndata = "platform"\nseed = 5\n[policy]\nkind = "model"\nmodel = {model}\n'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The sample platform with a small iALS trained on it; returns (root, model id)."""
    root = tmp_path_factory.mktemp("feedback") / "ws"
    session = create_session(root)
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    model = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3},
                                               device="cpu"))
    return root, model.id


def _cli(args, ws, capsys) -> tuple[int, str, str]:
    from kpconsole.cli import main  # after the services (see tests/test_sim_cli.py)

    with pytest.raises(SystemExit) as ended:
        main(["--workspace", str(ws), *args])
    out = capsys.readouterr()
    return ended.value.code, out.out, out.err


def _scenario(tmp_path, model_id: int, extra: str = "") -> str:
    path = tmp_path / "loop.toml"
    path.write_text(RETRAINED.format(model=model_id) + extra)
    return str(path)


def _runs(ws) -> int:
    return len(sim_reads.list_runs(create_session(ws), limit=10_000))


@pytest.mark.slow
def test_feedback_stores_a_retrained_and_a_frozen_run_and_prints_their_paired_differences(workspace, tmp_path, capsys):
    ws, model_id = workspace
    path = _scenario(tmp_path, model_id, "retrain_every = 2\n")
    code, out, err = _cli(["sim", "feedback", path, *QUICK, "--json"], ws, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["retrain_every"] == 2 and result["tastes"] == "tags"
    assert result["policy"] == f"model {model_id} (als), retrained every 2 days"
    assert [f["metric"] for f in result["figures"]] == ["homogenisation", "exposure_gini", "coverage"]
    session = create_session(ws)
    retrained, frozen = sim_reads.get_run(session, result["retrained"]), sim_reads.get_run(session, result["frozen"])
    assert (retrained.name, frozen.name) == ("cf loop", "cf loop (frozen)")
    assert retrained.summary["retrain_every"] == 2 and frozen.summary["retrain_every"] is None
    assert retrained.scenario["tastes"] == frozen.scenario["tastes"] == "tags"
    compared = sim_reads.compare(session, retrained.id, frozen.id)
    assert compared.paired
    by_metric = {r["metric"]: r for r in compared.rows}
    for figure in result["figures"]:
        assert figure["difference"] == pytest.approx(by_metric[figure["metric"]]["difference"])
        assert figure["low"] == pytest.approx(by_metric[figure["metric"]]["low"])
    code, out, _ = _cli(["sim", "feedback", path, *QUICK], ws, capsys)
    assert code == 0 and "(frozen), paired" in out and "homogenisation" in out and "R higher" in out
    code, out, _ = _cli(["sim", "show", str(result["retrained"])], ws, capsys)
    said = " ".join(out.split())  # the console wraps long lines
    assert "agents' tastes from tags; the policy's model is retrained on the simulated clicks every 2 days" in said


def test_feedback_without_retrain_every_is_a_one_line_error_and_runs_nothing(workspace, tmp_path, capsys):
    ws, model_id = workspace
    runs = _runs(ws)
    code, _, err = _cli(["sim", "feedback", _scenario(tmp_path, model_id), *QUICK], ws, capsys)
    assert code == 1 and err.count("\n") == 1 and "policy.retrain_every: missing" in err, err
    assert _runs(ws) == runs


def test_tastes_from_the_policys_own_model_are_noted_in_a_run_and_refused_in_the_comparison(workspace, tmp_path,
                                                                                             capsys):
    ws, model_id = workspace
    code, _, err = _cli(["sim", "calibrate", "--data", "platform", "--model", str(model_id)], ws, capsys)
    assert code == 0, err
    path = _scenario(tmp_path, model_id, "retrain_every = 3\n")
    runs = _runs(ws)
    code, _, err = _cli(["sim", "feedback", path, *QUICK], ws, capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert f"the agents' tastes are model {model_id} (als)'s own embeddings" in err
    assert "kpconsole sim calibrate --data platform" in err
    assert _runs(ws) == runs
    code, out, err = _cli(["sim", "run", path, *QUICK, "--json"], ws, capsys)
    assert code == 0, err
    notes = json.loads(out)["run"]["summary"]["notes"]
    assert any("flatters it" in note for note in notes)
