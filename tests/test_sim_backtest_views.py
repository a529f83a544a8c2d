"""The Simulate screen's panel for a backtest run: the simulator next to each baseline, the ratio
to the best and the predictive band's coverage — and a backtest stored before baselines
existed still shows as it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from engine.simulate.backtest import score_series
from kpconsole.tui.screens.sim_views import totals_view
from store.simulations import RunRecord


def _run(backtest: dict) -> RunRecord:
    return RunRecord(id=7, kind="backtest", name="backtest qc @ 2018-07-06", dataset="qc", calibration_id=1,
                     scenario_text="", scenario={}, days=backtest["days"], replicates=8, seed=1, device="cpu",
                     summary={"backtest": backtest, "totals": {}, "agents": 10, "policy": "organic"},
                     path=Path("nowhere.parquet"), created_at="2026-12-01T00:00:00", created_by="test")


def _text(run: RunRecord) -> str:
    console = Console(width=80, record=True, no_color=True)
    console.print(totals_view(run))
    return console.export_text()


OLD = {"cut": "2018-07-06", "days": 14, "mape_actives": 50.0, "mape_actives_weekly": 20.0, "mape_revenue": None,
       "mape_revenue_weekly": None}


def test_a_backtest_run_shows_each_baseline_the_ratio_and_the_band_coverage_at_80_columns():
    rng = np.random.default_rng(0)
    replicates = rng.poisson(10.0, size=(28, 8)).astype(float)
    actual = rng.poisson(10.0, size=28).astype(float)
    sc = score_series(replicates, actual, rng.poisson(12.0, size=56).astype(float)).as_dict()
    text = _text(_run({**OLD, "days": 28, **sc}))
    for name in ("simulator", "naive", "seasonal_naive", "mean28", "weekday28", "ets", "simulator / best"):
        assert any(line.split("  ")[0].strip() == name for line in text.splitlines()), name
    best = sc["best_baseline"]
    assert f"best baseline ({best}) {sc['baselines'][best]['mape_weekly']:.1f} %" in " ".join(text.split())
    assert f"{sc['coverage_weekly']:.0%} of 4 held-out weeks inside the 95 % predictive band" in " ".join(text.split())
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_backtest_stored_before_baselines_shows_its_mape_alone():
    text = _text(_run(OLD))
    assert "MAPE against what happened: actives 50.0 % daily" in " ".join(text.split())
    assert "simulator / best" not in text
