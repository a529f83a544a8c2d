"""``kpconsole demo``: a fresh workspace from sample_data, every capability run on it."""

from __future__ import annotations

import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "ws"
    result = run_cli(["demo", "--workspace", str(root), "--json"])
    assert result.returncode == 0, result.stderr
    import json

    return root, {step["title"]: step["figures"] for step in json.loads(result.stdout)["steps"]}


@pytest.mark.slow
def test_demo_runs_every_step_in_order(demo):
    _root, steps = demo
    assert list(steps) == ["Data", "Recommenders", "Segments", "Customer value", "Community health", "Simulation",
                           "Jobs"]


@pytest.mark.slow
def test_demo_ingests_both_sample_datasets(demo):
    _root, steps = demo
    names = {d["name"]: d for d in steps["Data"]["datasets"]}
    assert names["platform"]["profile"]["n_events"] == 78_707
    assert names["qc"]["tables"]["items"] == 1_986


@pytest.mark.slow
def test_demo_training_ran_as_jobs_that_jobs_list_shows(demo):
    root, steps = demo
    trains = [j for j in steps["Jobs"]["jobs"] if j["kind"] == "train"]
    assert len(trains) >= 2 and all(j["status"] == "succeeded" for j in trains)
    listed = run_cli(["jobs", "list", "--json"], root)
    assert {j["id"] for j in trains} <= {j["id"] for j in __import__("json").loads(listed.stdout)}


def test_demo_refuses_a_folder_that_is_not_a_workspace(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run_cli(["demo", "--workspace", str(folder), "--reset"])
    assert result.returncode == 1 and "is not empty and not a workspace; choose another --workspace" in result.stderr
    assert (folder / "notes.txt").read_text() == "keep me"


def test_demo_does_not_overwrite_a_workspace_without_reset(workspace):
    result = run_cli(["demo", "--workspace", str(workspace)])
    assert result.returncode == 1 and "--reset" in result.stderr
