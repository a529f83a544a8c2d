"""Console speed: how soon the console is on screen, and key-to-repaint latency on a 1 M-event
dataset while a training job runs.

* first frame, headless — a fresh ``python`` process opens the console headless on the
  workspace; the time from spawning it to Textual's ``Ready`` (the first frame is made). Next to
  it, in the same run and alternating with it, a bare Textual app with one label: the floor any
  Textual console pays.
* first paint in a terminal — as a person starts it: ``kpconsole --workspace W`` (the installed
  entry point, CLI included) in a detached tmux session at 80×24, from spawning the session until
  ``tmux capture-pane`` shows the Overview's tiles painted (a tile's frame with its title); then
  until the tiles show their values (read by workers after that first frame). Reference, run the
  same way and alternating with it: the bare Textual app, until its label shows. Median of
  ``--paints`` runs each.
* key-to-repaint — the console runs on a real pseudo-terminal (120×40, the real Linux driver)
  showing the events table of a 1 M-event dataset (Data → open). Each PageDown or Down is timed
  from writing the key to the terminal until the terminal output holds both the new position in
  the status line and the cursor row's own values (its page read from Parquet, formatted and
  painted). Measured while a job runs (``train`` when the recommender's job kind is registered,
  else an ``ingest`` of the same data — the bench says which); reference: the same keys with no
  job running.

Targets (issue 6, "Safe and snappy at 2 a.m. over SSH", and issue 11, "Fast console"): first
paint in tmux ≤ 0.8 s and ≤ 1.5 × the bare Textual app; key-to-repaint p95 ≤ 50 ms with a
training job running. On a loaded machine use more ``--paints``: the ratios compare runs made
side by side, the seconds do not.

    python bench/tui.py [--events 1000000] [--keys 60] [--paints 5] [--no-keys]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
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

BARE_LABEL = "a bare Textual app"
BARE_APP = f"""
from textual.app import App
from textual.widgets import Label
class Bare(App):
    def compose(self):
        yield Label({BARE_LABEL!r})
Bare().run()
"""
TILES_PAINTED = "│ community health"
"""On the pane once the Overview's tiles are painted: the last tile's frame and its title."""
FIRST_PAINT_TARGET_S, FIRST_PAINT_RATIO_TARGET, KEY_P95_TARGET_MS = 0.8, 1.5, 50.0


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


class Tmux:
    """A private tmux server (its own socket) with a session kept open, so that each measured
    session starts on a running server, as it would for a person who works in tmux."""

    def __init__(self) -> None:
        if shutil.which("tmux") is None:
            raise SystemExit("bench/tui.py needs tmux for the first-paint figure")
        self.base = ["tmux", "-L", f"kpconsole-bench-{os.getpid()}"]
        self.tmux("new-session", "-d", "-s", "keep", "-x", "80", "-y", "24", "sleep 3600")

    def tmux(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, check=True).stdout

    def time_to(self, command: str, *needles: str, timeout: float = 60.0) -> list[float]:
        """Seconds from spawning ``command`` in a new 80×24 session until the pane shows each needle."""
        start = time.perf_counter()
        self.tmux("new-session", "-d", "-s", "measured", "-x", "80", "-y", "24", command)
        pid = int(self.tmux("display-message", "-p", "-t", "measured", "#{pane_pid}").strip())
        seen: list[float] = []
        pane = ""
        try:
            while len(seen) < len(needles):
                if time.perf_counter() - start > timeout:
                    raise SystemExit(f"{command!r} did not show {needles[len(seen)]!r} within {timeout}s:\n{pane}")
                pane = self.tmux("capture-pane", "-p", "-t", "measured")
                while len(seen) < len(needles) and needles[len(seen)] in pane:
                    seen.append(time.perf_counter() - start)
                time.sleep(0.005)
            return seen
        finally:
            self.tmux("kill-session", "-t", "measured")
            wait_gone(pid)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until process ``pid`` has exited (so it takes no CPU from the next measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def tmux_first_paint(workspace: Path, values: str, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Spawn → tiles painted and spawn → their values, for ``kpconsole --workspace W``; spawn →
    label painted for the bare app; ``runs`` of each, alternating."""
    entry = Path(sys.executable).with_name("kpconsole")
    if not entry.exists():
        raise SystemExit(f"no kpconsole entry point next to {sys.executable}: pip install -e . first")
    tmux = Tmux()
    with tempfile.TemporaryDirectory(prefix="kpconsole-bench-bare-") as tmp:
        bare_app = Path(tmp) / "bare.py"
        bare_app.write_text(BARE_APP)
        tiles, filled, bare = [], [], []
        try:
            for _ in range(runs):
                painted, shown = tmux.time_to(f"exec {entry} --workspace {workspace}", TILES_PAINTED, values)
                tiles.append(painted)
                filled.append(shown)
                bare.extend(tmux.time_to(f"exec {sys.executable} {bare_app}", BARE_LABEL))
        finally:
            tmux.close()
    return tiles, filled, bare


def import_seconds(module: str) -> float:
    """Seconds from spawning ``python`` to ``module`` imported (the entry point's share of a start)."""
    code = f"import sys, time\nt = float(sys.argv[1])\nimport {module}\nprint(time.time() - t)"
    out = subprocess.run([sys.executable, "-c", code, f"{time.time():.6f}"], capture_output=True, text=True,
                         check=True, cwd=REPO)
    return float(out.stdout)


def verdict(ok: bool) -> str:
    return "✓ met" if ok else "✗ NOT met"


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


def key_latencies(workspace: Path, events: pl.DataFrame, keys: int, settled: str) -> list[float]:
    """Milliseconds from each key to the repaint showing the cursor row's values.

    The keys start once the Overview shows ``settled`` (its users tile's value) and the table its
    first rows: the Overview's workers read the 1 M-event dataset for a few seconds after the
    console opens, and the table reads its first page when opened; keys pressed meanwhile would
    time that start-up work, not the key (see "Speed" in docs/tui.md)."""
    term = Terminal(workspace)
    try:
        term.read_until(b"Overview", settled.encode(), timeout=60)
        term.press("2")
        term.read_until(b"big")
        term.press("o")
        term.read_until(b"row 1 of", events["ts"][0].strftime("%Y-%m-%d %H:%M:%S").encode())  # first page read
        latencies, row = [], 0
        for i in range(keys):
            seconds, row = term.key_to_row(DOWN if i % 3 == 2 else PAGE_DOWN, events, row)
            latencies.append(seconds * 1000)
        return latencies
    finally:
        term.close()


def start_load_job(session, record) -> tuple[int, str]:
    from kpconsole.jobs import start_job

    params = {"data": record.name, "algo": "bpr", "params": {"epochs": 200, "factors": 64}}
    return start_job(session, "train", params), "train (bpr, 64 factors)"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--paints", type=int, default=5)
    parser.add_argument("--no-keys", action="store_true", help="only the first-frame figures")
    args = parser.parse_args()
    from kpconsole import jobs

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="kpconsole-bench-tui-") as tmp:
        t = time.perf_counter()
        session, record, source = build_workspace(Path(tmp), args.events)
        events = pl.read_parquet(record.table_path("events"), columns=["ts"])
        print(f"dataset: {record.tables['events']:,} events ({time.perf_counter() - t:.1f}s to make and ingest)")
        n = args.paints

        ours, bare = [], []
        for _ in range(n):  # alternating, as in tmux: a change in the machine's load reaches both
            ours.append(first_paint(CONSOLE_PAINT, session.ws.root))
            bare.append(first_paint(BARE_PAINT, session.ws.root))
        print(f"first frame, headless (spawn → Ready), median of {n}: kpconsole {statistics.median(ours):.3f}s  "
              f"bare Textual app {statistics.median(bare):.3f}s  ratio {statistics.median(ours) / statistics.median(bare):.2f}")

        users = f"{record.profile['n_users']:,}"  # the users tile's value
        tiles, filled, bare_tmux = tmux_first_paint(session.ws.root, users, n)
        ours_s, bare_s = statistics.median(tiles), statistics.median(bare_tmux)
        ratio = ours_s / bare_s
        print(f"first paint in tmux 80×24 (spawn → Overview tiles painted), median of {n}: "
              f"`kpconsole --workspace W` {ours_s:.3f}s  bare Textual app {bare_s:.3f}s  ratio {ratio:.2f}")
        print(f"  targets: ≤ {FIRST_PAINT_TARGET_S} s {verdict(ours_s <= FIRST_PAINT_TARGET_S)};  "
              f"≤ {FIRST_PAINT_RATIO_TARGET} × bare {verdict(ratio <= FIRST_PAINT_RATIO_TARGET)}")
        print(f"  tiles' values shown (workers, after the first frame): {statistics.median(filled):.3f}s;  "
              f"runs: kpconsole {' '.join(f'{x:.2f}' for x in tiles)}  bare {' '.join(f'{x:.2f}' for x in bare_tmux)}")
        cli, tui = (statistics.median(import_seconds(m) for _ in range(n)) for m in ("kpconsole.cli", "kpconsole.tui.app"))
        print(f"  where a start goes: spawn → kpconsole.cli imported {cli:.3f}s;  spawn → kpconsole.tui.app imported "
              f"{tui:.3f}s (medians of {n})")
        if args.no_keys:
            return

        idle = key_latencies(session.ws.root, events, args.keys, users)
        job_id, what = start_load_job(session, record)
        time.sleep(2.0)  # let the job get going
        busy = key_latencies(session.ws.root, events, args.keys, users)
        job = jobs.show_job(session, job_id)
        still = "still running at the end" if job.active else f"{job.status} before the end"
        if job.active:
            jobs.cancel_job(session, job_id, wait=True)
        print(f"key-to-repaint on the events table, {args.keys} keys (PageDown, PageDown, Down, …), ms:")
        print(f"  with a job running [{what}; {still}]: p50 {pct(busy, 50):.1f}  p95 {pct(busy, 95):.1f}  "
              f"max {max(busy):.1f}  (target p95 ≤ {KEY_P95_TARGET_MS:.0f} ms {verdict(pct(busy, 95) <= KEY_P95_TARGET_MS)})")
        print(f"  idle (reference):                     p50 {pct(idle, 50):.1f}  p95 {pct(idle, 95):.1f}  "
              f"max {max(idle):.1f}")
        print(f"  ratio p95 busy/idle {pct(busy, 95) / pct(idle, 95):.2f}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
