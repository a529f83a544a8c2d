"""``kpconsole sim …`` end to end on the sample platform: calibrate, run, compare, show, list,
backtest (validity test 8's MAPE), jobs, a model policy, and bad scenarios that change nothing."""

from __future__ import annotations

import json
import time

import pytest
from conftest import SAMPLE_DATA, run_cli, tree_state

from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.session import create_session

SCENARIOS = SAMPLE_DATA / "scenarios"
QUICK = ["--days", "12", "--replicates", "3"]


@pytest.fixture(scope="module")
def platform_ws(tmp_path_factory):
    """A workspace with the sample platform ingested and calibrated once."""
    root = tmp_path_factory.mktemp("sim") / "ws"
    session = create_session(root)
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    done = run_cli(["sim", "calibrate", "--data", "platform", "--json"], root)  # as a user runs it
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dataset"] == "platform"
    return root


def _cli(args, ws, capsys) -> tuple[int, str, str]:
    """``kpconsole --workspace WS ARGS`` in this process: (exit code, stdout, stderr).

    Imported here, after the services: the CLI registers its services as lazy modules, and a
    lazy module touched while torch is still importing breaks torch's import."""
    from kpconsole.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--workspace", str(ws), *args])
    out = capsys.readouterr()
    return ended.value.code, out.out, out.err


def _json(args, ws, capsys):
    code, out, err = _cli([*args, "--json"], ws, capsys)
    assert code == 0, err
    return json.loads(out)


def _run_count(ws) -> int:
    return len(sim_reads.list_runs(create_session(ws), limit=10_000))


def test_calibrate_prints_what_it_fitted(platform_ws, capsys):
    cals = _json(["sim", "list", "--calibrations"], platform_ws, capsys)
    assert cals[0]["dataset"] == "platform" and cals[0]["segments"] == "rule" and cals[0]["cut"] is None
    segments = {s["segment"]: s for s in cals[0]["summary"]["segments"]}
    assert set(segments) == {"casual", "regular", "contributor", "payer"}
    assert 0 < segments["payer"]["visit_mean"] < 1 and segments["payer"]["subscribe"] > 0
    code, out, _ = _cli(["sim", "calibrate", "--data", "platform"], platform_ws, capsys)
    assert code == 0 and "visit/day" in out and "price α" in out
    assert "new items/day: " in out and "answers: " in out  # the growing catalog and the answering model


def test_identical_runs_compare_to_exactly_zero_and_a_price_change_does_not(platform_ws, capsys):
    first = _json(["sim", "run", str(SCENARIOS / "baseline.toml"), *QUICK], platform_ws, capsys)
    second = _json(["sim", "run", str(SCENARIOS / "baseline.toml"), *QUICK], platform_ws, capsys)
    assert isinstance(first["id"], int) and first["totals"]["dau"]["mean"] > 0
    same = _json(["sim", "compare", str(second["id"]), str(first["id"])], platform_ws, capsys)
    assert same["paired"] is True
    assert all(r["difference"] == 0.0 and r["low"] == 0.0 and r["high"] == 0.0 for r in same["rows"])
    dearer = _json(["sim", "run", str(SCENARIOS / "price_change.toml"), *QUICK], platform_ws, capsys)
    diff = {r["metric"]: r for r in _json(["sim", "compare", str(dearer["id"]), str(first["id"])], platform_ws, capsys)["rows"]}
    assert diff["purchases"]["difference"] < 0
    assert diff["mau"]["difference"] == 0.0  # the same people visit: common random numbers
    code, out, _ = _cli(["sim", "compare", str(dearer["id"]), str(first["id"])], platform_ws, capsys)
    assert code == 0 and "paired (common random numbers)" in out


def test_show_and_list_give_the_stored_run_with_its_intervals(platform_ws, capsys):
    run = _json(["sim", "run", str(SCENARIOS / "membership_tiers.toml"), *QUICK], platform_ws, capsys)
    shown = _json(["sim", "show", str(run["id"]), "--metric", "dau", "--metric", "mrr"], platform_ws, capsys)
    assert shown["run"]["name"] == "two tiers + trial" and shown["run"]["days"] == 12
    rows = shown["series"]
    assert len(rows) == 24 and {r["metric"] for r in rows} == {"dau", "mrr"}
    assert all(r["low"] <= r["mean"] <= r["high"] for r in rows)
    assert shown["run"]["scenario"]["tiers"][1]["name"] == "pro"
    assert any(r["id"] == run["id"] for r in _json(["sim", "list"], platform_ws, capsys))
    code, out, _ = _cli(["sim", "show", str(run["id"])], platform_ws, capsys)
    assert code == 0 and "run totals" in out


def test_backtest_on_sample_data_has_daily_actives_mape_within_10_percent(platform_ws, capsys):
    out = _json(["sim", "backtest", "--data", "platform", "--cut", "0.67", "--replicates", "8"], platform_ws, capsys)
    bt = out["backtest"]
    with capsys.disabled():
        print(f"\nsample platform backtest from {bt['cut']} ({bt['days']} days): daily actives MAPE "
              f"{bt['mape_actives']:.2f} % (weekly {bt['mape_actives_weekly']:.1f} %), daily revenue MAPE "
              f"{bt['mape_revenue']:.1f} %, "
              f"weekly revenue MAPE {bt['mape_revenue_weekly']:.1f} %")
    assert bt["mape_actives"] <= 10.0
    assert out["run"]["kind"] == "backtest"
    actual = _json(["sim", "show", str(out["id"]), "--metric", "actual_dau"], platform_ws, capsys)["series"]
    assert len(actual) == bt["days"] and all(r["low"] == r["mean"] == r["high"] for r in actual)


@pytest.mark.parametrize(("body", "key"), [
    ('[scenario]\ndata = "platform"\nspeed = 2\n', "scenario.speed: unknown key"),
    ('[scenario]\ndata = "platform"\n[[prices.items]]\nitem = 3\nprice = -1\n', "prices.items[0].price = -1.0: must not be negative"),
    ('[scenario]\ndata = "platform"\n[fees]\npayment_rate = 1.2\n', "fees.payment_rate = 1.2: must be a probability"),
    ('[scenario]\ndata = "platform"\ndays = 0\n', "scenario.days = 0: must be greater than 0"),
    ('[scenario]\ndata = "platform"\n[policy]\nkind = "model"\nmodel = 999\n', "policy.model: no model 999"),
    ('[scenario]\ndata = "platform"\n[[prices.items]]\nitem = "nope"\nprice = 1\n', "prices.items[0].item: no item 'nope'"),
    ('[scenario]\ndata = "elsewhere"\n', "no dataset named 'elsewhere'"),
])
def test_a_bad_scenario_is_a_one_line_error_and_changes_nothing(platform_ws, tmp_path, capsys, body, key):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    before, runs = tree_state(platform_ws), _run_count(platform_ws)
    code, _, err = _cli(["sim", "run", str(path)], platform_ws, capsys)
    assert code == 1
    assert err.count("\n") == 1 and key in err, err
    assert tree_state(platform_ws) == before and _run_count(platform_ws) == runs


def test_a_model_policy_uses_the_latest_model_with_mmr_and_its_embeddings_can_be_tastes(platform_ws, capsys):
    session = create_session(platform_ws)
    model = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3},
                                               device="cpu"))
    cal = _json(["sim", "calibrate", "--data", "platform", "--model", str(model.id)], platform_ws, capsys)
    assert cal["tastes"] == f"model {model.id} (als)" and cal["summary"]["catalog"]["dimensions"][0] == "e0"
    assert all(s["choice_sensitivity"] > 0 for s in cal["summary"]["segments"])
    run = _json(["sim", "run", str(SCENARIOS / "cf_policy.toml"), *QUICK], platform_ws, capsys)
    assert run["run"]["summary"]["policy"].startswith("model ") and "MMR λ=0.7" in run["run"]["summary"]["policy"]
    pop = _json(["sim", "run", str(SCENARIOS / "popularity.toml"), *QUICK], platform_ws, capsys)
    assert run["totals"]["coverage"]["mean"] > pop["totals"]["coverage"]["mean"]


@pytest.mark.slow
def test_run_detached_as_a_job_and_its_result_is_the_stored_run(platform_ws, capsys):
    started = _json(["sim", "run", str(SCENARIOS / "badge_program.toml"), "--days", "5", "--replicates", "2",
                     "--detach"], platform_ws, capsys)
    job_id = started["job_id"]
    deadline = time.monotonic() + 240
    while True:
        job = _json(["jobs", "show", str(job_id)], platform_ws, capsys)
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert job["status"] == "succeeded", job
    assert job["kind"] == "sim_run" and job["result_kind"] == "simulation"
    run = _json(["sim", "show", job["result_id"]], platform_ws, capsys)["run"]
    assert run["name"] == "answerer badges" and run["summary"]["incentives"][0]["threshold"] == 10
