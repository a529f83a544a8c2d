"""The simulator on CUDA: user-steps per second, and CPU vs CUDA on the same small world.

    .venv/bin/python bench/gpu_simulate.py

Without a CUDA device it says so and exits 0 (bench/gpu_check.sh calls it on every machine).
With one, it prints for 1 M and 4 M agents × 30 days (popularity policy, slate of 10, a
membership tier, ads and fees, one replicate) the user-steps per second of
:func:`engine.simulate.run.simulate` and the GPU's peak memory, then runs a 2,000-agent world
on both devices: the random draws are the same integers on both (engine/simulate/rng.py), so
the KPIs must agree up to float rounding. Goal (issue 5): ≥ 1e8 user-steps/s on an H100.
Runs in well under two minutes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.simulate import world
from engine.simulate.levers import Levers, Membership, Money, Settings, Tier
from engine.simulate.policies import PolicySpec
from engine.simulate.run import simulate

DAYS = 30
LEVERS = Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))


def speed(agents: int) -> tuple[float, float]:
    w = world(agents)
    simulate(w, PolicySpec("popularity"), LEVERS, Settings(days=2, replicates=1, device="cuda"))  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = simulate(w, PolicySpec("popularity"), LEVERS, Settings(days=DAYS, replicates=1, device="cuda"))
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return result.agents * DAYS / seconds, torch.cuda.max_memory_allocated() / 2**20


def parity() -> float:
    w = world(2_000)
    settings = {"days": 20, "replicates": 4, "seed": 3}
    cpu = simulate(w, PolicySpec("popularity"), LEVERS, Settings(device="cpu", **settings))
    gpu = simulate(w, PolicySpec("popularity"), LEVERS, Settings(device="cuda", **settings))
    worst = 0.0
    for name in ("dau", "views", "purchases", "gross", "mrr", "contributions"):
        a, b = cpu.totals(name).mean(), gpu.totals(name).mean()
        worst = max(worst, abs(a - b) / max(abs(a), 1e-9))
    return worst


def main() -> None:
    if not torch.cuda.is_available():
        print("gpu_simulate: no CUDA device, nothing to measure")
        return
    print(f"simulator on {torch.cuda.get_device_name(0)}, {DAYS} days, popularity policy, 1 replicate")
    print(f"{'agents':>10} {'user-steps/s':>16} {'peak GPU MB':>12}")
    for agents in (1_000_000, 4_000_000):
        rate, peak = speed(agents)
        print(f"{agents:>10,} {rate:>16,.0f} {peak:>12,.0f}")
    print(f"CPU vs CUDA, 2,000 agents × 20 days × 4 replicates: largest relative KPI difference {parity():.2e}")


if __name__ == "__main__":
    main()
