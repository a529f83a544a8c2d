"""Launching the console: only on a terminal, and it leaves when its terminal goes away (a dropped
SSH link must not leave it spinning). Real pseudo-terminals, real processes."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli

from kpconsole.session import create_session

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

FIRST_SCREEN = b"Data"
EXIT_WITHIN_S = 5.0


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    create_session(root)
    return root


def read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        time.sleep(0.05)
    return False


def console_argv(workspace: Path) -> list[str]:
    return [sys.executable, "-m", "kpconsole", "--workspace", str(workspace), "tui"]


def console_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}


def test_without_a_terminal_it_prints_a_hint_and_exits_2(workspace):
    result = run_cli(["tui"], workspace)
    assert result.returncode == 2
    assert "the console needs a terminal (use `ssh -t HOST kpconsole`)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_theme_is_a_one_line_usage_error(workspace):
    result = run_cli(["tui", "--theme", "neon"], workspace)
    assert result.returncode == 2
    assert "'neon' is not one of ansi-dark, ansi-light, textual-dark, textual-light" in result.stderr


def test_it_exits_when_its_terminal_hangs_up(workspace):
    """The console is the session leader on the terminal: the hang-up's SIGHUP ends it."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the console on the pty's slave side
        os.execve(sys.executable, console_argv(workspace), console_env())
    try:
        first = read_until(master, FIRST_SCREEN)
        assert FIRST_SCREEN in first, first[-500:]
    finally:
        os.close(master)
    assert wait_gone(pid, EXIT_WITHIN_S), "the console kept running after its terminal hung up"


def test_it_exits_when_its_terminal_goes_away_even_without_sighup(workspace, tmp_path):
    """A login shell that ignores SIGHUP stays alive as the session leader, so the console never
    gets the signal: it must notice the terminal is gone by itself."""
    pid_file = tmp_path / "console.pid"
    pid, master = pty.fork()
    if pid == 0:  # the session leader: ignores SIGHUP, starts the console, outlives the terminal
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        child = subprocess.Popen(console_argv(workspace), env=console_env(),
                                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        pid_file.write_text(str(child.pid))
        child.wait()
        time.sleep(EXIT_WITHIN_S * 3)
        os._exit(0)
    console_pid = None
    try:
        first = read_until(master, FIRST_SCREEN)
        assert FIRST_SCREEN in first, first[-500:]
        console_pid = int(pid_file.read_text())
    finally:
        os.close(master)
    try:
        deadline = time.monotonic() + EXIT_WITHIN_S
        alive = True
        while alive and time.monotonic() < deadline:
            try:
                os.kill(console_pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                alive = False
        assert not alive, "the console kept running after its terminal went away"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_after_a_hang_up_the_process_leaves_even_if_its_shutdown_blocks():
    """What Textual's shutdown sometimes does once the terminal is gone: wait for ever on the
    full queue of an output thread that died. ``leave_for_sure`` ends the process anyway."""
    blocked = ("import queue; from kpconsole.tui import hangup; hangup.leave_for_sure(7, within=0.2); "
               "q = queue.Queue(1); q.put(1); q.put(None)")
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-c", blocked], timeout=30)
    assert result.returncode == 7 and time.monotonic() - began < 10
