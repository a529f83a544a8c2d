"""Replicates sharded over processes: one process against W gloo CPU processes, same run.

    .venv/bin/python bench/simulate_distributed.py [--agents 50000] [--replicates 4] [--days 20] [--processes 2]

The toy world of 16 topics and 500 items with agents joining, prices, refunds and
contributions, the popularity policy. One process runs the whole run with ``P`` CPU threads
(the box's cores); then ``W`` processes spawned here (gloo, ``P / W`` threads each) run it
sharded (:func:`engine.simulate.distributed.simulate_distributed`). Printed: wall seconds of
each (set-up included; the spawned processes' start-up is not), each process's peak resident
memory (``ru_maxrss``: every process draws the whole run's agents once), and rank 0's check
against the single process — the largest relative difference of any KPI and whether per-item
views and purchases are equal.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.multiprocessing.spawn import start_processes

from engine.simulate.distributed import simulate_distributed
from engine.simulate.levers import Levers, Settings
from engine.simulate.policies import PolicySpec
from engine.simulate.run import SimResult, simulate
from engine.simulate.world import World, toy_world, uniform_segments

SEGMENTS = uniform_segments(("a", "b"), visit_mean=[0.15, 0.3], visit_concentration=20.0, churn_mean=0.003,
                            churn_concentration=50.0, buy_intercept=-1.0, refund=0.05, contribute=0.1)


def world(agents: int) -> World:
    return toy_world(agents, 500, 16, segments=SEGMENTS, arrivals_per_day=agents / 1000, seed=0)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(got: SimResult, want: SimResult) -> str:
    """The largest difference of any KPI relative to its value and to its scale (its largest
    absolute value in the run), and whether the per-item counts are equal."""
    diff = np.abs(got.values - want.values)
    value = diff / np.where(diff > 0, np.abs(want.values), 1.0)
    scale = diff.max(axis=(0, 2)) / np.maximum(np.abs(want.values).max(axis=(0, 2)), 1e-300)
    worst = want.metrics[int(np.unravel_index(value.argmax(), value.shape)[1])]
    same = np.array_equal(got.item_views, want.item_views) and np.array_equal(got.item_purchases, want.item_purchases)
    return (f"largest KPI difference {value.max():.1e} of the value ({worst}), {scale.max():.1e} of the KPI's scale "
            f"({want.metrics[int(scale.argmax())]}); per-item views and purchases equal: {same}")


def _rank(rank: int, ranks: int, init: str, args: argparse.Namespace, single: str) -> None:
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // ranks))
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=ranks)
    began = time.perf_counter()
    result = simulate_distributed(world(args.agents), PolicySpec("popularity"), Levers(),
                                  Settings(days=args.days, replicates=args.replicates, device="cpu"))
    seconds = time.perf_counter() - began
    peaks: list[float] | None = [0.0] * ranks if rank == 0 else None
    dist.gather_object(peak_mb(), peaks, dst=0)
    if result is not None and peaks is not None:
        want = torch.load(single, weights_only=False)
        print(f"{ranks} processes: {seconds:6.1f} s, peak MB per process {', '.join(f'{p:.0f}' for p in peaks)}; "
              f"{compare(result, want)}")
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50_000)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.agents:,} users × {args.replicates} replicates × {args.days} days; load {os.getloadavg()[0]:.1f}")
    began = time.perf_counter()
    single = simulate(world(args.agents), PolicySpec("popularity"), Levers(),
                      Settings(days=args.days, replicates=args.replicates, device="cpu"))
    print(f"1 process:   {time.perf_counter() - began:6.1f} s, peak MB {peak_mb():.0f}")
    with tempfile.TemporaryDirectory(prefix="kpconsole-bench-") as tmp:
        path = os.path.join(tmp, "single.pt")
        torch.save(single, path)
        start_processes(_rank, args=(args.processes, os.path.join(tmp, "rendezvous"), args, path),
                        nprocs=args.processes, start_method="spawn")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
