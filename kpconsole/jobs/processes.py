"""Operating-system facts about job processes: alive or gone, ours or not, and stopping them.

A process that exited but was not yet reaped (a zombie) counts as gone. A process is "ours"
only when its command line is its runner's (``-m kpconsole.jobs.run <id>`` or ``jobs _run <id>``):
a recycled pid is never signalled.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    stat = PROC / str(pid) / "stat"
    if PROC.is_dir():
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False
        except OSError:
            return True
        state = text.rsplit(")", 1)[-1].split()[0] if ")" in text else "?"
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_job_process(pid: int, job_id: int) -> bool:
    """Whether ``pid`` is the detached runner of job ``job_id``: ``python -m kpconsole.jobs.run ID …``
    or ``kpconsole … jobs _run ID``."""
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode(errors="replace") for a in argv]
    ident = str(job_id)
    for i in range(len(words) - 1):
        if words[i] == "kpconsole.jobs.run" and words[i + 1] == ident:
            return True
        if i + 2 < len(words) and words[i] == "jobs" and words[i + 1] == "_run" and words[i + 2] == ident:
            return True
    return False


def signal_group(pid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False when it is already gone."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, timeout_s: float, poll_s: float = 0.05) -> bool:
    """Wait until ``pid`` is gone; returns whether it is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(poll_s)
    return not is_alive(pid)
