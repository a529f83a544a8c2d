"""Which torch device the clustering runs on: one code path, the device a parameter."""

from __future__ import annotations

import torch

from engine.errors import EngineError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → cuda when available, else cpu; ``cuda`` without a GPU is a one-line error."""
    if name not in DEVICES:
        raise EngineError(f"unknown device '{name}' (one of {', '.join(DEVICES)})")
    if name == "cuda" and not torch.cuda.is_available():
        raise EngineError("device 'cuda' asked for, but torch sees no CUDA GPU here (use --device cpu or auto)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def uniforms(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Seeded uniforms drawn on the CPU and moved: the same draws whatever the device."""
    return torch.rand(n, generator=generator, dtype=torch.float64).to(device)
