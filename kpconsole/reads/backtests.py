"""A backtest as a person reads it: the simulator next to the forecast baselines, the ratio to
the best one, the predictive band's coverage, and several cuts (rolling origins) averaged.

Plain Python over a stored run's ``summary["backtest"]`` (what
:meth:`engine.simulate.backtest.Backtest.as_dict` wrote), so ``sim show`` and the console's
Simulate screen read it without NumPy. What the scores mean: :mod:`engine.simulate.baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence

BASELINES = ("naive", "seasonal_naive", "mean28", "weekday28", "ets", "presentation_naive")
"""The baselines in the order they are shown (:data:`engine.simulate.baselines.BASELINES`, then
the previous presentation aligned on its opening of a per-presentation backtest,
:mod:`engine.simulate.presentations`)."""

SCORES = ("mape_daily", "mape_weekly", "mase_daily", "mase_weekly")
COLUMNS = ("forecast", "MAPE day", "MAPE week", "MASE day", "MASE week")
"""The columns of :func:`score_rows`."""


def has_baselines(backtest: dict) -> bool:
    """Whether a stored backtest carries baseline scores (runs saved before them do not)."""
    return "baselines" in backtest


def score_rows(backtest: dict) -> list[tuple[str, float | None, float | None, float | None, float | None]]:
    """``(forecast, MAPE daily %, MAPE weekly %, MASE daily, MASE weekly)`` of the simulator, each
    baseline, and the simulator's ratio to the best baseline per column (< 1: the simulator is
    better), for daily actives."""
    rows = [("simulator", *(backtest["simulator"][k] for k in SCORES))]
    rows += [(name, *(backtest["baselines"][name][k] for k in SCORES))
             for name in BASELINES if name in backtest["baselines"]]
    ratios = backtest.get("ratio_to_best") or {}
    rows.append(("simulator / best", *(ratios.get(k) for k in SCORES)))
    return rows


def verdict_line(backtest: dict) -> str:
    """One line: the simulator's weekly MAPE against the best baseline's, and the coverage."""
    best = backtest.get("best_baseline")
    sim = backtest["simulator"]["mape_weekly"]
    ratio = (backtest.get("ratio_to_best") or {}).get("mape_weekly")
    if best is None or sim is None or ratio is None:
        head = "weekly actives: no baseline to compare with"
    else:
        word = "better than" if ratio < 1 else "not better than"
        head = (f"weekly actives MAPE {sim:.1f} % against the best baseline ({best}) "
                f"{backtest['baselines'][best]['mape_weekly']:.1f} %: {ratio:.2f} ×, {word} it")
    return f"{head}; {coverage_text(backtest)}"


def coverage_text(backtest: dict) -> str:
    """The share of held-out weekly (and daily) actuals inside the 95 % predictive band."""
    weekly, daily = backtest.get("coverage_weekly"), backtest.get("coverage_daily")
    if weekly is None:
        return "no whole week after the cut to check the predictive band on"
    weeks = len((backtest.get("weekly") or {}).get("actual", []))
    text = f"{weekly:.0%} of {weeks} held-out weeks inside the 95 % predictive band"
    return text if daily is None else f"{text} ({daily:.0%} of days)"


def mean_line(mean: dict) -> str:
    """:func:`verdict_line` for :func:`mean_over_cuts`: the means, and the mean coverage."""
    best, sim = mean.get("best_baseline"), mean["simulator"]["mape_weekly"]
    ratio = mean["ratio_to_best"].get("mape_weekly")
    if best is None or sim is None or ratio is None:
        head = "mean weekly actives: no baseline to compare with"
    else:
        head = (f"mean weekly actives MAPE {sim:.1f} % against the best baseline ({best}) "
                f"{mean['baselines'][best]['mape_weekly']:.1f} %: {ratio:.2f} ×, "
                f"{'better than' if ratio < 1 else 'not better than'} it")
    cov = mean.get("coverage_weekly")
    tail = "no whole week to check the band on" if cov is None else \
        f"on average {cov:.0%} of the held-out weeks inside the 95 % predictive band"
    return f"{head}; {tail}"


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if len(known) == len(values) and known else None


def mean_over_cuts(backtests: Sequence[dict]) -> dict:
    """Each score averaged over several backtests of one dataset (None where any cut lacks it),
    the best baseline and the ratios of those means, and the mean coverage."""
    sim = {k: _mean([b["simulator"][k] for b in backtests]) for k in SCORES}
    names = [n for n in BASELINES if all(n in b["baselines"] for b in backtests)]
    base = {n: {k: _mean([b["baselines"][n][k] for b in backtests]) for k in SCORES} for n in names}
    ratios: dict[str, float | None] = {}
    best_by: dict[str, str | None] = {}
    for k in SCORES:
        known = {n: s[k] for n, s in base.items() if s[k] is not None}
        best_by[k] = min(known, key=known.__getitem__) if known else None
        low = known.get(best_by[k]) if best_by[k] else None
        ratios[k] = sim[k] / low if sim[k] is not None and low else None
    return {"cuts": [b["cut"] for b in backtests], "simulator": sim, "baselines": base,
            "best_baseline": best_by["mape_weekly"], "ratio_to_best": ratios,
            "coverage_weekly": _mean([b.get("coverage_weekly") for b in backtests]),
            "coverage_daily": _mean([b.get("coverage_daily") for b in backtests])}


def cut_row(backtest: dict) -> tuple:
    """One cut in a rolling-origin table: cut, days, the simulator's weekly and daily MAPE, the
    best baseline and its weekly MAPE, the ratio, the weekly coverage."""
    best = backtest.get("best_baseline")
    return (backtest["cut"], backtest["days"], backtest["simulator"]["mape_weekly"], backtest["simulator"]["mape_daily"],
            best or "–", backtest["baselines"][best]["mape_weekly"] if best else None,
            (backtest.get("ratio_to_best") or {}).get("mape_weekly"), backtest.get("coverage_weekly"))


CUT_COLUMNS = ("cut", "days", "sim week", "sim day", "best baseline", "best week", "ratio", "in band")
"""The columns of :func:`cut_row` (MAPE % of weekly and daily actives; weeks inside the band)."""


COMMUNITY_COLUMNS = ("figure", "simulated", "interval", "actual")
"""The columns of :func:`community_rows`."""


def community_rows(backtest: dict) -> list[tuple[str, float | None, str, float | None]]:
    """Each Q&A figure of a backtest (questions asked, answer rate, days to the first answer):
    simulated mean, its 95 % interval over replicates, and the data's (none without questions)."""
    rows = []
    for name, figure in (backtest.get("community") or {}).items():
        low, high = figure["low"], figure["high"]
        interval = "–" if low is None or high is None else f"{low:.3g} – {high:.3g}"
        rows.append((name, _sig(figure["simulated"]), interval, _sig(figure["actual"])))
    return rows


def _sig(value: float | None) -> float | None:
    """Three significant digits (None stays None)."""
    return None if value is None else float(f"{value:.3g}")
