"""The table of job kinds (kpconsole/jobs/kinds.py) and the one request shape they share
(kpconsole/jobs/request.py): every kind's request survives the trip through JSON, every
target resolves, every action is a policy entry, reading the table imports no service, a bad
parameter is one line naming it, and no module registers anything when it is imported."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_DATA
from kpconsole.errors import ConsoleError
from kpconsole.jobs import JobRequest, kinds, runner
from kpconsole.policy import REQUIRED_ROLE
from store import jobs as jobs_store


def sample_requests() -> dict[str, JobRequest]:
    """One request per shipped kind, with every field that has a JSON shape of its own set."""
    from kpconsole.services.datasets import IngestRequest
    from kpconsole.services.model_requests import TrainRequest, UpdateRequest
    from kpconsole.services.refresh import RefreshRequest
    from kpconsole.services.segments import SegmentRequest
    from kpconsole.services.simulate import SimRunRequest
    from kpconsole.services.simulate_backtest import BacktestRequest
    from kpconsole.services.value import ValueRequest

    return {
        "ingest": IngestRequest(path=SAMPLE_DATA / "platform", name="platform", mapping={"user_id": "uid"},
                                users=SAMPLE_DATA / "platform" / "users.csv", replace=True),
        "train": TrainRequest(data="platform", algo="bpr", params={"factors": 8}, split="temporal",
                              cut="2026-05-01", events=("purchase", "view"), weights={"purchase": 5.0},
                              ks=(5, 10), patience=2),
        "model_update": UpdateRequest(model_id=3, data="platform", epochs=2),
        "segment": SegmentRequest(data="platform", method="kmeans", k=4, as_of=dt.datetime(2026, 5, 1, 6, 30),
                                  model_id=2, thresholds={"active_days": 14.0}),
        "value_fit": ValueRequest(data="platform", model="bgnbd", calibration_end=dt.date(2026, 4, 1),
                                  kinds=("purchase", "renew")),
        "sim_run": SimRunRequest("[scenario]\n", "edited", replicates=2, days=3, seed=1),
        "sim_backtest": BacktestRequest("platform", "0.7", replicates=4),
        "refresh": RefreshRequest(data="platform", source="postgresql://kp@db/x", query="SELECT 1",
                                  since_column="ts", models="3,7", export=SAMPLE_DATA.resolve()),
    }


def test_every_kind_has_a_sample_and_its_request_round_trips_through_json():
    samples = sample_requests()
    assert set(samples) == set(kinds.KINDS)
    for name, request in samples.items():
        kind = kinds.KINDS[name]
        assert type(request) is kind.request_type(), name
        params = json.loads(json.dumps(request.as_params()))  # plain JSON, as the jobs table keeps it
        assert kind.read_request(params) == request, name


def test_every_run_target_resolves_and_every_action_is_a_policy_entry():
    for kind in kinds.job_kinds():
        assert issubclass(kind.request_type(), JobRequest), kind.name
        assert callable(kind.run_function()), kind.name
        assert kind.action in REQUIRED_ROLE, kind.name
        assert kind.description, kind.name


def test_paths_are_written_absolute_and_a_password_never():
    from kpconsole.services.datasets import IngestRequest

    params = IngestRequest(path=Path("sample_data/platform"), name="p", url="postgresql://kp:s3cret@db/x").as_params()
    assert params["path"] == str(Path("sample_data/platform").resolve())
    assert params["url"] == "postgresql://kp:***@db/x" and "s3cret" not in json.dumps(params)


def test_reading_the_table_imports_no_service_nor_heavy_library():
    code = ("import sys, kpconsole.jobs.kinds as k; k.job_kinds(); "
            "print([m for m in sys.modules if m.startswith('kpconsole.services') or m in ('torch', 'polars')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("params", "message"), [
    ({"data": "x", "algo": "als", "test_ratio": "x"}, "train job parameters: test_ratio: expected a number, got 'x'"),
    ({"algo": "als"}, "train job parameters: data: missing"),
    ({"data": "x", "algo": "als", "ks": 10}, "train job parameters: ks: expected a list, got 10"),
    ({"data": "x", "algo": "als", "epochs": 3}, "train job parameters: epochs: not a parameter of train"),
])
def test_a_bad_job_parameter_is_one_line_naming_it_and_records_no_job(session, params, message):
    from kpconsole.jobs import start_job

    with pytest.raises(ConsoleError) as raised:
        start_job(session, "train", params)
    assert str(raised.value).startswith(message) and len(str(raised.value).splitlines()) == 1
    assert jobs_store.list_jobs(session.ws) == []


def test_a_job_whose_recorded_parameters_are_bad_fails_with_that_line(session):
    job_id = jobs_store.create_job(session.ws, "value_fit", {"data": "x", "model": "bgnbd", "horizon_days": [1]},
                                   session.actor.name)
    assert jobs_store.claim(session.ws, job_id, os.getpid())
    job = runner.run_job(session, job_id)
    assert (job.status, job.error) == ("failed", "value_fit job parameters: horizon_days: expected a number, got [1]")


def module_level_calls(tree: ast.Module, names: set[str]) -> list[int]:
    """Lines of calls to ``names`` that run when the module is imported (outside any function)."""
    found = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in names:
                found.append(node.lineno)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_no_module_adds_a_job_kind_when_imported():
    names = {"add_job_kind", "register_job_kind"}
    offenders = {}
    for path in sorted((REPO / "kpconsole").rglob("*.py")):
        lines = module_level_calls(ast.parse(path.read_text(encoding="utf-8")), names)
        if lines:
            offenders[path.relative_to(REPO).as_posix()] = lines
    assert offenders == {}


def test_the_check_sees_a_registration_at_import():
    tree = ast.parse("from x import add_job_kind\nadd_job_kind(K)\nif True:\n    add_job_kind(L)\n"
                     "def later():\n    add_job_kind(M)\n")
    assert sorted(module_level_calls(tree, {"add_job_kind"})) == [2, 4]
