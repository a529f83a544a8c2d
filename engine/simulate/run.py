"""The day loop: every replicate's agents stepped together, one day per step.

One day, for all agents of all replicates at once (order matters and is fixed):

1. **churn** — an agent who joined before today leaves when its cumulative hazard
   ``Σ θ·exp(-γ_c·σ)`` passes its Exp(1) clock (the same as a daily Bernoulli draw); a leaving
   member's MRR churns;
2. **billing** — refunds fall due; trials end (convert or lapse); members due renew, switch tier
   or cancel;
3. **visit** — with probability ``min(max_visit, p·exp(γ_v·σ)·m_badge)``, times the day's
   ``visit_multipliers`` entry when the run has them (a backtest's weekday profile);
4. **recommend and choose** — the policy's first K candidates the agent does not own, the
   logit choice of :mod:`engine.simulate.choice`; the policy sees the clicks;
5. **buy** — an opened paid item not included in the agent's tier is bought with probability
   ``σ(b_s - α_s·ln(price / reference))`` (declined, it may be shown and weighed again another
   day, as in the data); some purchases are refunded 1–7 days later;
6. **subscribe** — visiting non-members choose a tier or none (:mod:`engine.simulate.membership`);
7. **contribute** — with probability ``c_s·m_badge``;
8. **satisfaction** — ``σ ← (1-ρ)σ + ρ(ū - u_ref)`` for visitors, where ``u_ref`` is the
   expected utility of the agent's own first pick from the whole catalog;
9. **ads and sponsorship**, then the day's KPIs (:data:`engine.simulate.kpis.METRICS`).

**A growing catalog** (:mod:`engine.simulate.arrivals`): the items that arrive during the run
are extra catalog columns, each shown from its arrival day in its replicate — at the start of
the day, before anyone visits — and hidden before (dropped from the policy's candidates,
``-inf`` utility for the ``organic`` policy); new questions are asked and answered by the
day's contributors (:mod:`engine.simulate.questions`). A world whose catalog does not grow
runs exactly as before.

**A window of the replicates** (``window``: replicates ``r₀ … r₁-1`` of the run's
``settings.replicates``) is what one process simulates when replicates are sharded over
processes (:mod:`engine.simulate.distributed`): its agents and new items are cut from the
whole run's draws and its random numbers are hashed at global rows (:class:`rng.Draws`), so
each of its replicates makes the draws it makes in a single process; everything else kept
per replicate is local already. :meth:`SimResult.joined` puts the windows' results back
together.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np
import torch

from engine.device import resolve_device
from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.simulate import rng, seen
from engine.simulate.arrivals import Availability, NewItems, draw_new_items
from engine.simulate.choice import (
    Clicks,
    Tastes,
    attention_cdf,
    choose,
    first_not_owned,
)
from engine.simulate.gather import take
from engine.simulate.incentives import BadgeLadder, IncentiveProfile
from engine.simulate.intervals import at_least_zero, mean_interval
from engine.simulate.levers import Levers, Settings
from engine.simulate.membership import Memberships
from engine.simulate.kpis import METRICS, over_run
from engine.simulate.metrics import gini, safe_ratio
from engine.simulate.money import Ledger, per_replicate_sum
from engine.simulate.policies import PolicySpec, make_policy
from engine.simulate.population import NEVER, sample_agents
from engine.simulate.questions import KPIS as QUESTION_KPIS
from engine.simulate.questions import Questions
from engine.simulate.recency import Recency
from engine.simulate.world import World
from engine.threads import threads_for

REFUND_DAYS = 7
BLOCK = 1 << 15  # visitors whose slates and choices are worked out together on the CPU


@dataclass(frozen=True)
class SimResult:
    """Daily KPIs of every replicate, plus per-item totals and incentive profiles.

    Items are the day-0 catalog's, then the slots of the items that arrived (``new_items``).
    """

    metrics: tuple[str, ...]
    values: np.ndarray  # [days, metrics, replicates] float64
    item_purchases: np.ndarray  # [replicates, items] int64
    item_views: np.ndarray  # [replicates, items] int64
    incentives: tuple[IncentiveProfile, ...]
    agents: int  # agent slots per replicate
    device: str
    new_items: NewItems

    def series(self, name: str) -> np.ndarray:
        """[days, replicates] of one metric."""
        return self.values[:, self.metrics.index(name), :]

    def totals(self, name: str) -> np.ndarray:
        """Per replicate: the run's sum, mean or last value, as the metric aggregates."""
        return over_run(name, self.series(name))

    def summary(self, level: float = 0.95) -> dict[str, dict[str, float]]:
        """{metric: {mean, low, high}} of the run totals over replicates."""
        out = {}
        for name in self.metrics:
            totals = self.totals(name)
            m, lo, hi = mean_interval(totals, level)
            out[name] = {"mean": float(m), "low": float(at_least_zero(lo, totals)), "high": float(hi)}
        return out

    def daily(self, name: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, low, high) per day (a low never below 0 where the metric never is)."""
        values = self.series(name)
        mean, low, high = mean_interval(values, level, axis=1)
        return mean, at_least_zero(low, values), high

    @staticmethod
    def joined(parts: list[SimResult]) -> SimResult:
        """The results of consecutive windows of one run's replicates as the whole run's: the
        per-replicate arrays put side by side in replicate order, the incentive profiles (counts
        over every replicate's agents) added up."""
        first = parts[0]
        programs = zip(*(p.incentives for p in parts), strict=True)  # each program's profile in every part
        incentives = tuple(dataclasses.replace(same[0], opportunities=np.sum([p.opportunities for p in same], axis=0),
                                               actions=np.sum([p.actions for p in same], axis=0))
                           for same in programs)
        return SimResult(
            metrics=first.metrics, values=np.concatenate([p.values for p in parts], axis=2),
            item_purchases=np.concatenate([p.item_purchases for p in parts]),
            item_views=np.concatenate([p.item_views for p in parts]),
            incentives=incentives, agents=first.agents, device=first.device,
            new_items=NewItems(template=first.new_items.template,
                               arrival=np.concatenate([p.new_items.arrival for p in parts])))


class Simulation:
    """State of all agents of all replicates; :meth:`step` advances one day.

    Work over every agent is kept to a handful of passes a day (a visit draw, the hazard clock,
    two ``nonzero``); everything else touches only the day's visitors, leavers, joiners,
    members and payers. Per-agent rates that depend on satisfaction or counts (``visit_rate``,
    ``daily_hazard``) are refreshed for the agents whose state changed; counts such as WAU,
    MAU, agents alive and recent payers are kept as running tallies. Slates and choices are
    worked out for blocks of visitors (:data:`BLOCK` on the CPU, all at once on CUDA), and a
    stream that cannot fire in a run (no item sells, nobody contributes, no members, no ads)
    is not drawn: draws are counter-based, so skipping one changes no other.
    """

    def __init__(self, world: World, policy: PolicySpec, levers: Levers, settings: Settings,
                 prices: np.ndarray | None = None, visit_multipliers: np.ndarray | None = None,
                 window: range | None = None) -> None:
        if settings.days <= 0 or settings.replicates <= 0 or settings.slate_size <= 0:
            raise EngineError("days, replicates and slate size must be positive")
        window = range(settings.replicates) if window is None else window
        if window.step != 1 or not 0 <= window.start < window.stop <= settings.replicates:
            raise EngineError(f"{window} is not a non-empty window of the run's {settings.replicates} replicates")
        dev = resolve_device(settings.device, float64=True)
        self.dev, self.levers, self.settings, self.world = dev, levers, settings, world
        self.seed, self.R = settings.seed, len(window)
        self.visit_by_day = _visit_multipliers(visit_multipliers, settings, window)
        seg, cat = world.segments, world.catalog
        if cat.size == 0:
            raise EngineError("the world's catalog is empty: nothing to recommend")
        new = draw_new_items(world.item_arrivals, cat, settings.replicates, settings.days, self.seed)
        self.new_items = new = new.of_replicates(window)
        self.M = cat.size + new.slots
        self.K = min(settings.slate_size, self.M)
        self.block = BLOCK if dev.type == "cpu" else sys.maxsize
        self.attention = attention_cdf(torch.as_tensor(np.asarray(seg.attention, dtype=np.float32), device=dev), self.K)
        self.agents = a = sample_agents(world, settings.replicates, settings.days, self.seed, dev, window)
        self.N = a.per_replicate
        self.draws = rng.Draws(self.seed, first_row=window.start * self.N)  # local row 0 is global row r₀·N
        f32 = lambda v: torch.as_tensor(np.asarray(v, dtype=np.float32), device=dev)
        tastes = lambda vectors, quality: Tastes.of(f32(world.users.taste), f32(vectors), f32(quality),
                                                    levers.behaviour.outside_utility, f32(seg.choice_sensitivity),
                                                    a.segment, a.source)
        vectors = new.extend(cat.vectors)
        self.tastes = tastes(vectors, new.extend(cat.quality))
        self.buy_b, self.alpha = f32(np.nan_to_num(seg.buy_intercept, neginf=-60.0)), f32(seg.price_sensitivity)
        self.refund_p = f32(np.clip(seg.refund * levers.money.refund_scale, 0, 1))
        self.contribute_p = f32(seg.contribute)
        price = new.extend(np.asarray(cat.price if prices is None else prices, dtype=np.float64))
        self.price = torch.as_tensor(price, device=dev)
        self.log_rel_price = f32(np.log(np.maximum(price, 1e-9) / world.reference_price))
        kinds = sorted(set(cat.kind.tolist()))
        item_kinds = new.extend(cat.kind)
        self.item_kind = torch.as_tensor([kinds.index(k) for k in item_kinds.tolist()], device=dev)
        self.creator = torch.as_tensor(new.extend(cat.creator), device=dev)
        self.available = Availability(new, cat.size, dev)
        self.questions = Questions(new, item_kinds, cat.size, self.draws, dev, world.answering)
        self.creators = max(cat.creators, 1)
        # streams that cannot fire (every draw is ≥ 2⁻²⁵, so a probability below that never does)
        # are skipped; counter-based draws leave every other draw as it was
        priced = self.price > 0
        p_buy = torch.sigmoid(self.buy_b[:, None] - self.alpha[:, None] * self.log_rel_price[priced][None, :])
        self.sells = bool(priced.any()) and float(p_buy.max()) > 2.0 ** -26
        self.contributes = bool((self.contribute_p > 0).any())
        self.owned = seen.empty(self.R * self.N if self.sells else 0, self.M, dev)
        self.owns_any = torch.zeros(self.R * self.N, dtype=torch.bool, device=dev)
        self.members = Memberships(levers.membership, seg, plan_price=world.plan_price, kinds=kinds,
                                   member0=a.member & a.alive, renew0=a.renew_day, replicates=self.R, draws=self.draws)
        self.ledger = Ledger(self.R, levers.money, dev)
        self.policy = make_policy(policy, items=self.M, users=world.users.count,
                                  popularity=np.concatenate([cat.popularity, np.zeros(new.slots)]), replicates=self.R,
                                  width=2 * self.K, draws=self.draws, source=a.source, utility=self._utility_today,
                                  item_vectors=vectors)
        self.ladders = [BadgeLadder(i, dev) for i in levers.incentives]
        # per agent: the expected utility of its own first pick from the whole day-0 catalog
        day0 = self.tastes if new.slots == 0 else tastes(cat.vectors, cat.quality)
        self.u_ref = take(day0.reference_utility(torch.as_tensor(world.users.segment, device=dev)), a.source)
        rows = self.R * self.N
        self.sat = torch.zeros(rows, dtype=torch.float32, device=dev)
        self.all_rows = torch.arange(rows, dtype=torch.int32, device=dev)
        # the hazard clock: an agent leaves when its cumulative hazard passes its Exp(1) clock;
        # agents not yet joined accrue nothing, agents gone have an infinite clock
        self.active = a.alive & (a.join_day < 0)
        self.clock = torch.where(a.alive, a.clock, torch.full_like(a.clock, float("inf")))
        self.cum_hazard = torch.zeros(rows, dtype=torch.float32, device=dev)
        self.daily_hazard = torch.zeros(rows, dtype=torch.float32, device=dev)
        self.visit_rate = torch.zeros(rows, dtype=torch.float32, device=dev)
        self._refresh(torch.nonzero(self.active).flatten())
        order = torch.argsort(a.join_day, stable=True)
        bounds = torch.searchsorted(a.join_day[order], torch.arange(settings.days + 1, device=dev))
        self.joiners = (order, bounds.tolist())
        self.alive_count = torch.bincount(torch.nonzero(self.active).flatten() // self.N, minlength=self.R)
        self.sat_sum = torch.zeros(self.R, dtype=torch.float64, device=dev)
        self.visited = Recency(a.last_visit, self.R, settings.days)
        self.paid = Recency(a.last_payment, self.R, settings.days)
        self.refunds_due = torch.zeros(REFUND_DAYS + 1, self.R, dtype=torch.float64, device=dev)
        self.item_purchases = torch.zeros(self.R * self.M, dtype=torch.int64, device=dev)
        self.item_views = torch.zeros(self.R * self.M, dtype=torch.int64, device=dev)
        self.pairs, self.tracked = self._similar_pairs(settings.tracked_pairs)
        self.opened = seen.empty(int(self.tracked.max().item()) + 1 if self.pairs[0].numel() else 0, self.M, dev)
    # --- set-up -----------------------------------------------------------------------------

    def _similar_pairs(self, count: int) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``count`` agents per replicate, each with the agent of most similar taste among up to
        4,096 others (Chaney et al.'s pairing): the pairs as indices into the tracked agents,
        and each row's tracked index (-1 for agents not tracked)."""
        n = self.N
        tracked = torch.full((self.R * n,), -1, dtype=torch.int64, device=self.dev)
        if count <= 0 or n < 2:
            empty = torch.zeros(0, dtype=torch.int64, device=self.dev)
            return (empty, empty), tracked
        gen = np.random.default_rng([self.seed, 0xA1B])
        anchors = torch.as_tensor(gen.choice(n, size=min(count, n), replace=False), device=self.dev)
        pool = torch.as_tensor(gen.choice(n, size=min(4096, n), replace=False), device=self.dev)
        base = torch.arange(self.R, device=self.dev)[:, None] * n
        unit = torch.nn.functional.normalize(self.tastes.taste, dim=1)
        ta = unit[self.agents.source[base + anchors]]  # [R, P, D]
        tp = unit[self.agents.source[base + pool]]  # [R, Q, D]
        sim = torch.einsum("rpd,rqd->rpq", ta, tp).masked_fill(anchors[:, None] == pool[None, :], -2.0)
        partner = pool[sim.argmax(dim=2)]
        left, right = (base + anchors).reshape(-1), (base + partner).reshape(-1)
        rows = torch.unique(torch.cat([left, right]))
        tracked[rows] = torch.arange(len(rows), device=self.dev)
        return (tracked[left], tracked[right]), tracked

    def _utility_today(self, rows: torch.Tensor) -> torch.Tensor:
        """The ``organic`` policy's utilities [V, M] of ``rows``: items not arrived yet at -inf."""
        return self.available.hide_in(self.tastes.utility(rows), rows // self.N)

    # --- one day ----------------------------------------------------------------------------

    def _refresh(self, rows: torch.Tensor) -> None:
        """Recompute the visit probability and daily hazard of ``rows`` (distinct) from their state."""
        a, b = self.agents, self.levers.behaviour
        sat = take(self.sat, rows)
        p = take(a.visit_p, rows) * torch.exp(b.satisfaction_visit * sat)
        for ladder in self.ladders:
            if ladder.incentive.action == "visit":
                p = p * ladder.multiplier(take(a.visits, rows))
        self.visit_rate.index_copy_(0, rows, p.clamp(max=b.max_visit))
        theta = (take(a.hazard, rows) * torch.exp(-b.satisfaction_churn * sat)).clamp(max=1 - 1e-7)
        self.daily_hazard.index_copy_(0, rows, -torch.log1p(-theta))

    def _leave(self, day: int) -> torch.Tensor:
        """Churn: cumulative hazards past their clocks. Returns the leaving rows (sorted)."""
        self.cum_hazard += self.daily_hazard
        gone = torch.nonzero(self.cum_hazard > self.clock).flatten()
        self.agents.alive.index_fill_(0, gone, False)
        self.active.index_fill_(0, gone, False)
        self.clock.index_fill_(0, gone, float("inf"))
        self.daily_hazard.index_fill_(0, gone, 0.0)
        self.visit_rate.index_fill_(0, gone, 0.0)
        rep = gone // self.N
        self.alive_count -= torch.bincount(rep, minlength=self.R)
        self.sat_sum -= per_replicate_sum(rep, take(self.sat, gone), self.R)
        self.members.leave(gone)
        return gone

    def _join(self, day: int) -> None:
        order, bounds = self.joiners
        if bounds[day] == bounds[day + 1]:
            return
        rows = torch.sort(order[bounds[day]:bounds[day + 1]]).values
        rows = rows[take(self.agents.alive, rows)]
        self.active.index_fill_(0, rows, True)
        self._refresh(rows)
        self.alive_count += torch.bincount(rows // self.N, minlength=self.R)

    def step(self, day: int) -> dict[str, torch.Tensor]:
        a, b, R, N, money = self.agents, self.levers.behaviour, self.R, self.N, self.levers.money
        # 1. churn (agents who joined before today), then today's arrivals join; today's new items arrive
        leaving = self._leave(day)
        self._join(day)
        new_items = self.available.open(day) if self.available.growing else torch.zeros_like(self.alive_count)
        # 2. billing: refunds due, trials ending, renewals
        if self.sells:
            due = self.refunds_due[day % (REFUND_DAYS + 1)]
            self.ledger.refunds(due.clone(), money.creator_share)
            due.zero_()
        trials = self.members.end_trials(day)
        renewals = self.members.renew(a.segment, day)
        self.ledger.payments("revenue_subscriptions", trials[0] // N, trials[1], money.membership_creator_share)
        self.ledger.payments("revenue_renewals", renewals[0] // N, renewals[1], money.membership_creator_share)
        # 3. visit
        if any(ladder.incentive.action == "visit" for ladder in self.ladders):
            active = torch.nonzero(self.active).flatten()
        rate = self.visit_rate
        if self.visit_by_day is not None and (self.visit_by_day[day] != 1.0).any():
            scale = self.visit_by_day[day]
            rate = (rate * (scale if scale.numel() == 1 else scale.to(self.dev).repeat_interleave(N))).clamp(max=b.max_visit)
        rows = torch.nonzero(self.draws.uniform("visit", day, self.all_rows) < rate).flatten()
        rep = rows // N
        for ladder in self.ladders:
            if ladder.incentive.action == "visit":
                visited = torch.zeros(R * N, dtype=torch.bool, device=self.dev)
                visited[rows] = True
                ladder.record(a.visits[active], visited[active])
        self.visited.move(rep, take(a.last_visit, rows), day)
        a.last_visit.index_fill_(0, rows, day)
        a.visits.index_copy_(0, rows, take(a.visits, rows) + 1)
        # 4. recommend and choose
        clicks, impressions = self._recommend_and_choose(day, rows, rep)
        click_rep = take(rep, clicks.visitor)
        t = take(self.tracked, clicks.row)
        mine = t >= 0
        seen.add(self.opened, t[mine], clicks.item[mine])
        self.policy.observe(day, clicks.row, click_rep, clicks.item)
        self.item_views.index_add_(0, click_rep * self.M + clicks.item, torch.ones_like(clicks.item))
        # 5. buy
        bought = self._buy(day, clicks, click_rep) if self.sells else (rows[:0], torch.zeros(0, dtype=torch.float64,
                                                                                               device=self.dev))
        # 6. subscribe
        joined = self.members.subscribe(rows, a.segment, day)
        self.ledger.payments("revenue_subscriptions", joined[0] // N, joined[1], money.membership_creator_share)
        # 7. contribute: new questions are asked, questions answered
        contributed = self._contribute(day, rows)
        community = (self.questions.day(day, rows, rep, contributed, clicks, click_rep) if self.questions.count
                     else {name: torch.zeros(R, dtype=torch.float64, device=self.dev) for name in QUESTION_KPIS})
        # 8. satisfaction, and the rates it moves
        rho = b.satisfaction_rate
        sat = take(self.sat, rows)
        new_sat = (1 - rho) * sat + rho * (clicks.received - take(self.u_ref, rows))
        self.sat_sum += per_replicate_sum(rep, new_sat - sat, R)
        self.sat.index_copy_(0, rows, new_sat)
        self._refresh(rows)
        # 9. ads, sponsorship; who paid
        if money.ads_impressions_per_visit > 0:
            shown_ads = rep[~self.members.ad_free_of(rows)] if self.members.any_ad_free else rep
            self.ledger.ads(torch.bincount(shown_ads, minlength=R) * money.ads_impressions_per_visit)
        self.ledger.sponsorship(day)
        payers = torch.unique(torch.cat([bought[0], trials[0], renewals[0], joined[0]]))
        first_time = payers[a.last_payment[payers] == NEVER]
        self.paid.move(payers // N, a.last_payment[payers], day)
        a.last_payment[payers] = day
        counts = {"purchases": torch.bincount(bought[0] // N, minlength=R),
                  "subscriptions": torch.bincount(torch.cat([trials[0], joined[0]]) // N, minlength=R),
                  "contributions": torch.bincount(rep[contributed], minlength=R),
                  "payers": torch.bincount(payers // N, minlength=R),
                  "new_payers": torch.bincount(first_time // N, minlength=R),
                  "churned": torch.bincount(leaving // N, minlength=R),
                  "dau": torch.bincount(rep, minlength=R),
                  "views": torch.bincount(click_rep, minlength=R),
                  "new_items": new_items, **community}
        return self._kpis(day, impressions, counts)

    def _recommend_and_choose(self, day: int, rows: torch.Tensor, rep: torch.Tensor) -> tuple[Clicks, torch.Tensor]:
        """The visitors' slates and what they open, in blocks of visitors so that each block's
        ``[B, K]`` temporaries stay small (on the CPU: in cache, and under the allocator's
        threshold for fresh pages); returns the clicks and the impressions per (replicate, item)."""
        R, M = self.R, self.M
        bins = torch.zeros(R * (M + 1), dtype=torch.int64, device=self.dev)  # bin r·(M+1): empty slots
        parts = []
        for lo in range(0, max(len(rows), 1), self.block):
            r, rp = rows[lo:lo + self.block], rep[lo:lo + self.block]
            listed = self.available.keep_available(self.policy.candidates(day, r, rp), rp)
            slate = first_not_owned(listed, r, self.owned, self.owns_any, self.K)
            parts.append(choose(day, r, slate, self.tastes, self.attention, self.draws, first_visitor=lo))
            bins += torch.bincount((slate + (rp * (M + 1) + 1)[:, None]).view(-1), minlength=R * (M + 1))
        return Clicks.concat(parts), bins.view(R, M + 1)[:, 1:]

    def _contribute(self, day: int, rows: torch.Tensor) -> torch.Tensor:
        """Which visitors contribute today (badge ladders pull the rate); counts and profiles move."""
        a = self.agents
        ladders = [ladder for ladder in self.ladders if ladder.incentive.action == "contribute"]
        count = take(a.contributions, rows) if ladders else a.contributions[:0]  # read only by ladders
        if self.contributes:
            pc = take(self.contribute_p, take(a.segment, rows))
            for ladder in ladders:
                pc = pc * ladder.multiplier(count)
            contributed = self.draws.uniform("contribute", day, rows) < pc.clamp(max=1.0)
        else:
            contributed = torch.zeros(len(rows), dtype=torch.bool, device=self.dev)
        for ladder in ladders:
            ladder.record(count, contributed)
        done = rows[contributed]
        a.contributions.index_copy_(0, done, take(a.contributions, done) + 1)
        return contributed

    def _buy(self, day: int, clicks: Clicks, click_rep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Purchases among the opened items; books sales and schedules refunds."""
        a, money = self.agents, self.levers.money
        price = take(self.price, clicks.item)
        need = (price > 0) & ~self.members.includes_item(clicks.row, take(self.item_kind, clicks.item))
        seg = take(a.segment, clicks.row)
        p_buy = torch.sigmoid(take(self.buy_b, seg) - take(self.alpha, seg) * take(self.log_rel_price, clicks.item))
        bought = need & (self.draws.uniform("buy", day, clicks.row, clicks.item) < p_buy)
        rows, items, amounts, rep = clicks.row[bought], clicks.item[bought], price[bought], click_rep[bought]
        seen.add(self.owned, rows, items)
        self.owns_any.index_fill_(0, rows, True)
        self.ledger.payments("revenue_purchases", rep, amounts, money.creator_share)
        self.item_purchases.index_add_(0, rep * self.M + items, torch.ones_like(items))
        refund = self.draws.uniform("refund", day, rows, items) < self.refund_p[a.segment[rows]]
        delay = 1 + (self.draws.uniform("refund_delay", day, rows, items) * REFUND_DAYS).to(torch.int64)
        delay = delay.clamp(max=REFUND_DAYS)
        for d in range(1, REFUND_DAYS + 1):
            pick = refund & (delay == d)
            self.refunds_due[(day + d) % (REFUND_DAYS + 1)] += per_replicate_sum(rep[pick], amounts[pick], self.R)
        return rows, amounts

    def _kpis(self, day: int, per_item: torch.Tensor, counts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        R = self.R
        out: dict[str, torch.Tensor] = dict(counts)
        out["wau"] = self.visited.count(day, 7)
        out["mau"] = self.visited.count(day, 30)
        out["alive"] = self.alive_count.clone()
        out["paying_ratio"] = safe_ratio(self.paid.count(day, 30), out["mau"])
        money = self.ledger.close()
        out.update(money)
        out.update(self.members.close())
        sales = money["revenue_purchases"] + money["revenue_subscriptions"] + money["revenue_renewals"]
        out["arpu"] = safe_ratio(money["gross"], out["dau"])
        out["arppu"] = safe_ratio(sales, out["payers"])
        exposure = torch.zeros(R, self.creators, dtype=torch.int64, device=self.dev)
        exposure.index_add_(1, self.creator.clamp(min=0), per_item * (self.creator >= 0))
        out["exposure_gini"] = gini(exposure)
        out["coverage"] = (per_item > 0).sum(dim=1).to(torch.float64) / self.available.count().to(torch.float64)
        out["homogenisation"] = self._homogenisation()
        out["satisfaction"] = safe_ratio(self.sat_sum, self.alive_count)
        return out

    def _homogenisation(self) -> torch.Tensor:
        left, right = self.pairs
        if left.numel() == 0:
            return torch.zeros(self.R, dtype=torch.float64, device=self.dev)
        j = seen.jaccard(self.opened, left, right).view(self.R, -1)
        valid = ~torch.isnan(j)
        return safe_ratio(torch.where(valid, j, 0.0).sum(dim=1), valid.sum(dim=1))


def _visit_multipliers(values: np.ndarray | None, settings: Settings, window: range) -> list[torch.Tensor] | None:
    """Each day's multiplier of the visit probabilities: one for every replicate ([days]
    given) or one per replicate of the run ([days, replicates] given, this window's kept)."""
    if values is None:
        return None
    m = np.asarray(values, dtype=np.float64)
    if m.ndim == 2 and m.shape[1] != settings.replicates:
        raise EngineError(f"visit multipliers must have one column per replicate ({settings.replicates}), "
                          f"got {m.shape[1]}")
    if m.ndim not in (1, 2) or len(m) < settings.days or not np.isfinite(m).all() or m.min() < 0:
        raise EngineError("visit multipliers must be one non-negative number per simulated day "
                          "(or per day and replicate)")
    m = m[:settings.days] if m.ndim == 1 else m[:settings.days, window.start:window.stop]
    return [torch.as_tensor(row, dtype=torch.float32) for row in m]


def simulate(world: World, policy: PolicySpec, levers: Levers, settings: Settings, *,
             prices: np.ndarray | None = None, visit_multipliers: np.ndarray | None = None,
             window: range | None = None, progress: Progress = no_progress) -> SimResult:
    """Run ``settings.days`` days of ``settings.replicates`` replicates; see the module docstring.

    ``prices`` replaces the catalog's prices (a scenario's price changes); ``visit_multipliers``
    (one per day, or [days, replicates]: one per day and replicate) scales each day's visit
    probabilities; the same ``settings.seed`` gives the
    same agents and random numbers whatever the scenario. ``window``: only these replicates
    of the run (default: all), each as it is in the whole run.
    """
    sim = Simulation(world, policy, levers, settings, prices, visit_multipliers, window)
    names = tuple(METRICS)
    days = []
    with threads_for(sim.dev, sim.R * sim.N * sim.K):
        for day in range(settings.days):
            kpis = sim.step(day)
            days.append(torch.stack([kpis[n].to(torch.float64) for n in names]))
            progress((day + 1) / settings.days, f"day {day + 1}/{settings.days}",
                     {"dau": float(kpis["dau"].to(torch.float64).mean()), "gross": float(kpis["gross"].mean())})
    values = torch.stack(days).cpu().numpy()
    return SimResult(
        metrics=names, values=values,
        item_purchases=sim.item_purchases.view(sim.R, sim.M).cpu().numpy(),
        item_views=sim.item_views.view(sim.R, sim.M).cpu().numpy(),
        incentives=tuple(ladder.profile() for ladder in sim.ladders),
        agents=sim.N, device=str(sim.dev), new_items=sim.new_items,
    )
