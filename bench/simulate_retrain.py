"""The full day with the recommender in the loop: user-steps/s of an iALS policy retrained every
7 days next to the same model frozen (issue 14, point 5: ≥ 2 M user-steps/s at 1 M agents on the CPU).

    .venv/bin/python bench/simulate_retrain.py [--agents 1000000] [--days 30] [--every 7] [--epochs 6]

The world is ``bench/simulate.py``'s full day (purchases, a membership tier, ads, fees, creator
shares, contributions; 500 items over 16 topics; one replicate). The model is iALS with 16
factors fitted on each user's 5 best items by their own Gumbel-perturbed utility (5 M pairs at
1 M users), ``--epochs`` epochs: a retrain runs ``epochs ÷ 3`` warm sweeps, as ``model update``
does. Both runs take the same seed; "run" is ``simulate()`` whole (the frozen lists, or the first
ones), fitting the model left out. Retrained, the lists are worked out two ways: **eager**, every
user's at set-up and at each retrain (what the loop did first), and **lazy** (the default), a
user's at its first visit under the current model — the same list, worked out only for users who
visit. Each line gives user-steps/s, the ratio to the target (2 M) and to the frozen run of the
same invocation. The day times show what a retrain costs: the days it retrains after (6, 13, 20,
27) less the median other day (for lazy relisting, the lists are then worked out on the days
after, which raises the median day: "beyond frozen" is the whole run less the frozen one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PER_USER, FACTORS, SEED, TARGET = 5, 16, 0, 2_000_000


def history(w, per_user: int):
    """Each user's ``per_user`` best items by their own Gumbel-perturbed utility, as a matrix."""
    import torch

    from engine.recommend.matrix import UserItemMatrix

    rng = np.random.default_rng(SEED)
    beta = w.segments.choice_sensitivity[w.users.segment].astype(np.float32)
    picks = []
    for lo in range(0, w.users.count, 65_536):
        hi = min(lo + 65_536, w.users.count)
        u = beta[lo:hi, None] * (w.users.taste[lo:hi] @ w.catalog.vectors.T) + w.catalog.quality
        u += rng.gumbel(size=u.shape).astype(np.float32)
        picks.append(np.argpartition(-u, per_user, axis=1)[:, :per_user])
    items = np.concatenate(picks).reshape(-1)
    users = np.repeat(np.arange(w.users.count), per_user)
    return UserItemMatrix.from_pairs(torch.as_tensor(users), torch.as_tensor(items), None, w.users.count,
                                     w.catalog.size)


def timed_run(w, spec, levers, settings) -> tuple[float, list[float]]:
    """Seconds of the whole run and of each day (from the progress callback)."""
    from engine.simulate.run import simulate

    marks: list[float] = []
    start = time.perf_counter()
    simulate(w, spec, levers, settings, progress=lambda *_: marks.append(time.perf_counter()))
    seconds = time.perf_counter() - start
    days = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return seconds, days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--every", type=int, default=7, help="retrain every this many days")
    parser.add_argument("--epochs", type=int, default=6, help="iALS epochs (a retrain runs a third of them)")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from simulate import world

    from engine.recommend.algorithms import make_model
    from engine.simulate.levers import Levers, Membership, Money, Settings, Tier
    from engine.simulate.policies import recommender_policy

    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the start")
    w = world(args.agents, full=True)
    levers = Levers(membership=Membership(tiers=(Tier("std", 15.0),)),
                    money=Money(ads_impressions_per_visit=2, ads_cpm=4, payment_fee_rate=0.029, creator_share=0.7))
    settings = Settings(days=args.days, replicates=1, seed=SEED, device="cpu")
    start = time.perf_counter()
    seen = history(w, PER_USER)
    model = make_model("als", {"factors": FACTORS, "epochs": args.epochs}, "cpu")
    model.fit(seen)
    print(f"iALS {FACTORS} factors, {args.epochs} epochs on {seen.nnz:,} pairs: {time.perf_counter() - start:.1f} s")
    users, items = np.arange(w.users.count), np.arange(w.catalog.size)
    popularity = seen.item_counts().numpy().astype(np.float64)
    frozen = 0.0
    runs = (("frozen", None, True), (f"retrained every {args.every} d, eager", args.every, False),
            (f"retrained every {args.every} d, lazy", args.every, True))
    for label, every, lazy in runs:
        spec = recommender_policy(model, seen, users, items, popularity, retrain_every=every)
        if spec.loop is not None:
            spec = dataclasses.replace(spec, loop=dataclasses.replace(spec.loop, lazy=lazy))
        seconds, days = timed_run(w, spec, levers, settings)
        rate = args.agents * args.days / seconds
        frozen = frozen or seconds
        line = (f"{label:>28}: {rate:>12,.0f} user-steps/s ({seconds:.1f} s), {rate / TARGET:.2f}× the target, "
                f"{frozen / seconds:.2f}× frozen's rate")
        if every is not None:
            after = [d for d in range(len(days)) if (d + 2) % every == 0]  # days[k] is day k + 1
            plain = statistics.median(t for d, t in enumerate(days) if d not in after)
            costs = [days[d] - plain for d in after]
            line += (f"; a retrain day costs {statistics.mean(costs):.1f} s more ({len(costs)} retrains, median day "
                     f"{plain:.2f} s), {seconds - frozen:.1f} s beyond frozen")
        print(line)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
