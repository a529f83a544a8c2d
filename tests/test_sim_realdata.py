"""Validity test 9: backtests on real data, whose errors are reported as they are.

* the Quantum Computing Stack Exchange dump: daily active users (everyone there contributes:
  asks, answers, comments, favourites, bounties);
* OULAD: daily registrations and withdrawals (its only events without the click log), a
  strongly seasonal series the launch calendar shapes only in part (withdrawals follow the
  presentations' runs; the per-presentation backtest is tests/test_sim_presentations.py).

The tests print the MAPE (run with ``-s`` to read it) and check that it is computed over every
simulated day; they do not hold the real data to the 10 % the generated platform meets.
"""

from __future__ import annotations

import math

import pytest
from conftest import SHARED_DATA

from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, simulate_backtest
from kpconsole.services.datasets import IngestRequest

QC = SHARED_DATA / "stackexchange" / "quantumcomputing.stackexchange.com"
OULAD = SHARED_DATA / "oulad"


def _backtest(session, capsys, path, name: str, cut: str, replicates: int, title: str):
    """Ingest ``path`` as ``name``, backtest it from ``cut`` (seed 1) and print its MAPEs under
    ``title``; the stored run and its backtest summary."""
    datasets.ingest(session, IngestRequest(path=path, name=name))
    record = simulate_backtest.backtest(session, name, cut, replicates=replicates, seed=1)
    bt = record.summary["backtest"]
    pct = lambda v: "–" if v is None else f"{v:.1f} %"
    with capsys.disabled():
        print(f"\n{title}: backtest from {bt['cut']} over {bt['days']} days: daily actives MAPE "
              f"{pct(bt['mape_actives'])}, weekly {pct(bt['mape_actives_weekly'])}; revenue MAPE {pct(bt['mape_revenue'])}")
    return record, bt


@pytest.mark.slow
@pytest.mark.skipif(not QC.exists(), reason="shared Stack Exchange data not present")
def test_backtest_on_the_quantum_computing_community(session, capsys):
    record, bt = _backtest(session, capsys, QC, "qc", "0.67", 8, "Quantum Computing SE")
    assert bt["days"] > 50 and math.isfinite(bt["mape_actives"]) and math.isfinite(bt["mape_actives_weekly"])
    assert bt["mape_revenue"] is None  # a Q&A dump moves no money: there is nothing to score
    sim = [r["mean"] for r in sim_reads.series(session, record.id, ["dau"])]
    assert len(sim) == bt["days"] and min(sim) > 0


@pytest.mark.slow
@pytest.mark.skipif(not OULAD.exists(), reason="shared OULAD data not present")
def test_backtest_on_oulad_registrations(session, capsys):
    record, bt = _backtest(session, capsys, OULAD, "oulad", "0.8", 4, "OULAD registrations")
    assert bt["days"] > 150 and math.isfinite(bt["mape_actives"])
    assert record.summary["totals"]["dau"]["mean"] > 0
