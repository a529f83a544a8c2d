"""The demo's simulation step: the baseline scenario against a price change, compared pairwise."""

from __future__ import annotations

from engine.simulate.kpis import HEADLINE
from kpconsole.demo_step import DemoResult, DemoState
from kpconsole.reads import simulations as sim_reads
from kpconsole.services import simulate
from kpconsole.session import Session

#: Smaller than the scenario files' own settings so that the demo stays quick; both runs
#: share them (and the seed), which is what makes the comparison paired.
DEMO_DAYS, DEMO_REPLICATES = 60, 8
BASELINE, VARIANT = "baseline.toml", "price_change.toml"


def simulation_step(session: Session, demo: DemoState) -> DemoResult:
    """Calibrate the platform, run two scenarios and print their paired differences."""
    folder = demo.sample_data / "scenarios"
    options = {"days": DEMO_DAYS, "replicates": DEMO_REPLICATES}
    base = simulate.run_file(session, folder / BASELINE, **options)
    variant = simulate.run_file(session, folder / VARIANT, **options)
    result = sim_reads.compare(session, variant.id, base.id)
    demo.made["simulations"] = [base.id, variant.id]
    lines = [(f"run {variant.id} '{variant.name}' − run {base.id} '{base.name}': {DEMO_DAYS} days × "
             f"{DEMO_REPLICATES} replicates, {'paired (common random numbers)' if result.paired else 'unpaired'}"),
             f"(see: kpconsole sim show {variant.id}; scenario files in sample_data/scenarios/)", "",
             f"{'kpi':<16}{'variant':>12}{'baseline':>12}{'difference':>12}  95 % interval"]
    for row in result.rows:
        if row["metric"] in HEADLINE:
            lines.append(f"{row['metric']:<16}{row['a']:>12.4g}{row['b']:>12.4g}{row['difference']:>+12.4g}  "
                         f"[{row['low']:.4g}, {row['high']:.4g}]")
    return DemoResult("Simulation", {"runs": [base.id, variant.id], "comparison": result.as_dict()}, lines)
