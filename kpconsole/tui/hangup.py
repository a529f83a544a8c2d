"""Leave when the terminal goes away, so a dropped SSH link never leaves the console spinning.

Two signs, either is enough: SIGHUP (the kernel sends it when the controlling terminal hangs up),
and the terminal file no longer being a terminal (after a hang-up ``isatty`` turns false and reads
return end-of-file; a process that ignores SIGHUP would otherwise poll that end-of-file forever).
Jobs the person started are detached processes and keep running.

Leaving is then made certain (:func:`leave_for_sure`): with the terminal gone, Textual's own
shutdown can block for ever — its output thread stops at the first write to the dead terminal,
the thread's bounded queue fills, and the shutdown's last ``put`` waits on it (one hang-up in a
few, in ``tests/test_tui_terminal.py``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable

CHECK_SECONDS = 1.0
HANGUP_EXIT_CODE = 129  # 128 + SIGHUP, as a shell reports it
LEAVE_WITHIN_S = 2.0


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


def leave_for_sure(code: int = HANGUP_EXIT_CODE, within: float = LEAVE_WITHIN_S) -> threading.Timer:
    """End the process with ``code`` if it is still running ``within`` seconds from now.

    For after a hang-up only: nothing is lost by skipping the rest of the shutdown then — jobs are
    detached processes, finished changes are committed, and SQLite rolls back a write that was cut
    short. The timer thread is a daemon: a shutdown that finishes first is not held up.
    """
    timer = threading.Timer(within, os._exit, args=(code,))
    timer.daemon = True
    timer.start()
    return timer
