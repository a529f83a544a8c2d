"""Where tensors live: ``auto`` picks CUDA, then Apple's MPS, then the CPU.

Every model takes ``device`` as a parameter and runs one code path on all of them; random
draws come from an explicit :class:`torch.Generator` on the CPU (see :func:`generator`), so a
seed gives the same initial weights and the same samples on every device.
"""

from __future__ import annotations

import os

import torch

from engine.errors import EngineError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for ``auto|cpu|cuda|cuda:N|mps``; refuses one this machine lacks.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EngineError(f"device '{name}': no CUDA GPU is available on this machine (use --device cpu or auto)")
        return torch.device(name)
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise EngineError("device 'mps': Apple's Metal backend is not available here (use --device cpu or auto)")
        return torch.device("mps")
    raise EngineError(f"unknown device '{name}' (one of {', '.join(DEVICES)}, or cuda:N)")


def generator(seed: int) -> torch.Generator:
    """A CPU random generator seeded with ``seed``; draws made with it are moved to the device."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


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
