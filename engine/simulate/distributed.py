"""Replicates sharded over processes with torch.distributed (``torchrun … sim run … --distributed``).

Replicates are independent runs of the same world, so a run of ``R`` replicates splits over
the ranks of a process group without any talk between them until the end: rank ``k`` of
``W`` simulates a contiguous share of the replicates (:func:`replicate_share`, as even as
possible), and rank 0 gathers every share's result in replicate order
(:meth:`~engine.simulate.run.SimResult.joined`). Each share is the whole run's window
(:class:`~engine.simulate.run.Simulation`'s ``window``): its agents and new items are cut
from the whole run's draws and its counter-based random numbers are hashed at global agent
rows, so every replicate makes the draws it makes in one process.

What comes out, against one process with the same seed: every count (visits, views,
purchases, members, questions, per-item views and purchases, incentive profiles) is equal;
sums of money and satisfaction differ by rounding only. A replicate's day is summed by one
float64 cumulative sum over the rows of every replicate a process holds
(:func:`~engine.simulate.money.per_replicate_sum`), so its rounding depends on the
replicates held before it, and grows with the rows summed: measured 2e-14 of the value on a
toy world of 500 agents, 6e-13 at 100 k agents × 8 replicates, 2e-12 at 200 k × 8
(``bench/simulate_distributed.py``). Nothing decided in the run reads those sums.

Each rank draws the whole run's agents once at set-up (:mod:`engine.simulate.population`)
and then holds only its share's state; the group is the caller's (gloo on CPUs, NCCL with
one GPU per rank: :func:`engine.recommend.distributed.join_group`).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch.distributed as dist

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.simulate.levers import Levers, Settings
from engine.simulate.policies import PolicySpec
from engine.simulate.run import SimResult, simulate
from engine.simulate.world import World

T = TypeVar("T")


def replicate_share(replicates: int, rank: int, ranks: int) -> range:
    """The replicates rank ``rank`` of ``ranks`` simulates: contiguous, the first
    ``replicates % ranks`` ranks one more than the others.

    >>> [replicate_share(5, k, 2) for k in range(2)]
    [range(0, 3), range(3, 5)]
    """
    if replicates < ranks:
        raise EngineError(f"{replicates} replicates cannot be shared by {ranks} processes: "
                          "give at least one replicate per process")
    size, extra = divmod(replicates, ranks)
    start = rank * size + min(rank, extra)
    return range(start, start + size + (rank < extra))


def simulate_distributed(world: World, policy: PolicySpec, levers: Levers, settings: Settings, *,
                         prices: np.ndarray | None = None, visit_multipliers: np.ndarray | None = None,
                         progress: Progress = no_progress) -> SimResult | None:
    """:func:`~engine.simulate.run.simulate`, called on every rank of the joined process group
    with the same arguments: this rank simulates its share (``progress`` reports it), and rank
    0 returns the whole run's result; the other ranks return None."""
    rank, ranks = dist.get_rank(), dist.get_world_size()
    share = simulate(world, policy, levers, settings, prices=prices, visit_multipliers=visit_multipliers,
                     window=replicate_share(settings.replicates, rank, ranks), progress=progress)
    shares: list[SimResult] | None = [share] * ranks if rank == 0 else None  # placeholders, overwritten
    dist.gather_object(share, shares, dst=0)
    return SimResult.joined(shares) if shares is not None else None


def from_rank0(value: T) -> T:
    """Rank 0's ``value`` on every rank of the joined group (what the other ranks pass is ignored)."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
