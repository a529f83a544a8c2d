"""How many CPU threads a piece of torch work should use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: Below about this many multiply-adds per pass, a second CPU thread costs more than it saves:
#: torch's OpenMP workers wait passively (see ``kpconsole/__init__.py``), and waking one for
#: each of an epoch's many small sparse products takes longer than the product itself.
SMALL_CPU_WORK = 1 << 23


@contextmanager
def threads_for(device: torch.device, work: int) -> Iterator[None]:
    """Run the block on one CPU thread when ``work`` is small; otherwise change nothing.

    Measured on 2 cores with passive waiting, 1 vs 2 threads: iALS ms per epoch at 2.3 k pairs
    4 vs 11, 30 k 10 vs 18, 100 k 31 vs 31, 525 k 233 vs 123; the simulator's core day at
    100 k agents (1 M slate entries) 4.9 vs 3.9 M user-steps/s, at 1 M agents about even.
    """
    if device.type == "cpu" and work < SMALL_CPU_WORK:
        with one_thread():
            yield
    else:
        yield


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread and give the caller's thread count back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
