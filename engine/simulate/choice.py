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
from engine.simulate.gather import take


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
        """``u_ij`` for ``rows`` [V] × ``items`` [V, K] (or every item when None: [V, M]).

        With ``items``, the affinities come from one matrix product with the vectors of the
        distinct items listed when they are few (a popularity slate: at most a few dozen), else
        from gathering each listed item's vector.
        """
        x = take(self.taste, take(self.source, rows))  # [V, D]
        beta = take(self.sensitivity, take(self.segment, rows))[:, None]
        if items is None:
            return beta * (x @ self.vectors.T) + self.quality[None, :]
        safe = items.clamp(min=0)
        listed = torch.zeros(self.vectors.shape[0], dtype=torch.bool, device=rows.device)
        listed.index_fill_(0, safe.view(-1), True)
        distinct = torch.nonzero(listed).flatten()
        if distinct.numel() <= items.shape[1] * self.vectors.shape[1]:
            column = torch.zeros(self.vectors.shape[0], dtype=torch.int64, device=rows.device)
            column[distinct] = torch.arange(distinct.numel(), device=rows.device)
            u = x @ take(self.vectors, distinct).T  # [V, distinct]
            u *= beta
            u += take(self.quality, distinct)
            return u.gather(1, take(column, safe))
        u = torch.einsum("vd,vkd->vk", x, take(self.vectors, safe))
        u *= beta
        u += take(self.quality, safe)
        return u


@dataclass(frozen=True)
class Clicks:
    """What the day's visitors opened (click arrays sorted by row)."""

    row: torch.Tensor  # [E] agent row
    visitor: torch.Tensor  # [E] index of that row among the day's visitors
    item: torch.Tensor  # [E]
    received: torch.Tensor  # [V] utility of the first pick, the outside utility when nothing

    @staticmethod
    def concat(parts: list[Clicks]) -> Clicks:
        """The clicks of consecutive blocks of visitors as one."""
        return Clicks(*(torch.cat([getattr(p, f) for p in parts]) for f in ("row", "visitor", "item", "received")))


def first_not_owned(cand: torch.Tensor, rows: torch.Tensor, owned: torch.Tensor, owns_any: torch.Tensor,
                    k: int) -> torch.Tensor:
    """The first ``k`` candidates of each row the agent does not own (-1 pads).

    Only rows flagged in ``owns_any`` (agents who bought something) are checked against their
    bits; everyone else gets the first ``k`` candidates as they are.
    """
    k = min(k, cand.shape[1])
    slate = cand[:, :k].clone()
    check = torch.nonzero(take(owns_any, rows)).flatten()
    if check.numel():
        sub = take(cand, check)
        keep = (sub >= 0) & ~seen.contains(owned, take(rows, check), sub.clamp(min=0))
        # each kept candidate's place among the kept ones; the rest (and places ≥ k) go to column k
        place = keep.cumsum(dim=1) - 1
        place.masked_fill_(~keep | (place >= k), k)
        packed = torch.full((len(check), k + 1), -1, dtype=cand.dtype, device=cand.device)
        packed.scatter_(1, place, sub)
        slate[check] = packed[:, :k]
    return slate


def choice_noise(seed: int, day: int, rows: torch.Tensor, items: torch.Tensor,
                 base: torch.Tensor | None = None) -> torch.Tensor:
    """The Gumbel noise of (agent, item) today, added to ``base`` when given; the catalog size
    as the item is the outside option."""
    if base is None:
        return rng.gumbel(seed, "choice", day, rows, items)
    return rng.gumbel_added(base, seed, "choice", day, rows, items)


def attention_cdf(attention: torch.Tensor, k: int) -> torch.Tensor | None:
    """Per segment, the CDF of the extra items an agent may open (``Poisson(λ_s)`` capped at
    ``k - 1``, [S, k-1]); None when nobody can open more than one item (every λ is 0)."""
    cdf = rng.poisson_cdf(attention, k - 1)
    return cdf if bool((cdf < 1.0).any()) else None


def choose(day: int, rows: torch.Tensor, slate: torch.Tensor, tastes: Tastes, attention: torch.Tensor | None,
           outside: float, items: int, seed: int, first_visitor: int = 0) -> Clicks:
    """Open items from ``slate`` for the visiting ``rows`` (see the module docstring);
    ``attention`` is :func:`attention_cdf`.

    The first pick is the Gumbel-max over the ``K + 1`` perturbed utilities (the slate and the
    outside option). The attention budget is drawn only for rows where two or more items beat
    the outside option, and the best items are picked out only where more of them beat it than
    the budget allows. ``first_visitor`` numbers the rows among the day's visitors (when they
    come in blocks).
    """
    util = tastes.utility(rows, slate)
    total = choice_noise(seed, day, rows, slate, util)  # the noise of a pad (-1) is masked below
    total.masked_fill_(slate < 0, float("-inf"))
    outside_u = choice_noise(seed, day, rows, torch.full_like(rows, items))
    outside_u += outside
    top, best = total.max(dim=1)
    chose = top > outside_u  # the first pick beats the outside option
    received = torch.where(chose, util.gather(1, best[:, None])[:, 0], torch.full_like(top, outside))
    if attention is None:  # one item at most: the first pick
        v_idx = torch.nonzero(chose).flatten()
        slot = take(best, v_idx)
    else:
        opened = total > outside_u[:, None]
        count = opened.sum(dim=1)
        several = torch.nonzero(count > 1).flatten()
        if several.numel():
            r = take(rows, several)
            budget = 1 + rng.poisson_capped(rng.uniform(seed, "attention", day, r),
                                            take(attention, take(tastes.segment, r)))
            over = take(count, several) > budget
            _keep_best(opened, total, several[over], take(best, several[over]), budget[over])
        v_idx, slot = torch.nonzero(opened, as_tuple=True)
    return Clicks(row=take(rows, v_idx), visitor=v_idx + first_visitor, item=slate[v_idx, slot], received=received)


def _keep_best(opened: torch.Tensor, total: torch.Tensor, rows: torch.Tensor, best: torch.Tensor,
               budget: torch.Tensor) -> None:
    """Leave open, in each of ``rows`` (indices into ``opened``; ``best`` their first picks),
    only its ``budget`` items of highest ``total`` (ties to the earlier slot): the first pick,
    then repeated argmax over the rows whose budget is not spent — most budgets are 1 or 2."""
    if rows.numel() == 0:
        return
    keep = torch.zeros(len(rows), total.shape[1], dtype=torch.bool, device=rows.device)
    everyone = torch.arange(len(rows), device=rows.device)
    keep[everyone, best] = True
    live = torch.nonzero(budget > 1).flatten()
    if live.numel():
        left = take(total, take(rows, live))
        left[torch.arange(len(live), device=rows.device), take(best, live)] = float("-inf")
        for spent in range(2, int(budget.max()) + 1):
            at = torch.arange(len(live), device=rows.device)
            pick = left.argmax(dim=1)
            keep[live, pick] = True
            left[at, pick] = float("-inf")
            more = take(budget, live) > spent
            live, left = live[more], left[more]
    opened[rows] = keep
