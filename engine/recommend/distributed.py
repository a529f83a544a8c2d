"""Training BPR-MF and NCF across processes with torch.distributed (DDP).

Two ways in, one training code path (:mod:`engine.recommend.sampled` shards every mini-batch
by rank):

* **spawned here** — :func:`fit_distributed` starts ``world`` worker processes on this machine
  (gloo on CPUs, NCCL with one GPU per worker), trains, and hands the weights of rank 0 back
  to the caller, which alone saves and registers the model;
* **torchrun** — each process torchrun starts calls :func:`placement_from_env` and joins the
  group from the environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``…); only rank 0
  registers the result.

The item-side models do not need this: popularity and item-kNN are one pass over the
co-occurrences (blockable across machines by item ranges), EASE is one dense inversion
bounded by items², and iALS's per-user and per-item solves are independent, so they shard by
rows with one all-gather of the factors per sweep.
"""

from __future__ import annotations

import multiprocessing.queues
import os
import queue
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.multiprocessing.spawn import ProcessExitedException, ProcessRaisedException, start_processes

from engine.errors import EngineError
from engine.progress import Cancelled, Progress, no_progress
from engine.recommend.base import FitReport
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.sampled import Placement, SampledModel

POLL_SECONDS = 0.2


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def placement_from_env() -> Placement | None:
    """This process's place in a torchrun launch, or None when not launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    return Placement(rank=int(os.environ["RANK"]), world=world)


def join_group(placement: Placement, device: torch.device, init_method: str = "env://") -> torch.device:
    """Join the process group; returns the device this rank trains on (its own GPU on CUDA)."""
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", placement.rank)) % torch.cuda.device_count()
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device), init_method=init_method, rank=placement.rank,
                                world_size=placement.world)
    return device


def _worker(rank: int, world: int, init_file: str, algo: str, params: dict, device: str, train: dict,
            validation: dict | None, checkpoint_dir: str | None, resume: bool, result_path: str,
            messages: multiprocessing.queues.Queue) -> None:
    """One rank: join the group, train, and (rank 0) write the weights and report to ``result_path``."""
    from engine.recommend.algorithms import make_model

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    placement = Placement(rank, world)
    dev = join_group(placement, torch.device(device), init_method=f"file://{init_file}")
    model = make_model(algo, params, dev)
    if not isinstance(model, SampledModel):  # fit_distributed sends only these
        raise EngineError(f"{algo} does not train under torch.distributed (only bpr and ncf do)")
    model.placement = placement

    def report(fraction, message="", metrics=None):
        if rank == 0:
            messages.put(("progress", fraction, message, dict(metrics or {})))

    try:
        fit = model.fit(UserItemMatrix(**train),
                        validation=UserItemMatrix(**validation) if validation else None,
                        progress=report, checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None,
                        resume=resume)
        if rank == 0:
            torch.save({"state": model.state_dict(), "fit": fit.as_dict()}, result_path)
    finally:
        dist.destroy_process_group()


def _plain(matrix: UserItemMatrix) -> dict:
    return {"indptr": matrix.indptr, "indices": matrix.indices, "values": matrix.values, "n_items": matrix.n_items}


def fit_distributed(
    model: SampledModel,
    train: UserItemMatrix,
    world: int,
    *,
    progress: Progress = no_progress,
    validation: UserItemMatrix | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> FitReport:
    """Train ``model`` with ``world`` local processes under DDP; ``model`` receives rank 0's weights.

    Cancelling from ``progress`` stops every worker; the last checkpoint (written by rank 0
    after each epoch) lets a later call with ``resume`` continue.
    """
    if not model.distributable:
        raise EngineError(f"{model.algo} does not train under torch.distributed (only bpr and ncf do)")
    if world < 2:
        raise EngineError(f"distributed training needs at least 2 processes (got {world})")
    if model.device.type == "cuda" and torch.cuda.device_count() < world:
        raise EngineError(f"{world} processes need {world} GPUs; this machine has {torch.cuda.device_count()}")
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="kpconsole-ddp-") as tmp:
        result_path = os.path.join(tmp, "result.pt")
        args = (world, os.path.join(tmp, "rendezvous"), model.algo, model.params.as_dict(), model.device.type,
                _plain(train), _plain(validation) if validation is not None else None,
                str(checkpoint_dir) if checkpoint_dir else None, resume, result_path, messages)
        workers = start_processes(_worker, args=args, nprocs=world, join=False, start_method="spawn")
        try:
            while not workers.join(timeout=POLL_SECONDS):
                _drain(messages, progress)
            _drain(messages, progress)
        except Cancelled:
            for process in workers.processes:
                if process.is_alive():
                    process.terminate()
            workers.join()
            raise
        except ProcessRaisedException as exc:
            raise EngineError(f"distributed training failed in a worker: {str(exc).strip().splitlines()[-1]}") from None
        except ProcessExitedException as exc:
            raise EngineError(f"a distributed training worker died ({exc})") from None
        result = torch.load(result_path, map_location="cpu", weights_only=True)
    model.history = train
    model.load_state_dict(result["state"])
    fit = result["fit"]
    return FitReport(epochs=fit["epochs"], best_epoch=fit["best_epoch"], stopped_early=fit["stopped_early"],
                     resumed_from=fit["resumed_from"], seconds=fit["seconds"], history=fit["history"])


def _drain(messages: multiprocessing.queues.Queue, progress: Progress) -> None:
    while True:
        try:
            _, fraction, message, metrics = messages.get_nowait()
        except queue.Empty:
            return
        progress(fraction, message, metrics)
