"""Simulator speed: user-steps per second of ``engine.simulate`` next to a plain NumPy day.

    .venv/bin/python bench/simulate.py [--agents 100000 1000000] [--days 30] [--repeat 3] [--threads N]

**The same step.** Issue 5 asks for the simulator's speed next to "a plain NumPy implementation
of the same step (visit → MNL over a K-item slate + outside option → state update)". The
simulator is measured in the configuration whose day is exactly that — the **core** day:

* the toy world of 16 topics and 500 items, two segments (visit probability Beta-distributed
  around 0.15 and 0.30, churn hazard around 0.003), one replicate, the popularity policy, a
  slate of K = 10;
* churn (hazard ``θ·exp(−γ_c·σ)``) → visit (``min(0.95, p·exp(γ_v·σ))``) → the popularity
  slate → one pick by a multinomial logit over the K items and the outside option (attention
  λ = 0: at most one item opened) → state update: the popularity counts, satisfaction
  ``σ ← (1−ρ)σ + ρ(ū − u_ref)`` (``u_ref``: the agent's expected utility of its own first pick
  from the whole catalog, computed at set-up), WAU/MAU recency;
* the levers that add money and membership work are off: no purchases (buy intercept −∞),
  no tiers, ads, fees, subscriptions or contributions;
* every KPI the simulator reports for that day is computed, as it always is.

The **NumPy reference** (:class:`NumpyDay`) is that day written plainly in NumPy, float32
where the simulator uses float32, NumPy's own PCG64 generator (no counter-based hashing), the
Gumbel noise as ``−log(−log U)`` on float32 uniforms (5× faster than ``Generator.gumbel``), the
same agents' parameters drawn from the same Beta distributions, the same ``u_ref`` at set-up,
and the KPIs of that day that are not trivially zero (DAU, WAU, MAU, alive, churned, views,
satisfaction, exposure Gini, coverage, homogenisation over 200 pairs). The printed DAU and
views per day of both show that they simulate the same thing (they agree up to noise).

**The full day** is printed separately, without a ratio: the same world with purchases,
refunds, a membership tier, ads, payment fees, creator shares, contributions and attention
λ = 0.5 (up to several items opened) — everything the simulator books.

**Timing.** Each measurement runs in a fresh subprocess (so its peak resident memory,
``ru_maxrss``, is its own), measurements alternate (core, NumPy, full) ``--repeat`` times and
the medians are printed. "run" is the whole run, set-up (drawing the agents, ``u_ref``)
included; "days" leaves the set-up out. Ratios are like for like (run/run, days/days). The
simulator runs with torch's default threads (2 here; ``--threads`` overrides); the NumPy
reference is single-threaded apart from its small matrix product. OpenMP threads wait
passively, as ``kpconsole`` sets them (spinning threads starve other work on a shared box).
The load average is printed before and after: on the shared 2-core box the figures move with
what else runs. Targets (issue 5): ≥ 5 M user-steps/s on this CPU and ≥ 3 × the NumPy
reference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ITEMS, TOPICS, K, SEED = 500, 16, 10, 0
VISIT, VISIT_CONC, CHURN, CHURN_CONC = [0.15, 0.3], 8.0, 0.003, 4.0
RHO, GAMMA_V, GAMMA_C, MAX_VISIT, PAIRS, POOL = 0.1, 0.3, 0.3, 0.95, 200, 4096


def world(agents: int, *, full: bool):
    """The bench's toy world: the core day's segments, or the full day's (money and all)."""
    from engine.simulate.world import toy_world, uniform_segments

    common = {"visit_mean": VISIT, "visit_concentration": VISIT_CONC, "churn_mean": CHURN,
              "churn_concentration": CHURN_CONC}
    if full:
        segs = uniform_segments(("a", "b"), **common, attention=0.5, buy_intercept=-2.0, price_sensitivity=1.0,
                                refund=0.05, subscribe=0.005, cancel=0.1, contribute=0.05)
    else:
        segs = uniform_segments(("a", "b"), **common, attention=0.0, buy_intercept=-np.inf, subscribe=0.0,
                                contribute=0.0)
    return toy_world(users=agents, items=ITEMS, topics=TOPICS, segments=segs, seed=1)


def run_engine(agents: int, days: int, full: bool) -> dict:
    from engine.simulate.levers import Levers, Membership, Money, Settings, Tier
    from engine.simulate.policies import PolicySpec
    from engine.simulate.run import Simulation, simulate

    w = world(agents, full=full)
    levers = (Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                     money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))
              if full else Levers())
    settings = Settings(days=days, replicates=1, seed=SEED, device="cpu")
    simulate(w, PolicySpec("popularity"), levers, Settings(days=2, replicates=1, seed=SEED, device="cpu"))  # warm-up
    start = time.perf_counter()
    Simulation(w, PolicySpec("popularity"), levers, settings)  # the set-up alone
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = simulate(w, PolicySpec("popularity"), levers, settings)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "setup": setup, "agents": result.agents,
            "dau": float(result.series("dau").mean()), "views": float(result.series("views").mean())}


class NumpyDay:
    """The core day in plain NumPy (see the module docstring); one replicate."""

    def __init__(self, w, seed: int) -> None:
        seg, cat, users = w.segments, w.catalog, w.users
        self.rng = rng = np.random.default_rng(seed)
        n = users.count
        s = users.segment

        def beta(mean: np.ndarray, conc: float) -> np.ndarray:
            return rng.beta(mean * conc, (1 - mean) * conc).astype(np.float32)

        self.visit_p = beta(seg.visit_mean[s], VISIT_CONC)
        self.hazard = beta(seg.churn_mean[s], CHURN_CONC)
        self.taste, self.vectors = users.taste, cat.vectors
        self.quality = cat.quality.astype(np.float32)
        self.beta = seg.choice_sensitivity.astype(np.float32)[s]
        self.alive = np.ones(n, dtype=bool)
        self.sat = np.zeros(n, dtype=np.float32)
        self.last_visit = np.full(n, -10_000, dtype=np.int64)
        self.counts = np.round(cat.popularity).astype(np.int64)
        self.creator, self.creators = cat.creator, cat.creators
        self.u_ref = np.empty(n, dtype=np.float32)
        for lo in range(0, n, 4096):  # Σ_j softmax(u)_j·u_j over the whole catalog
            u = self.beta[lo:lo + 4096, None] * (self.taste[lo:lo + 4096] @ self.vectors.T) + self.quality
            e = np.exp(u - u.max(axis=1, keepdims=True))
            self.u_ref[lo:lo + 4096] = (e * u).sum(axis=1) / e.sum(axis=1)
        unit = self.taste / np.maximum(np.linalg.norm(self.taste, axis=1, keepdims=True), 1e-12)
        anchors = rng.choice(n, size=min(PAIRS, n), replace=False)
        pool = rng.choice(n, size=min(POOL, n), replace=False)
        sim = unit[anchors] @ unit[pool].T
        sim[anchors[:, None] == pool[None, :]] = -2.0
        left, right = anchors, pool[sim.argmax(axis=1)]
        self.tracked = np.full(n, -1, dtype=np.int64)
        tracked = np.unique(np.concatenate([left, right]))
        self.tracked[tracked] = np.arange(len(tracked))
        self.pairs = (self.tracked[left], self.tracked[right])  # rows of ``opened``
        self.opened = np.zeros((len(tracked), cat.size), dtype=bool)

    def step(self, day: int) -> dict[str, float]:
        rng, n = self.rng, len(self.alive)
        # churn, visit
        alive_before = self.alive.sum()
        self.alive &= rng.random(n, dtype=np.float32) >= self.hazard * np.exp(-GAMMA_C * self.sat)
        p = np.minimum(self.visit_p * np.exp(GAMMA_V * self.sat), MAX_VISIT)
        rows = np.flatnonzero(self.alive & (rng.random(n, dtype=np.float32) < p))
        # the popularity slate, one MNL pick over K items + the outside option (utility 0)
        slate = np.argsort(-self.counts, kind="stable")[:K]
        util = self.beta[rows, None] * (self.taste[rows] @ self.vectors[slate].T) + self.quality[slate]
        u = rng.random((len(rows), K + 1), dtype=np.float32)
        u += np.float32(2.0 ** -25)  # strictly inside (0, 1), as the simulator's draws are
        gumbel = -np.log(-np.log(u))
        total = util + gumbel[:, :K]
        best = total.argmax(axis=1)
        chose = total[np.arange(len(rows)), best] > gumbel[:, K]
        item = slate[best[chose]]
        # state update
        self.counts += np.bincount(item, minlength=len(self.counts))
        received = np.where(chose, util[np.arange(len(rows)), best], np.float32(0.0))
        self.sat[rows] = (1 - RHO) * self.sat[rows] + RHO * (received - self.u_ref[rows])
        self.last_visit[rows] = day
        clicked = rows[chose]
        t = self.tracked[clicked]
        self.opened[t[t >= 0], item[t >= 0]] = True
        # the day's KPIs
        alive = self.alive.sum()
        exposure = np.bincount(self.creator[slate], minlength=self.creators).astype(np.float64) * len(rows)
        x = np.sort(exposure)
        c = len(x)
        gini = ((2 * np.arange(1, c + 1) - c - 1) * x).sum() / (c * x.sum()) if x.sum() > 0 else 0.0
        a, b = self.opened[self.pairs[0]], self.opened[self.pairs[1]]
        union = (a | b).sum(axis=1)
        jaccard = (a & b).sum(axis=1)[union > 0] / union[union > 0]
        return {"dau": len(rows), "wau": int((self.last_visit > day - 7).sum()),
                "mau": int((self.last_visit > day - 30).sum()), "alive": int(alive),
                "churned": int(alive_before - alive), "views": int(chose.sum()),
                "satisfaction": float(self.sat[self.alive].mean()), "exposure_gini": float(gini),
                "coverage": K / len(self.counts), "homogenisation": float(jaccard.mean()) if len(jaccard) else 0.0}


def run_numpy(agents: int, days: int) -> dict:
    w = world(agents, full=False)
    start = time.perf_counter()
    ref = NumpyDay(w, SEED)
    setup = time.perf_counter() - start
    kpis = [ref.step(day) for day in range(days)]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "setup": setup, "agents": agents,
            "dau": float(np.mean([k["dau"] for k in kpis])), "views": float(np.mean([k["views"] for k in kpis]))}


def child(kind: str, agents: int, days: int) -> None:
    out = run_numpy(agents, days) if kind == "numpy" else run_engine(agents, days, full=kind == "full")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(kind: str, agents: int, days: int, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--agents", str(agents), "--days", str(days)]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def rates(runs: list[dict], days: int) -> dict:
    """Medians over repeats: steps/s of the whole run and of the days alone, peak MB, DAU, views."""
    run = [r["agents"] * days / r["seconds"] for r in runs]
    only = [r["agents"] * days / max(r["seconds"] - r["setup"], 1e-9) for r in runs]
    return {"run": statistics.median(run), "days": statistics.median(only),
            "mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "dau": statistics.median(r["dau"] for r in runs), "views": statistics.median(r["views"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100_000, 1_000_000], help="population sizes")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each kind (medians printed)")
    parser.add_argument("--threads", type=int, help="torch threads of the simulator (default: torch's)")
    parser.add_argument("--child", choices=("core", "full", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        child(args.child, args.agents[0], args.days)
        return
    import torch

    threads = args.threads or torch.get_num_threads()
    print(f"simulator speed: {args.days} days, CPU, torch threads {threads}, medians of {args.repeat}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the start")
    print("core day: visit → MNL over a 10-item popularity slate + outside option → state update (+ its KPIs), "
          "NumPy the same day")
    print(f"{'agents':>10} {'day':>5} {'kpconsole steps/s':>18} {'(days only)':>12} {'NumPy steps/s':>14} "
          f"{'(days only)':>12} {'ratio':>6} {'(days)':>7} {'peak MB':>8} {'NumPy MB':>9} {'DAU':>8} {'NumPy DAU':>10} "
          f"{'views':>8} {'NumPy views':>12}")
    for agents in args.agents:
        got: dict[str, list[dict]] = {"core": [], "numpy": [], "full": []}
        for _ in range(args.repeat):
            for kind, runs in got.items():
                runs.append(measure(kind, agents, args.days, args.threads))
        ours, ref, full = (rates(got[k], args.days) for k in ("core", "numpy", "full"))
        print(f"{agents:>10,} {'core':>5} {ours['run']:>18,.0f} {ours['days']:>12,.0f} {ref['run']:>14,.0f} "
              f"{ref['days']:>12,.0f} {ours['run'] / ref['run']:>5.2f}× {ours['days'] / ref['days']:>6.2f}× "
              f"{ours['mb']:>8,.0f} {ref['mb']:>9,.0f} {ours['dau']:>8,.0f} {ref['dau']:>10,.0f} "
              f"{ours['views']:>8,.0f} {ref['views']:>12,.0f}")
        print(f"{agents:>10,} {'full':>5} {full['run']:>18,.0f} {full['days']:>12,.0f} {'–':>14} {'–':>12} {'–':>6} "
              f"{'–':>7} {full['mb']:>8,.0f} {'–':>9} {full['dau']:>8,.0f} {'–':>10} {full['views']:>8,.0f} {'–':>12}")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
