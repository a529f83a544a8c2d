"""Leave when the terminal goes away, so a dropped SSH link never leaves the console spinning.

Two signs, either is enough: SIGHUP (the kernel sends it when the controlling terminal hangs up),
and the terminal file no longer being a terminal (after a hang-up ``isatty`` turns false and reads
return end-of-file; a process that ignores SIGHUP would otherwise poll that end-of-file forever).
Jobs the person started are detached processes and keep running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

CHECK_SECONDS = 1.0
HANGUP_EXIT_CODE = 129  # 128 + SIGHUP, as a shell reports it


def terminal_fd() -> int | None:
    """The file descriptor of the terminal the console reads, or None when it has none."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def terminal_present(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def on_sighup(loop: asyncio.AbstractEventLoop, leave: Callable[[], None]) -> bool:
    """Call ``leave`` on SIGHUP (from the event loop); returns whether the handler is installed."""
    try:
        loop.add_signal_handler(signal.SIGHUP, leave)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True
