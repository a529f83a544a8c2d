"""The per-presentation backtest on the real OULAD: a fold per presentation whose registration
opened after an earlier one had started, cut at that opening; the simulated weekly registrants
scored next to the five baselines and the previous presentation aligned on its opening; and the
command's refusals."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from conftest import SAMPLE_DATA, SHARED_DATA

from engine.simulate.launches import launch_calendar
from engine.simulate.levers import Settings
from engine.simulate.presentations import NAIVE, aligned_naive, presentation_folds, run_presentation_backtest

OULAD = SHARED_DATA / "oulad"
QC = SAMPLE_DATA / "stackexchange" / "quantumcomputing"


@pytest.fixture(scope="module")
def oulad(tmp_path_factory):
    if not OULAD.exists():
        pytest.skip("shared OULAD data not present")
    from kpconsole.services import datasets
    from kpconsole.services.datasets import IngestRequest
    from kpconsole.services.simulate import _tables
    from kpconsole.session import create_session

    session = create_session(tmp_path_factory.mktemp("presentations") / "ws")
    datasets.ingest(session, IngestRequest(path=OULAD, name="oulad"))
    return _tables(datasets.get(session, "oulad"))


def test_oulad_has_a_fold_per_presentation_opened_after_an_earlier_start(oulad):
    _, items, events = oulad
    folds = presentation_folds(items, events)
    assert [(f.start.isoformat(), f.opening.isoformat(), f.previous_start.isoformat()) for f in folds] == [
        ("2013-10-01", "2013-03-10", "2013-02-01"), ("2014-02-01", "2013-03-16", "2013-02-01"),
        ("2014-10-01", "2014-04-21", "2014-02-01")]
    last = folds[-1]
    assert last.days == (last.start - last.opening).days + 15  # to two weeks after the start
    naive = aligned_naive(items, events, last)
    assert len(naive) == last.days and 0 < naive.sum() < 1_000  # 2014B opened 322 days ahead: few this early


def test_the_launch_calendar_of_a_fold_reads_nothing_after_its_cut(oulad):
    _, items, events = oulad
    fold = presentation_folds(items, events)[-1]
    cut = dt.datetime.combine(fold.opening, dt.time())
    after = pl.col("ts") >= cut
    moved = pl.concat([events.filter(~after), events.filter(after).with_columns(pl.col("ts") + pl.duration(days=9))])
    one, other = (launch_calendar(items, frame, cut, fold.days) for frame in (events, moved))
    assert one is not None and other is not None and np.array_equal(one.expected, other.expected)
    assert one.launches == 13 and one.expected.sum() > 5_000  # 2014J's 7 modules and the tails of earlier ones


@pytest.mark.slow
def test_the_2014j_presentation_is_forecast_from_its_registration_opening(oulad, capsys):
    users, items, events = oulad
    fold = presentation_folds(items, events)[-1]
    pb = run_presentation_backtest(users, items, events, fold, settings=Settings(replicates=4, seed=1))
    out = pb.as_dict()
    sim, naive = out["simulator"], out["baselines"][NAIVE]
    with capsys.disabled():
        print(f"\nOULAD 2014J from {out['cut']} ({out['days']} days): weekly registrants MAPE {sim['mape_weekly']:.1f} %, "
              f"presentation-aligned naive {naive['mape_weekly']:.1f} %, best baseline {out['best_baseline']}; "
              f"weeks in band {out['coverage_weekly']:.0%}")
    assert out["cut"] == "2014-04-21" and out["fold"]["previous_start"] == "2014-02-01"
    assert set(out["baselines"]) == {"naive", "seasonal_naive", "mean28", "weekday28", "ets", NAIVE}
    assert math.isfinite(sim["mape_weekly"]) and sim["mape_weekly"] < 30.0  # 21.9 % when written
    assert sim["mape_weekly"] < 0.5 * naive["mape_weekly"]  # the aligned naive: 97 %
    assert out["calendar"]["launches"]["launches"] == 13 and out["calendar"]["first_day_share"] == 1.0


def test_presentations_refuse_a_cut_and_data_without_courses(kp):
    done = kp(["sim", "backtest", "--data", "x", "--presentations", "--cut", "0.5"])
    assert done.returncode == 2 and "give one of --cut" in done.stderr
    if not QC.exists():
        pytest.skip("sample Stack Exchange dump not present")
    kp(["data", "ingest", str(QC), "--name", "qc"])
    done = kp(["sim", "backtest", "--data", "qc", "--presentations", "-r", "1"])
    assert done.returncode == 1 and "no presentation to backtest" in done.stderr and "Traceback" not in done.stderr
