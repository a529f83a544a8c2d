"""Launching a job as a detached process that outlives the terminal or SSH link that started it.

The process is ``python -m kpconsole.jobs.run ID --workspace WS [--resume]`` (the lean form of
``kpconsole jobs _run ID``) in a **new session** (``setsid``): it has no controlling terminal,
so the SIGHUP sent when a terminal closes or an SSH connection drops never reaches it, and it
leads its own process group, which ``jobs cancel`` signals as a whole. stdin is ``/dev/null``;
stdout and stderr go to the job's log. A daemon thread reaps it when it ends, so a long-lived
launcher (the TUI) keeps no zombie.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path


def runner_argv(ws_root: Path, job_id: int, *, resume: bool) -> list[str]:
    """The command line of the detached runner of job ``job_id`` (see :mod:`kpconsole.jobs.run`)."""
    argv = [sys.executable, "-m", "kpconsole.jobs.run", str(job_id), "--workspace", str(ws_root)]
    return [*argv, "--resume"] if resume else argv


def launch(ws_root: Path, job_id: int, log_file: Path, *, resume: bool = False) -> int:
    """Start the detached runner; returns its pid (also its process-group and session id)."""
    try:
        cwd = os.getcwd()
    except FileNotFoundError:  # the caller's folder was removed
        cwd = str(ws_root)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            runner_argv(ws_root, job_id, resume=resume),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=cwd, env=env,
        )
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-job-{job_id}").start()
    return proc.pid
