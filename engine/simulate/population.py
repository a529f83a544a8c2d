"""Agents: each replicate's population, drawn from a calibrated :class:`~engine.simulate.world.World`.

Every replicate holds the same ``N = U + A`` agent slots:

* **existing users** (U, one per real user): alive at day 0 with the BG/BB probability
  ``P(alive | x, t_x, n)``; if alive, their visit probability and churn hazard are drawn from the
  posteriors ``Beta(α+x, β+n-x)`` and ``Beta(γ, δ+n)`` of their segment — so a user who was
  active yesterday is likely alive and keeps their own rate, a long-silent one is likely gone;
  they keep their history (last visit, payments, membership, contributions);
* **arrivals** (A = round(arrivals/day × Σ_d w_d), ``w`` the world's ``arrival_weights``, 1
  every day when it has none): real users who joined inside the calibration window, drawn at
  random, joining on day ``d`` of the horizon with probability ``w_d / Σ w`` (a uniform day
  without weights), with rates from the segment's priors.

Draws use NumPy's generator seeded by ``seed`` alone, so every scenario of the same seed,
days and replicates simulates the same people (common random numbers). The tensors are
flat over ``replicate × agent`` (row ``r·N + i``). One generator draws every replicate's
values in one stream, so a ``window`` of the replicates (a process's share of a run) is cut
from the whole run's draw: its agents are then those a single process has for these
replicates (it costs drawing the run's ``R × N`` values once, at set-up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.errors import EngineError
from engine.simulate.bgbb import p_alive
from engine.simulate.world import World

NEVER = -1_000_000  # a day index before any simulated day


@dataclass
class Agents:
    """Per-agent tensors (length R·N) on the simulation's device."""

    replicates: int
    per_replicate: int
    segment: torch.Tensor  # int64
    source: torch.Tensor  # int64: row of World.users (taste, model scores)
    visit_p: torch.Tensor  # float32
    hazard: torch.Tensor  # float32
    clock: torch.Tensor  # float32: Exp(1) churn threshold on the cumulative hazard
    join_day: torch.Tensor  # int64
    alive: torch.Tensor  # bool
    last_visit: torch.Tensor  # int64 day
    last_payment: torch.Tensor  # int64 day (NEVER when never paid)
    member: torch.Tensor  # bool: holds a paid tier at day 0 (tier 0)
    renew_day: torch.Tensor  # int64
    contributions: torch.Tensor  # int64
    visits: torch.Tensor  # int64


def _beta(rng: np.random.Generator, mean: np.ndarray, conc: np.ndarray, extra_a=0.0, extra_b=0.0) -> np.ndarray:
    """Beta(mean·conc + extra_a, (1-mean)·conc + extra_b); a fixed ``mean`` where conc is inf."""
    fixed = ~np.isfinite(conc)
    c = np.where(fixed, 1.0, conc)
    a = np.where(fixed, 1.0, np.maximum(mean * c + extra_a, 1e-9))
    b = np.where(fixed, 1.0, np.maximum((1 - mean) * c + extra_b, 1e-9))
    return np.where(fixed, mean, rng.beta(a, b))


def arrival_weights(world: World, days: int) -> np.ndarray | None:
    """The world's arrival weights for the first ``days`` days (None without weights: a
    uniform day, drawn as before weights existed, so old worlds simulate the same agents)."""
    w = np.asarray(world.arrival_weights, dtype=np.float64)
    if len(w) == 0:
        return None
    if len(w) < days or w.min() < 0 or not np.isfinite(w).all():
        raise EngineError(f"arrival weights must be one non-negative number per simulated day ({days}), got {len(w)}")
    return w[:days]


def sample_agents(world: World, replicates: int, days: int, seed: int, device: torch.device,
                  window: range | None = None) -> Agents:
    """Draw every replicate's agents and keep those of ``window`` (default: all; see the module docstring)."""
    rng = np.random.default_rng([seed, 0x5EED])
    seg, users = world.segments, world.users
    U = users.count
    pool = np.flatnonzero(users.recent) if users.recent.any() else np.arange(U)
    weights = arrival_weights(world, days)
    A = round(world.arrivals_per_day * (days if weights is None else float(weights.sum()))) if len(pool) else 0
    R, N = replicates, U + A

    # existing users: alive with the BG/BB probability, rates from the posterior
    s = users.segment
    vm, vc, cm, cc = seg.visit_mean[s], seg.visit_concentration[s], seg.churn_mean[s], seg.churn_concentration[s]
    alive_p = p_alive(vm, vc, cm, cc, users.x, users.t_x, users.n)
    x, n = users.x.astype(np.float64), users.n.astype(np.float64)
    shape = (R, U)
    alive_e = rng.random(shape) < alive_p
    visit_e = _beta(rng, np.broadcast_to(vm, shape), np.broadcast_to(vc, shape), x, n - x)
    hazard_e = _beta(rng, np.broadcast_to(cm, shape), np.broadcast_to(cc, shape), 0.0, n)
    # arrivals: recent joiners drawn at random, rates from the priors
    src_a = pool[rng.integers(0, len(pool), size=(R, A))] if A else np.zeros((R, 0), dtype=np.int64)
    sa = users.segment[src_a]
    visit_a = _beta(rng, seg.visit_mean[sa], seg.visit_concentration[sa])
    hazard_a = _beta(rng, seg.churn_mean[sa], seg.churn_concentration[sa])
    join_a = (np.zeros((R, 0), dtype=np.int64) if not A else rng.integers(0, days, size=(R, A)) if weights is None
              else rng.choice(days, size=(R, A), p=weights / weights.sum()))
    clock = rng.exponential(1.0, size=(R, N))

    window = range(R) if window is None else window
    kept = slice(window.start, window.stop)

    def cat(existing: np.ndarray, arrivals: np.ndarray | float, dtype) -> torch.Tensor:
        left = np.broadcast_to(existing, (R, U))[kept]
        right = np.broadcast_to(arrivals, (R, A))[kept]
        return torch.as_tensor(np.concatenate([left, right], axis=1).reshape(-1), dtype=dtype, device=device)

    last_visit = np.where(users.days_since_visit < 10 ** 6, -users.days_since_visit, NEVER)
    last_pay = np.where(users.days_since_payment >= 0, -users.days_since_payment, NEVER)
    return Agents(
        replicates=len(window), per_replicate=N,
        segment=cat(s, sa, torch.int64),
        source=cat(np.arange(U), src_a, torch.int64),
        visit_p=cat(visit_e, visit_a, torch.float32),
        hazard=cat(hazard_e, hazard_a, torch.float32),
        clock=torch.as_tensor(clock[kept].reshape(-1), dtype=torch.float32, device=device),
        join_day=cat(np.full(U, -1), join_a, torch.int64),
        alive=cat(alive_e, True, torch.bool),
        last_visit=cat(last_visit, NEVER, torch.int64),
        last_payment=cat(last_pay, NEVER, torch.int64),
        member=cat(users.member & alive_e, False, torch.bool),
        renew_day=cat(np.maximum(users.days_to_renewal, 0), 0, torch.int64),
        contributions=cat(users.contributions, 0, torch.int64),
        visits=cat(users.x, 0, torch.int64),
    )
