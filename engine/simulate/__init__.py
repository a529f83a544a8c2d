"""Monetisation and engagement simulation: a calibrated population, day by day, recommender in the loop.

**What is simulated.** Every replicate holds the dataset's real users (alive at day 0 with their
BG/BB probability, with posterior visit and churn rates) plus arrivals, as tensors over
*replicates × agents* on one device (:mod:`~engine.simulate.population`). One step is one day
(:mod:`~engine.simulate.run`):

1. churn — a cumulative hazard ``Σ θ·exp(−γ_c·σ)`` passing an Exp(1) clock (sBG heterogeneity
   of θ, so a cohort's retention rises with tenure);
2. billing — refunds due, trials ending, renewals, tier switches, cancellations
   (:mod:`~engine.simulate.membership`);
3. visit — probability ``min(cap, p·exp(γ_v·σ)·badge multiplier)``;
4. recommend and choose — the policy under test (organic, random, popularity, a model's scores,
   optionally MMR re-ranked; :mod:`~engine.simulate.policies`) proposes items; the agent opens
   those whose Gumbel-perturbed utility ``β_s·⟨taste, item⟩ + q_j`` beats an outside option,
   best first, up to its attention — the multinomial logit of :mod:`~engine.simulate.choice`;
5. buy — ``σ(b_s − α_s·ln(price/reference))`` per opened paid item not included in a tier;
6. subscribe — a price-aware logit over the tiers on sale;
7. contribute — ``c_s × badge multiplier`` (Anderson et al. 2013, :mod:`~engine.simulate.incentives`);
8. satisfaction — ``σ ← (1−ρ)σ + ρ(ū − u_ref)``, feeding tomorrow's visit and churn;
9. money — every payment split into fee, creator share and platform part, plus ads and
   sponsorship (:mod:`~engine.simulate.money`); then the day's KPIs
   (:data:`~engine.simulate.kpis.METRICS`).

**Where the numbers come from.** :func:`~engine.simulate.calibrate.calibrate` fits every
segment's parameters from a dataset (BG/BB for visits and churn, conditional logit for choice,
logistic regression for price sensitivity, rates for refunds, subscriptions, cancellations and
contributions) into a :class:`~engine.simulate.world.World`.

**How runs compare.** Random draws are counter-based (:mod:`~engine.simulate.rng`): the same
agent, day and item give the same number in every scenario and on every device, so replicate r
of two runs is paired and identical scenarios differ by exactly 0; means carry Student-t 95 %
intervals over replicates (:mod:`~engine.simulate.intervals`). :mod:`~engine.simulate.scenario`
reads TOML scenarios; :mod:`~engine.simulate.backtest` scores the model against what happened.

docs/simulation.md describes the model, the KPIs, the scenario schema and the measured accuracy.
"""
