"""``kpconsole sim backtest`` with its baselines: the simulator next to each baseline in text and
JSON, the predictive band stored apart from the interval of the mean, rolling origins with
``--cuts`` and their mean, and bad cuts that change nothing — on the Quantum Computing dump."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_DATA, tree_state

from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import create_session

QC = SAMPLE_DATA / "stackexchange" / "quantumcomputing"
NAMES = {"naive", "seasonal_naive", "mean28", "weekday28", "ets"}
SCORES = {"mape_weekly", "mape_daily", "mase_weekly", "mase_daily"}

pytestmark = pytest.mark.skipif(not QC.exists(), reason="sample Stack Exchange dump not present")


@pytest.fixture
def qc(workspace, kp):
    datasets.ingest(create_session(workspace), IngestRequest(path=QC, name="qc"))
    return kp


@pytest.mark.slow
def test_a_backtest_prints_the_simulator_next_to_every_baseline_and_the_band_coverage(qc, workspace):
    done = qc(["sim", "backtest", "--data", "qc", "--cut", "0.67", "--replicates", "4", "--seed", "1", "--json"])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    bt = out["backtest"]
    assert {"id", "run", "backtest"} <= set(out)  # the keys it had before baselines
    assert bt["mape_actives_weekly"] == out["simulator"]["mape_weekly"] and bt["mape_actives"] == out["simulator"]["mape_daily"]
    assert set(out["baselines"]) == NAMES and all(set(s) == SCORES for s in out["baselines"].values())
    best = out["best_baseline"]
    assert out["baselines"][best]["mape_weekly"] == min(s["mape_weekly"] for s in out["baselines"].values())
    assert out["ratio_to_best"]["mape_weekly"] == pytest.approx(bt["mape_actives_weekly"] / out["baselines"][best]["mape_weekly"])
    weekly = bt["weekly"]
    assert len(weekly["actual"]) == bt["days"] // 7 and 0.0 <= out["coverage_weekly"] <= 1.0
    inside = sum(lo <= a <= hi for a, lo, hi in zip(weekly["actual"], weekly["low"], weekly["high"], strict=True))
    assert out["coverage_weekly"] == inside / len(weekly["actual"])
    # the band of one future is wider than the interval of the mean, week by week
    assert all(lo <= mlo and mhi <= hi for lo, mlo, mhi, hi in
               zip(weekly["low"], weekly["mean_low"], weekly["mean_high"], weekly["high"], strict=True))
    session = create_session(workspace)
    band = sim_reads.series(session, out["id"], ["predictive_dau"])
    mean = sim_reads.series(session, out["id"], ["dau"])
    assert len(band) == bt["days"] and all(b["low"] <= m["low"] and m["high"] <= b["high"] for b, m in zip(band, mean, strict=True))
    text = qc(["sim", "backtest", "--data", "qc", "--cut", "0.67", "--replicates", "4", "--seed", "1"])
    assert text.returncode == 0 and "simulator / best" in text.stdout and "seasonal_naive" in text.stdout
    assert "predictive band" in text.stdout


@pytest.mark.slow
def test_rolling_origins_report_each_cut_and_their_mean(qc):
    done = qc(["sim", "backtest", "--data", "qc", "--cuts", "0.6,0.75", "--replicates", "2", "--json"])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    cuts = [c["backtest"] for c in out["cuts"]]
    assert [c["cut"] for c in cuts] == out["mean"]["cuts"] and len(cuts) == 2 and cuts[0]["cut"] < cuts[1]["cut"]
    assert out["simulator"]["mape_weekly"] == pytest.approx(sum(c["simulator"]["mape_weekly"] for c in cuts) / 2)
    assert out["baselines"]["ets"]["mase_daily"] == pytest.approx(sum(c["baselines"]["ets"]["mase_daily"] for c in cuts) / 2)
    assert out["coverage_weekly"] == pytest.approx(sum(c["coverage_weekly"] for c in cuts) / 2)


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--cuts", "0.6,soon"], "--cuts 'soon': give a date (2026-05-01) or a ratio of the time span (0.7)", 1),
    (["--cuts", "0.6,1.4"], "--cuts: 1.4: cut ratio 1.4 must be between 0 and 1", 1),
    (["--cuts", "0.6,0.6"], "--cuts: 0.6 is given twice", 1),
    (["--cuts", "0.6,2031-01-01"], "--cuts: 2031-01-01: cut 2031-01-01 must fall after the first event day", 1),
    (["--cuts", "0.6", "--cut", "0.7"], "give one of --cut (one backtest) or --cuts (several)", 2),
    ([], "give one of --cut (one backtest) or --cuts (several)", 2),
])
def test_bad_cuts_are_one_line_and_change_nothing(qc, workspace, args, message, code):
    before = tree_state(workspace)
    done = qc(["sim", "backtest", "--data", "qc", "--replicates", "2", *args])
    assert done.returncode == code and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert tree_state(workspace) == before and sim_reads.list_runs(create_session(workspace)) == []
