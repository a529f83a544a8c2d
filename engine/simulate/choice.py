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
    """Tensors that make utilities: per source user, per item, per segment. Item ``M`` (one past
    the catalog) is the outside option: taste vector 0 and quality ``u₀``, so its utility is u₀."""

    taste: torch.Tensor  # [U, D]
    vectors: torch.Tensor  # [M + 1, D], the last row 0
    quality: torch.Tensor  # [M + 1], the last entry u₀
    sensitivity: torch.Tensor  # [S] β
    segment: torch.Tensor  # [rows] agent segment
    source: torch.Tensor  # [rows] agent source user
    beta: torch.Tensor  # [rows] the β of the agent's segment

    @staticmethod
    def of(taste: torch.Tensor, vectors: torch.Tensor, quality: torch.Tensor, outside: float,
           sensitivity: torch.Tensor, segment: torch.Tensor, source: torch.Tensor) -> Tastes:
        """Tastes over the catalog ``vectors`` [M, D], ``quality`` [M] and the outside option."""
        return Tastes(taste=taste, vectors=torch.cat([vectors, vectors.new_zeros(1, vectors.shape[1])]),
                      quality=torch.cat([quality, quality.new_full((1,), outside)]), sensitivity=sensitivity,
                      segment=segment, source=source, beta=take(sensitivity, segment))

    @property
    def items(self) -> int:
        """M, the catalog's size (the outside option's index)."""
        return self.vectors.shape[0] - 1

    def utility(self, rows: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """``u_ij`` for ``rows`` [V] × ``items`` [V, K] (or every catalog item when None: [V, M]).

        With ``items``, the affinities come from one matrix product with the vectors of the
        distinct items listed when they are few (a popularity slate: at most a few dozen), else
        from gathering each listed item's vector. Items that are one row expanded (stride 0: a
        list every row shares) are looked up once, and the product's columns picked by one
        ``index_select``: the same product, so the same utilities to the bit.
        """
        x = take(self.taste, take(self.source, rows))  # [V, D]
        beta = take(self.beta, rows)[:, None]
        if items is None:
            return beta * (x @ self.vectors[:-1].T) + self.quality[None, :-1]
        shared = items.stride(0) == 0 and len(items) > 0
        safe = (items[0] if shared else items).clamp(min=0)  # [K] shared, else [V, K]
        listed = torch.zeros(self.vectors.shape[0], dtype=torch.bool, device=rows.device)
        listed.index_fill_(0, safe.view(-1), True)
        distinct = torch.nonzero(listed).flatten()
        if distinct.numel() <= items.shape[1] * self.vectors.shape[1]:
            column = torch.zeros(self.vectors.shape[0], dtype=torch.int64, device=rows.device)
            column[distinct] = torch.arange(distinct.numel(), device=rows.device)
            u = x @ take(self.vectors, distinct).T  # [V, distinct]
            u *= beta
            u += take(self.quality, distinct)
            return u.index_select(1, take(column, safe)) if shared else u.gather(1, take(column, safe))
        safe = safe.expand_as(items)
        u = torch.einsum("vd,vkd->vk", x, take(self.vectors, safe))
        u *= beta
        u += take(self.quality, safe)
        return u

    def reference_utility(self, segment: torch.Tensor) -> torch.Tensor:
        """Per source user (``segment`` theirs): ``Σ_j softmax(u_j)·u_j`` over the catalog, the
        expected utility of their own first pick."""
        out = torch.empty(self.taste.shape[0], dtype=torch.float32, device=self.taste.device)
        for lo in range(0, len(out), 4096):
            u = self.taste[lo:lo + 4096] @ self.vectors[:-1].T
            u *= self.sensitivity[segment[lo:lo + 4096]][:, None]
            u += self.quality[:-1]
            out[lo:lo + 4096] = torch.softmax(u, dim=1).mul_(u).sum(dim=1)
        return out


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
    bits; everyone else gets the first ``k`` candidates as they are. When every row has the
    same list (``cand`` broadcast along rows, stride 0), per-item work is done once.
    """
    k = min(k, cand.shape[1])
    check = torch.nonzero(take(owns_any, rows)).flatten()
    if check.numel() == 0:  # nobody to check: the candidates as they are (a view, still shared when they are)
        return cand[:, :k]
    slate = cand[:, :k].clone()
    sub = take(cand, check)
    items = sub[:1] if sub.stride(0) == 0 else sub  # [1 or n, C], broadcast below
    keep = (items >= 0) & ~seen.contains(owned, take(rows, check), items.clamp(min=0))
    # each kept candidate's place among the kept ones; the rest (and places ≥ k) go to column k
    place = keep.cumsum(dim=1) - 1
    place.masked_fill_(~keep | (place >= k), k)
    packed = torch.full((len(check), k + 1), -1, dtype=cand.dtype, device=cand.device)
    packed.scatter_(1, place, sub)
    slate[check] = packed[:, :k]
    return slate


def choice_noise(draws: rng.Draws, day: int, rows: torch.Tensor, items: torch.Tensor,
                 base: torch.Tensor | None = None) -> torch.Tensor:
    """The Gumbel noise of (agent, item) today, added to ``base`` when given; item ``M`` (the
    catalog's size) is the outside option."""
    if base is None:
        return draws.gumbel("choice", day, rows, items)
    return draws.gumbel_added(base, "choice", day, rows, items)


def attention_cdf(attention: torch.Tensor, k: int) -> torch.Tensor | None:
    """Per segment, the CDF of the extra items an agent may open (``Poisson(λ_s)`` capped at
    ``k - 1``, [S, k-1]); None when nobody can open more than one item (every λ is 0)."""
    cdf = rng.poisson_cdf(attention, k - 1)
    return cdf if bool((cdf < 1.0).any()) else None


def choose(day: int, rows: torch.Tensor, slate: torch.Tensor, tastes: Tastes, attention: torch.Tensor | None,
           draws: rng.Draws, first_visitor: int = 0) -> Clicks:
    """Open items from ``slate`` for the visiting ``rows`` (see the module docstring);
    ``attention`` is :func:`attention_cdf`.

    The first pick is one Gumbel-max over ``K + 1`` perturbed utilities: the outside option in
    column 0 (so that a tie goes to it), then the slate (ties to the earlier slot). Where
    agents may open more, the attention budget is drawn only for rows where two or more items
    beat the outside option, and the best items are picked out only where more of them beat
    it than the budget allows. ``first_visitor`` numbers the rows among the day's visitors
    (when they come in blocks).
    """
    if slate.stride(0) == 0 and len(slate):  # one list shown to every row: its options once, expanded (a view)
        options = torch.cat([slate.new_full((1,), tastes.items), slate[0]]).expand(len(slate), -1)
    else:
        options = torch.cat([torch.full_like(slate[:, :1], tastes.items), slate], dim=1)  # [V, 1 + K]
    util = tastes.utility(rows, options)
    total = choice_noise(draws, day, rows, options, util)  # the noise of a pad (-1) is masked below
    padded = options[:1] if options.stride(0) == 0 else options
    if bool((padded < 0).any()):
        total.masked_fill_(options < 0, float("-inf"))
    best = total.max(dim=1).indices  # 0: nothing beats the outside option
    received = util.gather(1, best[:, None])[:, 0]  # u₀ when nothing was opened
    if attention is None:  # one item at most: the first pick
        v_idx = torch.nonzero(best).flatten()
        slot = take(best, v_idx) - 1
    else:
        opened = total[:, 1:] > total[:, :1]
        count = opened.sum(dim=1)
        several = torch.nonzero(count > 1).flatten()
        if several.numel():
            r = take(rows, several)
            budget = 1 + rng.poisson_capped(draws.uniform("attention", day, r),
                                            take(attention, take(tastes.segment, r)))
            over = take(count, several) > budget
            _keep_best(opened, total[:, 1:], several[over], take(best, several[over]) - 1, budget[over])
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
