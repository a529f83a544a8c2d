"""Console speed: time to the first painted screen, and key-to-repaint latency on a 1 M-event
dataset while a training job runs.

* first paint — a fresh ``python`` process opens the console headless on a workspace; the time
  from spawning the process to Textual's ``Ready`` (the first frame is on screen). Reference, in
  the same run: a bare Textual app with one label, the floor any Textual console pays. Also, as
  a person starts it: ``kpconsole --workspace W`` on a pseudo-terminal until the Overview is
  painted — this one includes the CLI's own imports before the console starts.
* key-to-repaint — the console runs on a real pseudo-terminal (120×40, the real Linux driver)
  showing the events table of a 1 M-event dataset (Data → open). Each PageDown or Down is timed
  from writing the key to the terminal until the terminal output holds both the new position in
  the status line and the cursor row's own values (its page read from Parquet, formatted and
  painted). Measured while a job runs (``train`` when the recommender's job kind is registered,
  else an ``ingest`` of the same data — the bench says which); reference: the same keys with no
  job running.

Targets (issue 6): first paint ≤ 0.8 s; key-to-repaint p95 ≤ 50 ms.

    python bench/tui.py [--events 1000000] [--keys 60] [--paints 5]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40
PAGE_DOWN, DOWN = "\x1b[6~", "\x1b[B"
STATUS = re.compile(rb"row ([\d,]+) of ([\d,]+)")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")

CONSOLE_PAINT = """
import sys, time
t_spawn = float(sys.argv[2])
from pathlib import Path
from kpconsole.session import open_session
from kpconsole.tui.app import ConsoleApp
class Timed(ConsoleApp):
    def on_ready(self):
        print(f"{time.time() - t_spawn:.4f}", flush=True)
        self.exit()
Timed(open_session(Path(sys.argv[1])), theme="ansi-dark").run(headless=True, size=(80, 24))
"""

BARE_PAINT = """
import sys, time
t_spawn = float(sys.argv[2])
from textual.app import App
from textual.widgets import Label
class Bare(App):
    def compose(self):
        yield Label("hello")
    def on_ready(self):
        print(f"{time.time() - t_spawn:.4f}", flush=True)
        self.exit()
Bare().run(headless=True, size=(80, 24))
"""


def make_events(folder: Path, n: int, seed: int = 0) -> None:
    """``events.parquet`` with ``n`` rows (13 k users, 4 k items, 180 days, sorted by time)."""
    rng = np.random.default_rng(seed)
    kinds = np.array(["view", "like", "favorite", "comment", "purchase"])
    kind = kinds[rng.choice(5, size=n, p=[0.7, 0.12, 0.08, 0.06, 0.04])]
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({
        "user_id": rng.integers(1, 13_001, size=n),
        "item_id": rng.integers(1, 4_001, size=n),
        "kind": kind,
        "ts": np.sort(1_767_225_600_000_000 + rng.integers(0, 180 * 86_400 * 1_000_000, size=n)),
        "value": np.ones(n),
        "amount": np.where(kind == "purchase", 29.0, 0.0),
    }).with_columns(pl.col("ts").cast(pl.Datetime("us"))).write_parquet(folder / "events.parquet")


def build_workspace(root: Path, events: int):
    from kpconsole.services import datasets
    from kpconsole.services.datasets import IngestRequest
    from kpconsole.session import create_session

    source = root / "source"
    make_events(source, events)
    session = create_session(root / "ws")
    record = datasets.ingest(session, IngestRequest(path=source, name="big"))
    return session, record, source


def first_paint(code: str, workspace: Path) -> float:
    spawned = time.time()
    out = subprocess.run([sys.executable, "-c", code, str(workspace), f"{spawned:.6f}"], capture_output=True,
                         text=True, timeout=120, cwd=REPO, env={**os.environ, "TEXTUAL_ANIMATIONS": "none"})
    if out.returncode != 0:
        raise SystemExit(f"first-paint run failed: {out.stderr.strip().splitlines()[-1:]}")
    return float(out.stdout.strip().splitlines()[-1])


class Terminal:
    """The console on a pseudo-terminal: write keys, read what it paints."""

    def __init__(self, workspace: Path) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS),
               "KPCONSOLE_THEME": "ansi-dark"}
        env.pop("NO_COLOR", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(sys.executable, [sys.executable, "-m", "kpconsole", "--workspace", str(workspace), "tui"], env)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.seen = b""

    def drain(self) -> bytes:
        """Whatever the console has written and is not read yet."""
        out = b""
        while select.select([self.fd], [], [], 0)[0]:
            out += os.read(self.fd, 1 << 16)
        return out

    def read_until(self, *needles: bytes, timeout: float = 30.0) -> bytes:
        """Read until every needle has appeared; returns the output (escape sequences removed)."""
        start, buffer = time.perf_counter(), b""
        while time.perf_counter() - start < timeout:
            if select.select([self.fd], [], [], 0.05)[0]:
                buffer += os.read(self.fd, 1 << 16)
                plain = ANSI.sub(b"", buffer)
                if all(n in plain for n in needles):
                    return plain
        raise SystemExit(f"the console did not paint {needles!r} within {timeout}s")

    def key_to_row(self, key: str, events: pl.DataFrame, previous: int, timeout: float = 10.0) -> tuple[float, int]:
        """Press ``key``; seconds until the status line shows a new row and that row's time is painted."""
        self.drain()
        start = time.perf_counter()
        os.write(self.fd, key.encode())
        buffer = b""
        while time.perf_counter() - start < timeout:
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            buffer += os.read(self.fd, 1 << 16)
            plain = ANSI.sub(b"", buffer)
            rows = [int(m.group(1).replace(b",", b"")) - 1 for m in STATUS.finditer(plain)]
            if rows and rows[-1] != previous:
                stamp = events["ts"][rows[-1]].strftime("%Y-%m-%d %H:%M:%S").encode()
                if stamp in plain:
                    return time.perf_counter() - start, rows[-1]
        raise SystemExit(f"no repaint for key {key!r} within {timeout}s")

    def press(self, key: str) -> None:
        os.write(self.fd, key.encode())

    def close(self) -> None:
        os.close(self.fd)
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def key_latencies(workspace: Path, events: pl.DataFrame, keys: int) -> list[float]:
    """Milliseconds from each key to the repaint showing the cursor row's values."""
    term = Terminal(workspace)
    try:
        term.read_until(b"Overview")
        term.press("2")
        term.read_until(b"big")
        term.press("o")
        term.read_until(b"row 1 of")
        latencies, row = [], 0
        for i in range(keys):
            seconds, row = term.key_to_row(DOWN if i % 3 == 2 else PAGE_DOWN, events, row)
            latencies.append(seconds * 1000)
        return latencies
    finally:
        term.close()


def cli_first_paint(workspace: Path) -> float:
    """Seconds from spawning ``kpconsole --workspace W tui`` on a pty to the Overview painted."""
    start = time.perf_counter()
    term = Terminal(workspace)
    try:
        term.read_until(b"Overview", timeout=60)
        return time.perf_counter() - start
    finally:
        term.close()


def start_load_job(session, record, source: Path) -> tuple[int, str]:
    from kpconsole.jobs import job_kinds, start_job

    kinds = {k.name for k in job_kinds()}
    if "train" in kinds:
        params = {"data": record.name, "algo": "bpr", "epochs": 200, "factors": 64}
        return start_job(session, "train", params), "train (bpr, 64 factors)"
    from kpconsole.jobs.ingest import request_params
    from kpconsole.services.datasets import IngestRequest

    params = request_params(IngestRequest(path=source, name="copy"))
    return start_job(session, "ingest", params), "ingest (no train kind registered)"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--paints", type=int, default=5)
    args = parser.parse_args()
    from kpconsole import jobs

    with tempfile.TemporaryDirectory(prefix="kpconsole-bench-tui-") as tmp:
        t = time.perf_counter()
        session, record, source = build_workspace(Path(tmp), args.events)
        events = pl.read_parquet(record.table_path("events"), columns=["ts"])
        print(f"dataset: {record.tables['events']:,} events ({time.perf_counter() - t:.1f}s to make and ingest)")

        ours = [first_paint(CONSOLE_PAINT, session.ws.root) for _ in range(args.paints)]
        bare = [first_paint(BARE_PAINT, session.ws.root) for _ in range(args.paints)]
        print(f"first paint (headless, process spawn → first frame), median of {args.paints}: "
              f"kpconsole {statistics.median(ours):.3f}s  bare Textual app {statistics.median(bare):.3f}s  "
              f"ratio {statistics.median(ours) / statistics.median(bare):.2f}  (target ≤ 0.8 s)")
        cli = [cli_first_paint(session.ws.root) for _ in range(max(1, args.paints // 2))]
        print(f"  through the CLI (`kpconsole tui` on a pty, spawn → Overview painted), median of {len(cli)}: "
              f"{statistics.median(cli):.3f}s")

        idle = key_latencies(session.ws.root, events, args.keys)
        job_id, what = start_load_job(session, record, source)
        time.sleep(2.0)  # let the job get going
        busy = key_latencies(session.ws.root, events, args.keys)
        job = jobs.show_job(session, job_id)
        still = "still running at the end" if job.active else f"{job.status} before the end"
        if job.active:
            jobs.cancel_job(session, job_id, wait=True)
        print(f"key-to-repaint on the events table, {args.keys} keys (PageDown, PageDown, Down, …), ms:")
        print(f"  with a job running [{what}; {still}]: p50 {pct(busy, 50):.1f}  p95 {pct(busy, 95):.1f}  "
              f"max {max(busy):.1f}")
        print(f"  idle (reference):                     p50 {pct(idle, 50):.1f}  p95 {pct(idle, 95):.1f}  "
              f"max {max(idle):.1f}")
        print(f"  ratio p95 busy/idle {pct(busy, 95) / pct(idle, 95):.2f}  (target p95 ≤ 50 ms)")


if __name__ == "__main__":
    main()
