"""Simulator speed: user-steps per second of ``engine.simulate`` next to a plain NumPy step.

    .venv/bin/python bench/simulate.py [--agents 100000 1000000] [--days 30] [--device cpu]

For each population size, in the same run and on the same machine:

* **kpconsole** — :func:`engine.simulate.run.simulate` on a toy world (16 topics, 500 items,
  a membership tier, ads and fees; popularity policy, slate of 10, one replicate): the whole
  day — churn, billing, visits, slate, logit choice, purchases, subscriptions, contributions,
  satisfaction and every KPI;
* **NumPy reference** — the core of the same day written plainly in NumPy: visit draw → the
  popularity slate → multinomial logit over K items + an outside option → state update
  (popularity, satisfaction, churn). It does less than the simulator, so the ratio is
  conservative.

"kpconsole steps/s" times the whole run (drawing the agents included); "(days only)" leaves the
set-up out. The ratio compares the whole run with the reference. Each measurement runs in a
fresh subprocess so that its peak resident memory (``ru_maxrss``) is its own. Targets (issue 5): ≥ 5 M user-steps/s on this CPU and ≥ 3 × the NumPy reference.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ITEMS, TOPICS, K = 500, 16, 10


def world(agents: int):
    from engine.simulate.world import toy_world, uniform_segments

    segs = uniform_segments(("a", "b"), visit_mean=[0.15, 0.3], visit_concentration=8.0, churn_mean=0.003,
                            churn_concentration=4.0, buy_intercept=-2.0, price_sensitivity=1.0, refund=0.05,
                            subscribe=0.005, cancel=0.1, contribute=0.05)
    return toy_world(users=agents, items=ITEMS, topics=TOPICS, segments=segs, seed=1)


def run_engine(agents: int, days: int, device: str) -> dict:
    import torch

    from engine.simulate.levers import Levers, Membership, Money, Settings, Tier
    from engine.simulate.policies import PolicySpec
    from engine.simulate.run import Simulation, simulate

    w = world(agents)
    levers = Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                    money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))
    settings = Settings(days=days, replicates=1, seed=0, device=device)
    simulate(w, PolicySpec("popularity"), levers, Settings(days=2, replicates=1, seed=0, device=device))  # warm-up
    start = time.perf_counter()
    Simulation(w, PolicySpec("popularity"), levers, settings)  # the set-up alone
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = simulate(w, PolicySpec("popularity"), levers, settings)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "setup": setup, "agents": result.agents, "dau": float(result.series("dau").mean())}


def run_numpy(agents: int, days: int) -> dict:
    """The reference day: visit → popularity slate → MNL with an outside option → state update."""
    rng = np.random.default_rng(0)
    taste = np.eye(TOPICS, dtype=np.float32)[np.arange(agents) % TOPICS]
    vectors = np.eye(TOPICS, dtype=np.float32)[np.arange(ITEMS) % TOPICS]
    quality = rng.normal(0, 0.6, ITEMS).astype(np.float32)
    visit_p = np.where(np.arange(agents) % 2 == 0, 0.15, 0.3).astype(np.float32)
    hazard = np.full(agents, 0.003, dtype=np.float32)
    alive = np.ones(agents, dtype=bool)
    sat = np.zeros(agents, dtype=np.float32)
    popularity = np.zeros(ITEMS, dtype=np.int64)
    start = time.perf_counter()
    for _ in range(days):
        alive &= rng.random(agents, dtype=np.float32) >= hazard * np.exp(-0.3 * sat)
        visit = alive & (rng.random(agents, dtype=np.float32) < np.minimum(visit_p * np.exp(0.3 * sat), 0.95))
        rows = np.flatnonzero(visit)
        slate = np.argsort(-popularity, kind="stable")[:K]
        util = 2.5 * (taste[rows] @ vectors[slate].T) + quality[slate]
        noise = rng.gumbel(size=(len(rows), K + 1)).astype(np.float32)
        total = np.concatenate([util + noise[:, :K], noise[:, K:]], axis=1)  # outside option: utility 0
        pick = total.argmax(axis=1)
        chose = pick < K
        popularity += np.bincount(slate[pick[chose]], minlength=ITEMS)
        received = np.where(chose, util[np.arange(len(rows)), np.minimum(pick, K - 1)], 0.0)
        sat[rows] = 0.9 * sat[rows] + 0.1 * received
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "agents": agents}


def child(kind: str, agents: int, days: int, device: str) -> None:
    out = run_engine(agents, days, device) if kind == "engine" else run_numpy(agents, days)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(kind: str, agents: int, days: int, device: str) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--agents", str(agents), "--days", str(days), "--device", device]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--child", choices=("engine", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        child(args.child, args.agents[0], args.days, args.device)
        return
    import torch

    print(f"simulator speed, {args.days} days, device {args.device}, torch threads {torch.get_num_threads()}")
    print(f"{'agents':>10} {'kpconsole steps/s':>18} {'(days only)':>12} {'peak MB':>8} "
          f"{'NumPy steps/s':>14} {'peak MB':>8} {'ratio':>6}")
    for agents in args.agents:
        ours = measure("engine", agents, args.days, args.device)
        ref = measure("numpy", agents, args.days, args.device)
        steps = ours["agents"] * args.days
        ours_rate, days_rate = steps / ours["seconds"], steps / max(ours["seconds"] - ours["setup"], 1e-9)
        ref_rate = ref["agents"] * args.days / ref["seconds"]
        print(f"{agents:>10,} {ours_rate:>18,.0f} {days_rate:>12,.0f} {ours['peak_rss_mb']:>8,.0f} {ref_rate:>14,.0f} "
              f"{ref['peak_rss_mb']:>8,.0f} {ours_rate / ref_rate:>5.2f}×")


if __name__ == "__main__":
    main()
