"""Ingest speed and memory: kpconsole's validated ingest against a bare Polars copy.

Generates a CSV of N events (default 10 million), then, alternating, in fresh processes:

* reference — ``pl.scan_csv(path).sink_parquet(out)``: Polars reading and writing, nothing else;
* kpconsole — ``data ingest`` through the service layer into a fresh workspace: parsing with
  timestamp detection, validation, derived users/items, content hash, catalog commit, audit.

Prints the median wall time of each, the ratio, and each one's peak RSS; then the median CPU
time (user + system) of each and its ratio, which other work on a shared machine disturbs less
than the wall time. Targets (issue 2): wall-time ratio ≤ 1.2, peak RSS ≤ 2 GB.

    python bench/ingest.py [--events 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

REFERENCE = """
import polars as pl, sys
pl.scan_csv(sys.argv[1]).sink_parquet(sys.argv[2])
"""

KPCONSOLE = """
import sys
from pathlib import Path
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import create_session
session = create_session(Path(sys.argv[2]))
datasets.ingest(session, IngestRequest(path=Path(sys.argv[1]), name="bench"))
"""


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    kinds = np.array(["view", "like", "favorite", "comment", "purchase"])
    kind = kinds[rng.choice(5, size=n, p=[0.7, 0.12, 0.08, 0.06, 0.04])]
    amount = np.where(kind == "purchase", np.round(rng.choice([9.9, 19.9, 49.0, 99.0], size=n), 2), 0.0)
    frame = pl.DataFrame({
        "user_id": rng.integers(1, 200_001, size=n),
        "item_id": rng.integers(1, 20_001, size=n),
        "kind": kind,
        "ts": np.sort(1_767_225_600 + rng.integers(0, 180 * 86_400, size=n)),
        "amount": amount,
    }).with_columns(pl.from_epoch("ts").dt.strftime("%Y-%m-%dT%H:%M:%S"))
    frame.write_csv(path)


def run(code: str, *args: str) -> tuple[float, float, float]:
    """Run ``code`` in a fresh interpreter; return (seconds, peak RSS in MiB, CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {code.strip().splitlines()[-1]}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_csv(args.make, args.events)
        return
    work = Path(tempfile.mkdtemp(prefix="kpc-bench-ingest-"))
    try:
        csv = work / "events.csv"
        t0 = time.perf_counter()
        # In a child process: a forked benchmark step would inherit this process's peak RSS.
        subprocess.run([sys.executable, __file__, "--make", str(csv), "--events", str(args.events)], check=True)
        print(f"generated {args.events:,} events: {csv.stat().st_size / 2**20:,.0f} MiB CSV in {time.perf_counter() - t0:.1f} s")
        ref, ours = [], []
        for i in range(args.repeat):
            ref.append(run(REFERENCE, str(csv), str(work / f"ref{i}.parquet")))
            ours.append(run(KPCONSOLE, str(csv), str(work / f"ws{i}")))
            shutil.rmtree(work / f"ws{i}")
            (work / f"ref{i}.parquet").unlink()
        ref_s = statistics.median(s for s, _, _ in ref)
        our_s = statistics.median(s for s, _, _ in ours)
        ref_rss = max(r for _, r, _ in ref)
        our_rss = max(r for _, r, _ in ours)
        ref_cpu = statistics.median(c for _, _, c in ref)
        our_cpu = statistics.median(c for _, _, c in ours)
        print(f"reference  polars scan_csv→sink_parquet  {ref_s:6.2f} s  peak RSS {ref_rss:7,.0f} MiB")
        print(f"kpconsole  data ingest (validated)       {our_s:6.2f} s  peak RSS {our_rss:7,.0f} MiB")
        print(f"ratio kpconsole/reference = {our_s / ref_s:.2f}  (target ≤ 1.2);  "
              f"peak RSS {our_rss / 1024:.2f} GiB (target ≤ 2 GB)")
        print(f"CPU time: reference {ref_cpu:.2f} s, kpconsole {our_cpu:.2f} s, ratio {our_cpu / ref_cpu:.2f}")
        print("runs (s): reference " + " ".join(f"{s:.2f}" for s, _, _ in ref)
              + " | kpconsole " + " ".join(f"{s:.2f}" for s, _, _ in ours))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
