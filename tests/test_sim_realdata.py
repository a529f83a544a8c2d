"""Validity test 9: backtests on real data, whose errors are reported as they are.

* the Quantum Computing Stack Exchange dump: daily active users (everyone there contributes:
  asks, answers, comments, favourites, bounties);
* OULAD: daily registrations and withdrawals (its only events without the click log), a
  strongly seasonal series the simulator does not model (it has no calendar of module starts).

The tests print the MAPE (run with ``-s`` to read it) and check that it is computed over every
simulated day; they do not hold the real data to the 10 % the generated platform meets.
"""

from __future__ import annotations

import math

import pytest
from conftest import SHARED_DATA

from kpconsole.reads import simulations as sim_reads
from kpconsole.services import datasets, simulate
from kpconsole.services.datasets import IngestRequest

QC = SHARED_DATA / "stackexchange" / "quantumcomputing.stackexchange.com"
OULAD = SHARED_DATA / "oulad"


def _report(name: str, record) -> dict:
    bt = record.summary["backtest"]
    pct = lambda v: "–" if v is None else f"{v:.1f} %"
    print(f"\n{name}: backtest from {bt['cut']} over {bt['days']} days: daily actives MAPE {pct(bt['mape_actives'])}, "
          f"weekly {pct(bt['mape_actives_weekly'])}; revenue MAPE {pct(bt['mape_revenue'])}")
    return bt


@pytest.mark.slow
@pytest.mark.skipif(not QC.exists(), reason="shared Stack Exchange data not present")
def test_backtest_on_the_quantum_computing_community(session, capsys):
    datasets.ingest(session, IngestRequest(path=QC, name="qc"))
    record = simulate.backtest(session, "qc", "0.67", replicates=8, seed=1)
    with capsys.disabled():
        bt = _report("Quantum Computing SE", record)
    assert bt["days"] > 50 and math.isfinite(bt["mape_actives"]) and math.isfinite(bt["mape_actives_weekly"])
    assert bt["mape_revenue"] is None  # a Q&A dump moves no money: there is nothing to score
    sim = [r["mean"] for r in sim_reads.series(session, record.id, ["dau"])]
    assert len(sim) == bt["days"] and min(sim) > 0


@pytest.mark.slow
@pytest.mark.skipif(not OULAD.exists(), reason="shared OULAD data not present")
def test_backtest_on_oulad_registrations(session, capsys):
    datasets.ingest(session, IngestRequest(path=OULAD, name="oulad"))
    record = simulate.backtest(session, "oulad", "0.8", replicates=4, seed=1)
    with capsys.disabled():
        bt = _report("OULAD registrations", record)
    assert bt["days"] > 150 and math.isfinite(bt["mape_actives"])
    assert record.summary["totals"]["dau"]["mean"] > 0
