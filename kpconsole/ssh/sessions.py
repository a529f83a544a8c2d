"""One SSH session's process, on a pseudo-terminal or on pipes, with data pumped both ways.

* **Terminal** (interactive login, ``ssh -t``): a fresh pty pair from :func:`pty.openpty`; the
  child gets the slave as stdin/stdout/stderr in a new session and makes it its controlling
  terminal. Window-size changes from the client (``asyncssh.TerminalSizeChanged``) are set on
  the pty with ``TIOCSWINSZ``, and the kernel sends the child SIGWINCH. Sizes are clamped to
  :data:`MAX_COLS` × :data:`MAX_ROWS` (a client may claim 10,000 × 10,000, which the console
  would try to draw).
* **Pipes** (``ssh host CMD``): stdout and stderr stay separate; the client's EOF closes the
  child's stdin.

Either way the exit status is the child's (128+N when killed by signal N).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import Callable, Sequence

import asyncssh

DRAIN_S = 2.0
PUMP_BYTES = 65536
MAX_COLS, MAX_ROWS = 1000, 400  # beyond any real screen
MAX_PIXELS = 65535  # TIOCSWINSZ holds 16 bits

Activity = Callable[[], None]
Register = Callable[[asyncio.subprocess.Process], None]


def set_winsize(fd: int, cols: int, rows: int, xpix: int = 0, ypix: int = 0) -> None:
    """Set a terminal's size in characters (and pixels), clamped to at least 1 × 1 and at most
    :data:`MAX_COLS` × :data:`MAX_ROWS`."""
    cols, rows = max(1, min(cols, MAX_COLS)), max(1, min(rows, MAX_ROWS))
    xpix, ypix = max(0, min(xpix, MAX_PIXELS)), max(0, min(ypix, MAX_PIXELS))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpix, ypix))


def exit_status(returncode: int | None) -> int:
    if returncode is None:
        return 1
    return 128 - returncode if returncode < 0 else returncode


async def end_process_group(proc: asyncio.subprocess.Process) -> None:
    """Hang up, then terminate, then kill the process group of a session's child."""
    for sig, wait_s in ((signal.SIGHUP, 1.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        if proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(proc.wait(), wait_s)
            return
        except TimeoutError:
            continue


async def _ready(fd: int, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    add(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        remove(fd)


async def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            await _ready(fd, write=True)


async def _pty_to_channel(master: int, process: asyncssh.SSHServerProcess, activity: Activity) -> None:
    while True:
        await _ready(master, write=False)
        try:
            data = os.read(master, PUMP_BYTES)
        except BlockingIOError:
            continue
        except OSError:  # EIO: every slave descriptor is closed
            return
        if not data:
            return
        activity()
        try:
            process.stdout.write(data)
            await process.stdout.drain()
        except (OSError, asyncssh.Error):  # the channel is gone
            return


async def _channel_to_pty(master: int, process: asyncssh.SSHServerProcess, activity: Activity) -> None:
    """Client keystrokes to the terminal; returns at the client's EOF."""
    while True:
        try:
            data = await process.stdin.read(PUMP_BYTES)
        except asyncssh.TerminalSizeChanged as change:
            activity()
            set_winsize(master, change.width, change.height, change.pixwidth, change.pixheight)
            continue
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.SoftEOFReceived):
            continue
        except (OSError, asyncssh.Error):
            return
        if not data:
            return
        activity()
        await _write_all(master, data)


async def run_on_pty(process: asyncssh.SSHServerProcess, argv: Sequence[str], env: dict[str, str],
                     pass_fds: Sequence[int], activity: Activity, register: Register) -> int:
    """Run ``argv`` on a new pseudo-terminal sized like the client's; returns its exit status."""
    master, slave = pty.openpty()
    cols, rows, xpix, ypix = process.term_size
    if cols and rows:
        set_winsize(slave, cols, rows, xpix, ypix)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, pass_fds=tuple(pass_fds), start_new_session=True, env=env)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    register(proc)
    os.set_blocking(master, False)
    output = asyncio.create_task(_pty_to_channel(master, process, activity))
    keys = asyncio.create_task(_channel_to_pty(master, process, activity))
    waiting = asyncio.create_task(proc.wait())
    try:
        await asyncio.wait({waiting, keys}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():  # the client hung up: so does the terminal
            await end_process_group(proc)
        await waiting
        try:
            await asyncio.wait_for(output, DRAIN_S)
        except TimeoutError:
            pass
    finally:
        for task in (output, keys, waiting):
            task.cancel()
        await asyncio.gather(output, keys, waiting, return_exceptions=True)
        os.close(master)
    return exit_status(proc.returncode)


async def _stream_to_channel(reader: asyncio.StreamReader, writer: asyncssh.SSHWriter, activity: Activity) -> None:
    while data := await reader.read(PUMP_BYTES):
        activity()
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, asyncssh.Error):
            return


async def _channel_to_stream(process: asyncssh.SSHServerProcess, stdin: asyncio.StreamWriter,
                             activity: Activity) -> None:
    try:
        while True:
            try:
                data = await process.stdin.read(PUMP_BYTES)
            except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived, asyncssh.SignalReceived,
                    asyncssh.SoftEOFReceived):
                continue
            if not data:
                break
            activity()
            stdin.write(data)
            await stdin.drain()
    except (OSError, asyncssh.Error):
        pass
    finally:
        stdin.close()


async def run_on_pipes(process: asyncssh.SSHServerProcess, argv: Sequence[str], env: dict[str, str],
                       pass_fds: Sequence[int], activity: Activity, register: Register) -> int:
    """Run ``argv`` with pipes for stdin, stdout and stderr; returns its exit status."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        pass_fds=tuple(pass_fds), start_new_session=True, env=env)
    register(proc)
    pumps = asyncio.gather(_stream_to_channel(proc.stdout, process.stdout, activity),
                           _stream_to_channel(proc.stderr, process.stderr, activity))
    feed = asyncio.create_task(_channel_to_stream(process, proc.stdin, activity))
    try:
        await proc.wait()
        try:
            await asyncio.wait_for(pumps, DRAIN_S)
        except TimeoutError:
            pass
    finally:
        pumps.cancel()
        feed.cancel()
        await asyncio.gather(pumps, feed, return_exceptions=True)
    return exit_status(proc.returncode)
