"""Where tensors live, for every area of the engine: one resolver and one set of names.

``auto`` picks CUDA, then Apple's MPS, then the CPU. Every model, clustering and simulation
takes ``device`` as a parameter and runs one code path on all of them; random draws are made
on the CPU from an explicit :class:`torch.Generator` and moved (:func:`generator`,
:func:`uniforms`), so a seed gives the same weights, samples and agents on every device.
"""

from __future__ import annotations

import os

import torch

from engine.errors import EngineError

DEVICES = ("auto", "cpu", "cuda", "mps")
"""The device names a front end offers (``cuda:N`` picks one GPU of several)."""


def resolve_device(name: str = "auto", *, float64: bool = False) -> torch.device:
    """The torch device for ``auto|cpu|cuda|cuda:N|mps``; refuses one this machine lacks.

    ``float64``: the work needs double precision (clustering, the simulator), which Apple's
    Metal backend lacks: ``auto`` then skips MPS and ``mps`` is refused.

    >>> resolve_device("cpu"), resolve_device("auto", float64=True).type in ("cpu", "cuda")
    (device(type='cpu'), True)
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available() and not float64:
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise EngineError(f"device '{name}' asked for, but torch sees no CUDA GPU here (choose cpu or auto)")
        return torch.device(name)
    if name == "mps":
        if float64:
            raise EngineError("device 'mps': this work needs float64, which Apple's Metal backend lacks (choose cpu or auto)")
        if not _mps_available():
            raise EngineError("device 'mps' asked for, but Apple's Metal backend is not available here (choose cpu or auto)")
        return torch.device("mps")
    raise EngineError(f"unknown device '{name}' (one of {', '.join(DEVICES)}, or cuda:N)")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def generator(seed: int) -> torch.Generator:
    """A CPU random generator seeded with ``seed``; draws made with it are moved to the device."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def uniforms(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Seeded float64 uniforms drawn on the CPU and moved: the same draws whatever the device."""
    return torch.rand(n, generator=generator, dtype=torch.float64).to(device)


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` in bytes (CUDA: the driver's count; CPU: MemAvailable from
    /proc/meminfo, else physical pages), or None when it cannot be told."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return None
