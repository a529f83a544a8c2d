"""Recommender quality and speed: kpconsole's models against the implicit library.

On each dataset, in one process run and on one split (random 80/20 per user, seed 42):

* (a) ``qc`` — the Quantum Computing Stack Exchange dump (user → question thread from answers,
  comments and favourites), ../shared/data or sample_data;
* (b) ``platform`` — sample_data/platform (generated, planted tastes);
* (c) ``synth1m`` — a generated platform of ~1 M interaction events (13,000 users, 180 days).

every kpconsole model and implicit 0.7.3's ALS and BPR (the ``bench`` extra) are trained and
evaluated by the *same* code (kpconsole's full ranking, training items excluded). Printed per
model: fit seconds, seconds per iteration, Recall@10, NDCG@10, and NDCG@10 over implicit
ALS's and BPR's. Both libraries use the same thread count (``--threads``, default all cores);
implicit gets the same confidences 1 + α·r as kpconsole's iALS, at the same factors.

Then the targets of issue 3: the best kpconsole NDCG@10 ≥ implicit ALS's on every dataset;
kpconsole iALS s/iter ≤ 1.5 × implicit's (same factors); on the planted platform every
personalised model beats popularity (the margin is printed); evaluating ~6k users × 4k items
with every metric takes ≤ 0.5 s. And those of issue 16 on synth1m: kpconsole BPR's fit ≤ 2 ×
implicit BPR's at an NDCG@10 ≥ implicit BPR's, NCF's fit ≤ 4 × implicit BPR's (the load
average at the start of the run is printed with them: timings on a shared box are noisy).

Issue 13 on qc: the best kpconsole NDCG@10 ≥ 1.2 × MostPop's. There ``timepop`` (popularity in
the user's active times) runs with its defaults and with the (width, floor) a sweep on
validation slices carved from the training side picks (``kp timepop@val``; the sweep is printed,
on qc and the platform), next to a time-decayed item-kNN only the bench scores (``bench
timeknn``; bench/time_models.py). Popularity models (pop, timepop) are not held to the
platform's "personalised ≥ 1.5 × popularity" target; timepop is held to ≥ 0.97 × MostPop
(popularity within noise) on every dataset.

    python bench/recommend.py [--datasets qc,platform,synth1m] [--models pop,bpr,…] [--threads 2] [--eval-users 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Both libraries parallelise with OpenMP; on a shared machine, spinning workers that wait for a
# busy core make every parallel region slow. Set before torch and implicit load their runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.data.synth import SynthConfig, generate
from engine.errors import EngineError
from engine.recommend.algorithms import ALGORITHMS, make_model
from engine.recommend.base import Recommender
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.interactions import build_interactions, default_kinds
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.splits import make_split

from bench.recommend_inputs import EVAL_ITEMS, EVAL_USERS, BenchModel, qc_tables, random_evaluation
from bench.time_models import TimeKNN, print_sweep, sweep_timepop

TIE = 1e-4  # the same algorithm with the same settings in two libraries: equal within float32 rounding
EASE_MAX_GB = 2.0  # the bench's memory budget for EASE (its refusal is printed, not hidden)
LOAD_AT_START = 0.0  # the one-minute load average when the run began (set in main)
POPULARITY_MODELS = ("kp pop", "kp timepop", "kp timepop@val")  # rank by popularity; tastes do not lift them
SWEEP_DATASETS = ("qc", "platform")  # where timepop's parameters are swept on validation (30 settings × 5 slices)
ISSUE13_MARGIN = 1.2  # qc: best kpconsole NDCG@10 over MostPop's
TIMEPOP_FLOOR = 0.97  # timepop over MostPop on every dataset: never below popularity beyond noise
TIMEKNN_WIDTH_DAYS = 4.0


class Factors(BenchModel):
    """implicit's factors scored by kpconsole's evaluation: score = U Vᵀ."""

    algo = "implicit"

    def __init__(self, users: np.ndarray, items: np.ndarray, history: UserItemMatrix) -> None:
        self.x, self.y = torch.from_numpy(np.ascontiguousarray(users)), torch.from_numpy(np.ascontiguousarray(items))
        self.history, self.device, self.params = history, torch.device("cpu"), None

    def fit(self, train, **kwargs):
        raise AssertionError("fitted by implicit")

    def score(self, users):
        return self.x[users] @ self.y.t()


def load(name: str):
    """(events, format) of a bench dataset."""
    if name == "qc":
        out, dump = qc_tables()
        return pl.read_parquet(out / "events.parquet"), "stackexchange", f"{dump.name} dump"
    if name == "platform":
        events = pl.read_csv(REPO / "sample_data" / "platform" / "events.csv", try_parse_dates=True)
        return events, "folder", "sample_data/platform"
    if name == "synth1m":
        data = generate(SynthConfig(users=13_000, days=180, seed=11))
        return data.events, "folder", "generated, 13,000 users × 180 days"
    raise SystemExit(f"unknown dataset {name}")


def eval_users(split, limit: int) -> torch.Tensor:
    users = split.test_users()
    if limit and len(users) > limit:
        users = users[torch.randperm(len(users), generator=torch.Generator().manual_seed(0))[:limit]].sort().values
    return users


def run_kpconsole(algo: str, train: UserItemMatrix, setup: EvalSetup, params: dict | None = None,
                  label: str | None = None) -> dict:
    params = params if params is not None else {"max_gb": EASE_MAX_GB} if algo == "ease" else {}
    return run_model(make_model(algo, params, "cpu"), label or f"kp {algo}", train, setup)


def run_model(model: Recommender, label: str, train: UserItemMatrix, setup: EvalSetup) -> dict:
    """Fit and evaluate ``model``: the table's row (or why it was not run)."""
    began = time.perf_counter()
    try:
        report = model.fit(train)
    except EngineError as exc:
        return {"model": label, "skipped": str(exc)}
    fit = time.perf_counter() - began
    metrics = evaluate(model, setup, [10], beyond_accuracy=False)
    per_iter = report.seconds_per_epoch if model.iterative else fit
    return {"model": label, "fit": fit, "iter": per_iter, "iters": report.epochs,
            "recall": metrics["recall@10"], "ndcg": metrics["ndcg@10"]}


def run_time_models(name: str, train: UserItemMatrix, setup: EvalSetup) -> list[dict]:
    """Issue 13's time-aware rows: timepop at the setting the validation sweep picks (where swept)
    and the bench's time-decayed item-kNN (not run where its co-activity pairs exceed its budget)."""
    rows = []
    if name in SWEEP_DATASETS:
        sweep = sweep_timepop(train)
        print_sweep(sweep)
        width, floor = sweep.best
        print(f"   validation picks width_days={width:g}, floor={floor:g} (× {sweep.ratios[width, floor]:.3f} on "
              f"validation)", flush=True)
        rows.append(run_kpconsole("timepop", train, setup, {"width_days": width, "floor": floor}, "kp timepop@val"))
    rows.append(run_model(TimeKNN(TIMEKNN_WIDTH_DAYS), "bench timeknn", train, setup))
    return rows


def run_implicit(kind: str, train: UserItemMatrix, setup: EvalSetup, threads: int) -> dict:
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    if kind == "als":
        p = ALGORITHMS["als"].Params()
        values = (1.0 + p.alpha * train.values).numpy()
        model = AlternatingLeastSquares(factors=p.factors, regularization=p.reg, iterations=p.epochs,
                                        random_state=0, num_threads=threads)
        iters = p.epochs
    else:
        p = ALGORITHMS["bpr"].Params()
        values = np.ones(train.nnz, dtype=np.float32)
        iters = 100
        model = BayesianPersonalizedRanking(factors=p.factors, learning_rate=0.01, regularization=0.01,
                                            iterations=iters, random_state=0, num_threads=threads)
    matrix = sp.csr_matrix((values.astype(np.float32), train.indices.numpy(), train.indptr.numpy()), shape=train.shape)
    began = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit = time.perf_counter() - began
    metrics = evaluate(Factors(model.user_factors, model.item_factors, train), setup, [10], beyond_accuracy=False)
    return {"model": f"implicit {kind}", "fit": fit, "iter": fit / iters, "iters": iters,
            "recall": metrics["recall@10"], "ndcg": metrics["ndcg@10"]}


def bench_dataset(name: str, threads: int, limit: int, algos: list[str]) -> dict:
    events, fmt, source = load(name)
    data = build_interactions(events, default_kinds(events["kind"].unique(), fmt))
    split = make_split(data.matrix, data.pair_ts, "random", test_ratio=0.2, seed=42)
    users = eval_users(split, limit)
    setup = EvalSetup(split.train, split.test, users)
    print(f"\n== {name}: {source}; interactions {', '.join(data.kinds)}; {data.n_users:,} users × {data.n_items:,} "
          f"items, {split.train.nnz:,} train / {split.test.nnz:,} test pairs; {len(users):,} test users evaluated "
          f"(full ranking over all {data.n_items:,} items)", flush=True)
    rows = [run_implicit("als", split.train, setup, threads), run_implicit("bpr", split.train, setup, threads)]
    for row in rows:
        print(f"   {row['model']:<13} done in {row['fit']:.1f} s", flush=True)
    for algo in algos:
        row = run_kpconsole(algo, split.train, setup)
        rows.append(row)
        print(f"   {row['model']:<13} " + (f"done in {row['fit']:.1f} s" if "fit" in row else "not run"), flush=True)
    rows.extend(run_time_models(name, split.train, setup))
    ref_als, ref_bpr = rows[0]["ndcg"], rows[1]["ndcg"]
    print(f"{'model':<16}{'fit s':>9}{'s/iter':>9}{'iters':>7}{'Recall@10':>11}{'NDCG@10':>10}"
          f"{'÷ impl ALS':>12}{'÷ impl BPR':>12}")
    for row in rows:
        if "skipped" in row:
            print(f"{row['model']:<16}  not run: {row['skipped']}")
            continue
        print(f"{row['model']:<16}{row['fit']:>9.2f}{row['iter']:>9.3f}{row['iters']:>7}{row['recall']:>11.4f}"
              f"{row['ndcg']:>10.4f}{row['ndcg'] / ref_als:>12.2f}{row['ndcg'] / ref_bpr:>12.2f}")
    return {row["model"]: row for row in rows}


def bench_evaluation(threads: int) -> dict[str, float]:
    """Seconds to evaluate a 64-factor model on 6,000 users × 4,000 items (median of 3): the
    accuracy metrics alone at K=10, every metric ``model evaluate`` reports at K=10 (its
    default), and every metric at K=10 and 20 (``model train``'s default)."""
    g = torch.Generator().manual_seed(0)
    train, test, users = random_evaluation(g)
    model = Factors(torch.randn(EVAL_USERS, 64, generator=g).numpy(), torch.randn(EVAL_ITEMS, 64, generator=g).numpy(),
                    train)
    setup = EvalSetup(train, test, users, torch.randint(0, 300, (EVAL_ITEMS,), generator=g), 300)
    timings = {}
    for name, ks, full in (("accuracy@10", [10], False), ("all@10", [10], True), ("all@10,20", [10, 20], True)):
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            evaluate(model, setup, ks, beyond_accuracy=full)
            runs.append(time.perf_counter() - began)
        timings[name] = sorted(runs)[1]
    print(f"\n== evaluation speed: {len(users):,} users × {EVAL_ITEMS:,} items, 64 factors, {threads} threads, full "
          f"ranking, median of 3: accuracy metrics at K=10 {timings['accuracy@10']:.3f} s; every metric (precision, "
          f"recall, NDCG, MAP, HR, coverage, novelty, diversity, popularity, creator Gini) at K=10 "
          f"{timings['all@10']:.3f} s, at K=10 and 20 {timings['all@10,20']:.3f} s")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="qc,platform,synth1m",
                        help="comma-separated; empty (--datasets '') times the evaluation only")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--eval-users", type=int, default=3000,
                        help="evaluate at most this many test users per dataset (seeded sample; 0: all)")
    parser.add_argument("--models", default=",".join(ALGORITHMS),
                        help="comma-separated kpconsole models to train (default all)")
    args = parser.parse_args()
    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; implicit "
          f"{__import__('implicit').__version__}; {os.cpu_count()} CPUs; load average {LOAD_AT_START:.2f}", flush=True)
    algos = [a for a in args.models.split(",") if a]
    results = {name: bench_dataset(name, args.threads, args.eval_users, algos)
               for name in args.datasets.split(",") if name}
    eval_seconds = bench_evaluation(args.threads)

    print("\n== targets")
    for name, rows in results.items():
        best = max((r for r in rows.values() if r["model"].startswith("kp ") and "ndcg" in r), key=lambda r: r["ndcg"])
        ref = rows["implicit als"]["ndcg"]
        verdict = "PASS" if best["ndcg"] >= ref - TIE else "FAIL"
        print(f"{verdict}  {name}: best kpconsole NDCG@10 {best['ndcg']:.6f} ({best['model']}) vs implicit ALS "
              f"{ref:.6f} ({best['ndcg'] - ref:+.6f}, × {best['ndcg'] / ref:.3f})")
    for name, rows in results.items():
        ours, theirs = rows["kp als"]["iter"], rows["implicit als"]["iter"]
        verdict = "PASS" if ours <= 1.5 * theirs else "FAIL"
        print(f"{verdict}  {name}: iALS s/iter {ours:.4f} vs implicit {theirs:.4f} (× {ours / theirs:.2f}, target ≤ 1.5)")
    if "platform" in results:
        rows = results["platform"]
        pop = rows["kp pop"]["ndcg"]
        margins = {r["model"]: r["ndcg"] / pop for r in rows.values() if r["model"].startswith("kp ")
                   and r["model"] not in POPULARITY_MODELS and "ndcg" in r}
        worst = min(margins, key=margins.get)
        verdict = "PASS" if margins[worst] >= 1.5 else "FAIL"
        print(f"{verdict}  platform: every personalised model over popularity (NDCG@10 {pop:.4f}): "
              + ", ".join(f"{m[3:]} × {v:.2f}" for m, v in margins.items()) + f"; smallest × {margins[worst]:.2f}")
    if "qc" in results and "kp pop" in results["qc"]:
        rows = results["qc"]
        pop = rows["kp pop"]["ndcg"]
        best = max((r for r in rows.values() if r["model"].startswith("kp ") and "ndcg" in r), key=lambda r: r["ndcg"])
        verdict = "PASS" if best["ndcg"] >= ISSUE13_MARGIN * pop else "FAIL"
        print(f"{verdict}  qc (issue 13): best kpconsole NDCG@10 {best['ndcg']:.4f} ({best['model']}) vs "
              f"{ISSUE13_MARGIN:g} × MostPop {ISSUE13_MARGIN * pop:.4f} (× {best['ndcg'] / pop:.2f}); "
              + ", ".join(f"{r['model']} × {r['ndcg'] / pop:.2f}" for r in rows.values()
                          if r["model"] in ("kp timepop@val", "bench timeknn") and "ndcg" in r))
    for name, rows in results.items():
        if "kp pop" in rows and "ndcg" in rows.get("kp timepop", {}):
            ratio = rows["kp timepop"]["ndcg"] / rows["kp pop"]["ndcg"]
            print(f"{'PASS' if ratio >= TIMEPOP_FLOOR else 'FAIL'}  {name}: timepop NDCG@10 "
                  f"{rows['kp timepop']['ndcg']:.4f} vs MostPop {rows['kp pop']['ndcg']:.4f} (× {ratio:.3f}, "
                  f"target ≥ {TIMEPOP_FLOOR:g})")
    if "synth1m" in results:
        rows = results["synth1m"]
        ref = rows["implicit bpr"]
        for algo, times in (("bpr", 2.0), ("ncf", 4.0)):
            ours = rows[f"kp {algo}"]
            ratio = ours["fit"] / ref["fit"]
            good = ratio <= times and (algo != "bpr" or ours["ndcg"] >= ref["ndcg"])
            print(f"{'PASS' if good else 'FAIL'}  synth1m: {algo.upper()} fit {ours['fit']:.1f} s vs implicit BPR "
                  f"{ref['fit']:.1f} s (× {ratio:.2f}, target ≤ {times:g}); NDCG@10 {ours['ndcg']:.4f} vs "
                  f"{ref['ndcg']:.4f}; load average {LOAD_AT_START:.2f} at the start")
    verdict = "PASS" if eval_seconds["all@10"] <= 0.5 else "FAIL"
    print(f"{verdict}  evaluation of 6k users × 4k items, every metric at K=10: {eval_seconds['all@10']:.3f} s "
          f"(target ≤ 0.5 s; accuracy metrics alone {eval_seconds['accuracy@10']:.3f} s, every metric at K=10 and 20 "
          f"{eval_seconds['all@10,20']:.3f} s)")


if __name__ == "__main__":
    main()
