"""A scenario run sharded over the processes of a torchrun launch (``sim run --distributed``).

torchrun starts the processes and sets ``RANK``, ``WORLD_SIZE`` and the rendezvous in their
environment (on several machines, one ``torchrun`` per machine); each process runs the same
command. Every process joins the group (gloo on CPUs, NCCL with one GPU per process), checks
the scenario itself and simulates its share of the replicates
(:mod:`engine.simulate.distributed`); rank 0 alone resolves the calibration (making it when
there is none) and the policy's model, tells the others which it chose, gathers the shares,
stores the run and is audited. The stored run is the one a single process stores with the
same seed (counts equal, sums to rounding: :mod:`engine.simulate.distributed`). The other
processes write nothing.

torchrun rather than processes spawned here: the point is to go past one machine, which only
a launcher on every machine can do, and each process reads the workspace itself, so nothing
(a model policy's scores above all) has to be sent between processes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.device import resolve_device
from engine.progress import Progress, no_progress, scaled
from engine.recommend.distributed import join_group, placement_from_env
from engine.simulate.distributed import from_rank0, simulate_distributed
from engine.simulate.scenario import load_scenario
from kpconsole.errors import InvalidField
from kpconsole.services.simulate import ScenarioRun, calibration_for, policy_model_id
from kpconsole.session import Session
from store import simulations as store
from store.simulations import RunRecord


def run_distributed(session: Session, text: str, source: str = "scenario", *, replicates: int | None = None,
                    days: int | None = None, seed: int | None = None, device: str = "auto",
                    progress: Progress = no_progress) -> RunRecord | None:
    """:func:`kpconsole.services.simulate.run` as this process of a torchrun launch: the stored
    run on rank 0 (audited as ``sim.run`` with ``distributed`` = the number of processes), None
    on the other ranks (``progress`` is rank 0's share)."""
    placement = placement_from_env()
    if placement is None:
        raise InvalidField("{distributed} shares the replicates among the processes of a torchrun launch "
                           "(RANK and WORLD_SIZE set, 2 processes or more): start the command under torchrun",
                           "distributed")
    plan = ScenarioRun.of(text, source, replicates=replicates, days=days, seed=seed, device=device, frozen=False)
    mine = replace(plan.settings, device=str(join_group(placement, resolve_device(device, float64=True))))
    if placement.rank != 0:
        calibration_id, model_id = from_rank0((0, None))
        calibration = store.get_calibration(session.ws, calibration_id)
        world, policy, levers, prices = plan.inputs(session, calibration, model_id)
        simulate_distributed(world, policy, levers, mine, prices=prices, progress=no_progress)
        return None
    with session.action("sim.run", target=plan.scenario.data, params={**plan.params, "distributed": placement.world}):
        calibration = calibration_for(session, plan.scenario, scaled(progress, 0.0, 0.2))
        model_id = policy_model_id(session, plan.scenario)
        from_rank0((calibration.id, model_id))
        world, policy, levers, prices = plan.inputs(session, calibration, model_id)
        result = simulate_distributed(world, policy, levers, mine, prices=prices, progress=scaled(progress, 0.2, 1.0))
        assert result is not None  # rank 0 gathers every share
        return plan.store(session, calibration, model_id, policy, result)


def run_file_distributed(session: Session, path: Path, **options) -> RunRecord | None:
    """:func:`run_distributed` on a scenario file."""
    _, text = load_scenario(path)
    return run_distributed(session, text, str(path), **options)
