"""What a visiting agent opens: the slate, then a multinomial logit with an outside option.

Agent ``i`` (segment ``s``, taste ``x_i``) values item ``j`` at the deterministic utility
``u_ij = β_s·⟨x_i, v_j⟩ + q_j`` (taste affinity times the segment's choice sensitivity, plus
the item's quality). Shown a slate of ``K`` items it has not opened, the agent perturbs each
utility and the outside option ``u₀`` ("nothing here") with independent Gumbel noise and opens
the items that beat the outside option, best first, at most ``1 + Poisson(λ_s)`` of them. The
first pick is exactly the MNL ``P(j) = e^{u_j} / (e^{u₀} + Σ_k e^{u_k})``; its deterministic
utility is what the agent *received* from the visit (the outside utility when nothing was
opened), which moves its satisfaction.

The noise of (agent, item, day) is a common random number (:mod:`engine.simulate.rng`): an agent
shown the same item in two scenarios reacts to it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.simulate import rng, seen


@dataclass(frozen=True)
class Tastes:
    """Tensors that make utilities: per source user, per item, per segment."""

    taste: torch.Tensor  # [U, D]
    vectors: torch.Tensor  # [M, D]
    quality: torch.Tensor  # [M]
    sensitivity: torch.Tensor  # [S] β
    segment: torch.Tensor  # [rows] agent segment
    source: torch.Tensor  # [rows] agent source user

    def utility(self, rows: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """``u_ij`` for ``rows`` [V] × ``items`` [V, K] (or every item when None: [V, M])."""
        x = self.taste[self.source[rows]]  # [V, D]
        beta = self.sensitivity[self.segment[rows]][:, None]
        if items is None:
            return beta * (x @ self.vectors.T) + self.quality[None, :]
        safe = items.clamp(min=0)
        affinity = torch.einsum("vd,vkd->vk", x, self.vectors[safe])
        return beta * affinity + self.quality[safe]


@dataclass(frozen=True)
class Clicks:
    """One day's slates and what was opened (click arrays sorted by row)."""

    slate: torch.Tensor  # [V, K] item, -1 = empty slot
    row: torch.Tensor  # [E]
    item: torch.Tensor  # [E]
    received: torch.Tensor  # [V] utility of the first pick, the outside utility when nothing


def first_not_owned(cand: torch.Tensor, rows: torch.Tensor, owned: torch.Tensor, owns_any: torch.Tensor,
                    k: int) -> torch.Tensor:
    """The first ``k`` candidates of each row the agent does not own (-1 pads).

    Only rows flagged in ``owns_any`` (agents who bought something) are checked against their
    bits; everyone else gets the first ``k`` candidates as they are.
    """
    k = min(k, cand.shape[1])
    slate = cand[:, :k].clone()
    check = torch.nonzero(owns_any[rows]).flatten()
    if check.numel():
        sub = cand[check]
        keep = (sub >= 0) & ~seen.contains(owned, rows[check], sub.clamp(min=0))
        key = keep.to(torch.int64) * torch.arange(sub.shape[1], 0, -1, device=cand.device)
        top = torch.topk(key, k, dim=1)
        slate[check] = sub.gather(1, top.indices).masked_fill(top.values == 0, -1)
    return slate


def choice_noise(seed: int, day: int, rows: torch.Tensor, items: torch.Tensor, catalog: int) -> torch.Tensor:
    """The Gumbel noise of (agent, item) today; ``items = catalog`` is the outside option."""
    return rng.gumbel(seed, "choice", day, rows, items)


def choose(day: int, rows: torch.Tensor, slate: torch.Tensor, tastes: Tastes, attention: torch.Tensor,
           outside: float, items: int, seed: int) -> Clicks:
    """Open items from ``slate`` for the visiting ``rows`` (see the module docstring)."""
    k = slate.shape[1]
    shown = slate >= 0
    util = tastes.utility(rows, slate)
    noise = choice_noise(seed, day, rows, slate.clamp(min=0), items)
    outside_u = outside + choice_noise(seed, day, rows, torch.full_like(rows[:, None], items), items)[:, 0]
    total = (util + noise).masked_fill(~shown, float("-inf"))
    beats = total > outside_u[:, None]
    budget = 1 + rng.poisson_capped(rng.uniform(seed, "attention", day, rows),
                                    attention[tastes.segment[rows]], k - 1)
    order = torch.argsort(total, dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(k, device=rows.device).expand_as(order))
    opened = beats & (rank < budget[:, None])
    v_idx, slot = torch.nonzero(opened, as_tuple=True)
    first = opened & (rank == 0)
    received = torch.where(first, util, torch.zeros_like(util)).sum(dim=1)
    received = torch.where(first.any(dim=1), received, torch.full_like(received, outside))
    return Clicks(slate=slate, row=rows[v_idx], item=slate[v_idx, slot], received=received)
