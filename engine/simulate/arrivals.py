"""A growing catalog: items that arrive during a run, and hiding them until they have.

Every tensor keeps its shape for the whole run. Before day 0 each replicate draws how many
items of each kind arrive on each day — ``Poisson(λ_k)``, ``λ_k`` the calibrated daily rate
(:class:`~engine.simulate.world.ItemArrivals`) — from NumPy generators seeded by the run's
seed and the kind alone, so every scenario of the same seed, days and replicates sees the
same arrivals (common random numbers), and a longer run starts with the same days. The
catalog tensors get ``S`` columns after the ``M₀`` items of day 0, *slots*, grouped by kind:
the i-th arrival of kind ``k`` in replicate ``r`` fills kind ``k``'s i-th slot on its arrival
day, and a slot its replicate does not fill never arrives there. Kind ``k`` has as many slots
as the most arrivals any replicate drew (at most :data:`MAX_NEW_ITEMS` in all, shared by the
kinds in proportion to their rates; arrivals past a kind's slots are dropped).

Each slot is a copy of one pool item (kind, tag vector, quality, price, creator), drawn once
for all replicates: replicates differ in how many items arrive and when, not in which — a
simplification that keeps the catalog ``[M₀ + S]`` rather than ``[R, M₀ + S]``. A slot's price
follows the run's prices of the item it copies (a scenario's price change reaches new items).

Until it arrives, a slot is hidden in its replicate (:class:`Availability`): it is dropped
from a policy's candidates before slates are made and, for the ``organic`` policy, its
utility is ``-inf`` (:meth:`Availability.hide_in`); its popularity count starts at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.simulate.gather import take
from engine.simulate.world import Catalog, ItemArrivals

MAX_NEW_ITEMS = 5_000
NEVER_ARRIVES = 1 << 40  # the arrival day of a slot its replicate does not fill


@dataclass(frozen=True)
class NewItems:
    """The run's slots: the catalog item each copies, and its arrival day in each replicate."""

    template: np.ndarray  # [S] int64: index of the day-0 catalog item the slot copies
    arrival: np.ndarray  # [R, S] int64: day slot j arrives in replicate r (NEVER_ARRIVES: it does not)

    @property
    def slots(self) -> int:
        return len(self.template)

    def of_replicates(self, window: range) -> NewItems:
        """The slots as the replicates of ``window`` see them (the same slots; their arrival rows).

        Each kind's counts are drawn for every replicate at once (one generator, ``[days, R]``)
        and the slots are as many as any replicate needs, so a window of a run is cut from the
        whole run's draw, never drawn alone."""
        return NewItems(template=self.template, arrival=self.arrival[window.start:window.stop])

    def extend(self, values: np.ndarray) -> np.ndarray:
        """Per-item ``values`` [M₀, …] of the day-0 catalog followed by the slots' copies [M₀ + S, …]."""
        return np.concatenate([values, values[self.template]])


def draw_new_items(arrivals: ItemArrivals, catalog: Catalog, replicates: int, days: int, seed: int) -> NewItems:
    """The slots of a run of ``days`` days and ``replicates`` replicates (module docstring)."""
    total_rate = float(arrivals.per_day[arrivals.per_day > 0].sum())
    templates, arrival_days = [np.zeros(0, dtype=np.int64)], [np.zeros((replicates, 0), dtype=np.int64)]
    for k, (kind, rate) in enumerate(zip(arrivals.kinds, arrivals.per_day.tolist(), strict=True)):
        pool = arrivals.pool[catalog.kind[arrivals.pool] == kind]
        if rate <= 0 or len(pool) == 0:
            continue
        counts = np.random.default_rng([seed, 0xA771, k]).poisson(rate, size=(days, replicates))
        slots = min(int(counts.sum(axis=0).max()), max(1, int(MAX_NEW_ITEMS * rate / total_rate)))
        arrival = np.full((replicates, slots), NEVER_ARRIVES, dtype=np.int64)
        for r in range(replicates):
            on = np.repeat(np.arange(days), counts[:, r])[:slots]
            arrival[r, :len(on)] = on
        templates.append(pool[np.random.default_rng([seed, 0xA771, k, 1]).integers(0, len(pool), size=slots)])
        arrival_days.append(arrival)
    return NewItems(template=np.concatenate(templates).astype(np.int64), arrival=np.concatenate(arrival_days, axis=1))


class Availability:
    """Which items each replicate's catalog holds on the current day ([R, M₀ + S] ``hidden``)."""

    def __init__(self, new: NewItems, items0: int, device: torch.device) -> None:
        replicates = new.arrival.shape[0]
        self.arrival = torch.cat([torch.zeros(replicates, items0, dtype=torch.int64, device=device),
                                  torch.as_tensor(new.arrival, device=device)], dim=1)
        self.items0, self.growing = items0, new.slots > 0
        self.hidden = self.arrival > 0

    def open(self, day: int) -> torch.Tensor:
        """Show the items arriving on ``day``; the number that did, per replicate."""
        self.hidden = self.arrival > day
        return (self.arrival[:, self.items0:] == day).sum(dim=1)

    def count(self) -> torch.Tensor:
        """Items available today, per replicate."""
        return self.arrival.shape[1] - self.hidden.sum(dim=1)

    def keep_available(self, cand: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        """The candidates [V, C] of rows in ``replicate`` [V] without the items hidden there, in
        their order, ``-1`` padding the end; ``cand`` itself when none of them is hidden."""
        if not self.growing:
            return cand
        shared = len(cand) > 0 and cand.stride(0) == 0 and self.hidden.shape[0] == 1  # one list for every row
        items, reps = (cand[:1], replicate[:1]) if shared else (cand, replicate)
        listed = items >= 0
        drop = listed & take(self.hidden.view(-1), reps[:, None] * self.hidden.shape[1] + items.clamp(min=0))
        if not bool(drop.any()):
            return cand
        keep = listed & ~drop
        width = items.shape[1]
        place = keep.cumsum(dim=1) - 1
        place.masked_fill_(~keep, width)  # dropped ones go to a spare last column
        packed = torch.full((len(items), width + 1), -1, dtype=items.dtype, device=items.device)
        packed.scatter_(1, place, items)
        return packed[:, :width].expand(len(cand), -1) if shared else packed[:, :width]

    def hide_in(self, utility: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        """``utility`` [V, M₀ + S] of rows in ``replicate`` [V] with the items hidden there set to
        ``-inf`` (in place), one masked fill per run of rows of the same replicate."""
        if not self.growing:
            return utility
        reps, counts = torch.unique_consecutive(replicate, return_counts=True)
        lo = 0
        for r, n in zip(reps.tolist(), counts.tolist(), strict=True):
            utility[lo:lo + n].masked_fill_(self.hidden[r], float("-inf"))
            lo += n
        return utility
