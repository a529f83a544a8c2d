"""The simulator on CUDA: user-steps per second, and CPU vs CUDA on the same small world.

    .venv/bin/python bench/gpu_simulate.py

Without a CUDA device it says so and exits 0 (bench/gpu_check.sh calls it on every machine).
With one, it prints for 1 M, 4 M and 8 M agents × 30 days (popularity policy, slate of 10, a
membership tier, ads and fees, one replicate) the user-steps per second of
:func:`engine.simulate.run.simulate` — of the whole run, and of its days alone without the
set-up (drawing the agents on the CPU and moving them to the GPU), whose seconds are printed —
and the GPU's peak memory, then runs a 2,000-agent world
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
from engine.simulate.run import Simulation, simulate

DAYS = 30
LEVERS = Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))


def speed(agents: int) -> tuple[float, float, float, float]:
    """(user-steps/s of the whole run, of the days alone, set-up seconds, peak GPU MB)."""
    w = world(agents, full=True)
    settings = Settings(days=DAYS, replicates=1, device="cuda")
    simulate(w, PolicySpec("popularity"), LEVERS, Settings(days=2, replicates=1, device="cuda"))  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    Simulation(w, PolicySpec("popularity"), LEVERS, settings)  # the set-up alone: agents drawn, tensors moved
    torch.cuda.synchronize()
    setup = time.perf_counter() - start
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = simulate(w, PolicySpec("popularity"), LEVERS, settings)
    torch.cuda.synchronize()
    total = time.perf_counter() - start
    steps = result.agents * DAYS
    return steps / total, steps / max(total - setup, 1e-9), setup, torch.cuda.max_memory_allocated() / 2**20


def parity() -> float:
    w = world(2_000, full=True)
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
    print(f"{'agents':>10} {'steps/s (run)':>15} {'steps/s (days)':>15} {'set-up s':>9} {'peak GPU MB':>12}")
    for agents in (1_000_000, 4_000_000, 8_000_000):
        rate, days_rate, setup, peak = speed(agents)
        print(f"{agents:>10,} {rate:>15,.0f} {days_rate:>15,.0f} {setup:>9.1f} {peak:>12,.0f}")
    print(f"CPU vs CUDA, 2,000 agents × 20 days × 4 replicates: largest relative KPI difference {parity():.2e}")


if __name__ == "__main__":
    main()
