"""The hybrid recommender (issue 13 points 1, 2, 5) against CF and popularity, in one run.

* ``qc`` (the Quantum Computing dump, ../shared/data or sample_data), random 80/20 per user,
  full ranking: NDCG@10 of hybrid, iALS, EASE, MostPop — target: best kpconsole model ≥ 1.2 ×
  MostPop;
* cold-items split (items first seen in the last 20 % of items held out whole; only they are
  ranked) on sample_data/platform and on qc: hybrid next to TagPop (score = Σ over the item's
  tags of the user's training interactions in that tag, ties by popularity) and MostPop, iALS
  reported — target: hybrid above both baselines;
* fit seconds of hybrid and iALS (both at their defaults) on a generated platform
  (``--synth-users``, 13,000 = bench/recommend.py's synth1m; the size is printed), each fitted
  ``--repeats`` times in turn and the fastest kept (the box is shared) — target ≤ 2 ×.

Each hybrid solver named in ``--solvers`` (default both: ``als``, ``sgd``) is measured and
judged; ``sgd`` on synth1m takes minutes.

    python bench/hybrid.py [--parts qc,cold,synth] [--solvers als,sgd] [--synth-users 13000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.data.synth import SynthConfig, generate  # noqa: E402
from engine.recommend.algorithms import make_model  # noqa: E402
from engine.recommend.evaluate import EvalSetup, evaluate  # noqa: E402
from engine.recommend.features import ItemFeatures, build_item_features  # noqa: E402
from engine.recommend.interactions import build_interactions, default_kinds  # noqa: E402
from engine.recommend.splits import make_split  # noqa: E402

from bench.recommend_inputs import BenchModel, qc_tables  # noqa: E402



class TagPop(BenchModel):
    """score(u, i) = Σ_{t ∈ tags(i)} (u's training interactions on items tagged t) + popularity / (1 + max)."""

    algo = "tagpop"

    def __init__(self, features: ItemFeatures) -> None:
        self.device, self.params, self.history = torch.device("cpu"), None, None
        tags = features.columns_of("tag")
        self.tags = (features.matrix[:, tags] > 0).astype(np.float32).tocsr()

    def fit(self, train, **kwargs):
        self.history = train
        hist = sp.csr_matrix((np.ones(train.nnz, dtype=np.float32), train.indices.numpy(), train.indptr.numpy()),
                             shape=train.shape)
        self.user_tags = (hist @ self.tags).tocsr()
        pop = train.item_counts().to(torch.float32)
        self.tie = pop / (1.0 + float(pop.max()))

    def score(self, users):
        rows = self.user_tags[users.numpy()] @ self.tags.T
        return torch.from_numpy(np.asarray(rows.todense(), dtype=np.float32)) + self.tie


def load(name: str):
    """(events, items, texts, format, description)."""
    if name == "qc":
        out, dump = qc_tables()
        return (pl.read_parquet(out / "events.parquet"), pl.read_parquet(out / "items.parquet"),
                pl.read_parquet(out / "post_texts.parquet"), "stackexchange", f"{dump.name} dump")
    if name == "platform":
        folder = REPO / "sample_data" / "platform"
        return (pl.read_csv(folder / "events.csv", try_parse_dates=True),
                pl.read_csv(folder / "items.csv", try_parse_dates=True), None, "folder", "sample_data/platform")
    raise SystemExit(f"unknown dataset {name}")


def fit_eval(algo: str, split, setup, features, params: dict, device: str) -> tuple[float, float]:
    model = TagPop(features) if algo == "tagpop" else make_model(algo, params, device)
    if getattr(model, "uses_item_features", False):
        model.item_features = features
    began = time.perf_counter()
    model.fit(split.train)
    seconds = time.perf_counter() - began
    return evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"], seconds


def run(name: str, method: str, algos: list[str], solvers: list[str], hybrid: dict, device: str) -> dict[str, float]:
    """NDCG@10 of each of ``algos`` on one dataset and split; ``hybrid`` stands for one row per solver."""
    events, items, texts, fmt, source = load(name)
    data = build_interactions(events, default_kinds(events["kind"].unique(), fmt), None, items)
    features = build_item_features(data.item_ids, items, texts)
    split = make_split(data.matrix, data.pair_ts, method, test_ratio=0.2, seed=42)
    setup = EvalSetup(split.train, split.test, split.test_users(), blocked=split.blocked_items())
    info = split.describe()
    print(f"\n== {name} ({source}), split {method}: {data.n_users:,} users × {data.n_items:,} items, "
          f"{info['train_pairs']:,} train / {info['test_pairs']:,} test pairs, {info['test_users']:,} test users"
          + (f", {info['cold_items']:,} new items ranked" if method == "cold-items" else "")
          + f"; features {features.describe()}", flush=True)
    rows = [(f"hybrid-{s}", "hybrid", {**hybrid, "solver": s}) if a == "hybrid" else (a, a, {})
            for a in algos for s in (solvers if a == "hybrid" else [""])]
    out = {}
    for label, algo, params in rows:
        ndcg, seconds = fit_eval(algo, split, setup, features, params, device)
        out[label] = ndcg
        print(f"   {label:<11} NDCG@10 {ndcg:.4f}   fit {seconds:6.1f} s", flush=True)
    return out


def synth_fit_seconds(users: int, solvers: list[str], hybrid: dict, repeats: int, device: str) -> dict[str, float]:
    """The fastest of ``repeats`` fits of iALS and of each hybrid solver, in turn, on one generated platform."""
    gen = generate(SynthConfig(users=users, days=180, seed=11))
    data = build_interactions(gen.events, default_kinds(gen.events["kind"].unique()), None, gen.items)
    features = build_item_features(data.item_ids, gen.items)
    print(f"\n== synth ({users:,} users × 180 days, {gen.events.height:,} events): {data.n_users:,} users × "
          f"{data.n_items:,} items, {data.matrix.nnz:,} pairs; features {features.describe()}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    runs = [("als", "als", {})] + [(f"hybrid-{s}", "hybrid", {**hybrid, "solver": s}) for s in solvers]
    times: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    for _ in range(repeats):
        for label, algo, params in runs:
            model = make_model(algo, params, device)
            model.item_features = features
            began = time.perf_counter()
            report = model.fit(data.matrix)
            times[label].append(time.perf_counter() - began)
            print(f"   {label:<11} fit {times[label][-1]:6.2f} s ({report.epochs} epochs)", flush=True)
    return {label: min(seconds) for label, seconds in times.items()}


def verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="qc,cold,synth")
    parser.add_argument("--solvers", default="als,sgd")
    parser.add_argument("--synth-users", type=int, default=13_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="the hybrid's epochs (default its own)")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    parts, solvers = args.parts.split(","), args.solvers.split(",")
    hybrid = {"factors": args.factors, **({"epochs": args.epochs} if args.epochs else {})}
    print(f"hybrid parameters {hybrid}, solvers {solvers}; device {args.device}; torch threads {torch.get_num_threads()}")
    verdicts = []
    if "qc" in parts:
        r = run("qc", "random", ["hybrid", "als", "ease", "pop"], solvers, hybrid, args.device)
        best = max(v for k, v in r.items() if k != "pop")
        # issue 13's qc-random target is for the best kpconsole model: timepop meets it (bench/recommend.py)
        print(f"qc random: best of these models {best:.4f} vs 1.2 × MostPop {1.2 * r['pop']:.4f} (× "
              f"{best / r['pop']:.2f} MostPop; the target is met by timepop, see bench/recommend.py)")
    if "cold" in parts:
        for name in ("platform", "qc"):
            r = run(name, "cold-items", ["hybrid", "tagpop", "pop", "als"], solvers, hybrid, args.device)
            for s in solvers:
                ours = r[f"hybrid-{s}"]
                verdicts.append(verdict(ours > max(r["tagpop"], r["pop"]),
                                        f"{name} cold-items: hybrid-{s} {ours:.4f} vs TagPop {r['tagpop']:.4f}, "
                                        f"MostPop {r['pop']:.4f}"))
    if "synth" in parts:
        times = synth_fit_seconds(args.synth_users, solvers, hybrid, args.repeats, args.device)
        for s in solvers:
            ratio = times[f"hybrid-{s}"] / times["als"]
            verdicts.append(verdict(ratio <= 2, f"synth {args.synth_users:,} users fit: hybrid-{s} "
                                                f"{times[f'hybrid-{s}']:.2f} s = {ratio:.2f} × iALS "
                                                f"{times['als']:.2f} s (target ≤ 2)"))
    print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    main()
