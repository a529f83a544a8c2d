"""Read-command start-up: each read-only command and shell completion, next to importing Polars.

Every command in :data:`kpconsole.cli.read_commands.READ_COMMANDS`, and three completions of
ids and names (as bash's completion script asks for them), runs as a fresh process through
the real entry point (the ``kpconsole`` script beside this Python, else ``python -m
kpconsole``) on a demo workspace (``kpconsole demo``, made first and not timed). In the same
run, interleaved with them, the reference: a fresh ``python -c "import polars"``. Wall time,
median of N runs each.

Targets (issue 11): each command ≤ 0.35 s wall on this box and ≤ 1.5 × the Polars import.
``data show``'s first run on a dataset counts its top items (Polars) and keeps them next to the
tables; it is timed too, on its own line, and not judged.

    python bench/cli.py [--runs 5] [--workspace W]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kpconsole.cli.read_commands import FIRST_RUN_ALLOWED, READ_COMMANDS  # noqa: E402

TARGET_S, TARGET_RATIO = 0.35, 1.5


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("kpconsole")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kpconsole"]


def completion_env(env: dict, line: str) -> dict:
    """The environment bash's completion script (``kpconsole --show-completion bash``) sets for ``line``."""
    return {**env, "_KPCONSOLE_COMPLETE": "complete_bash", "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split(" ")) - 1)}


def wall(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode().strip()}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workspace", type=Path, help="An existing demo workspace (default: make one).")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    tmp = None
    workspace = args.workspace
    if workspace is None:
        tmp = Path(tempfile.mkdtemp(prefix="kp-bench-cli-"))
        workspace = tmp / "demo"
        subprocess.run([*entry_point(), "demo", "--workspace", str(workspace), "--reset"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    reference = [sys.executable, "-c", "import polars"]
    try:
        print(f"read commands, fresh processes through {' '.join(entry_point())}, median of {args.runs}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start")
        polars_runs: list[float] = []
        rows, first_runs = [], []
        for words in READ_COMMANDS:
            cmd = [*entry_point(), "--workspace", str(workspace), *words]
            if words in FIRST_RUN_ALLOWED:  # its first run computes what later runs read back
                cold = []
                for _ in range(args.runs):
                    for kept in (workspace / "data").glob("*/top_items.json"):
                        kept.unlink()
                    cold.append(wall(cmd, env))
                first_runs.append((" ".join(words) + " (first run)", statistics.median(cold)))
            runs = []
            for _ in range(args.runs):
                polars_runs.append(wall(reference, env))
                runs.append(wall(cmd, env))
            rows.append((" ".join(words), statistics.median(runs)))
        for line in ("kpconsole model show ", "kpconsole data show ", "kpconsole sim compare "):
            words = line.split(" ")
            completing = completion_env(env, " ".join([words[0], "-w", str(workspace), *words[1:]]))
            runs = []
            for _ in range(args.runs):
                polars_runs.append(wall(reference, env))
                runs.append(wall(entry_point(), completing))
            rows.append((f"complete: {line.strip()} <TAB>", statistics.median(runs)))
        ref = statistics.median(polars_runs)
        print(f"{'command':36s} {'wall s':>7s} {'÷ polars':>9s}  verdict")
        passed = 0
        for name, took in rows:
            ok = took <= TARGET_S and took <= TARGET_RATIO * ref
            passed += ok
            print(f"{name:36s} {took:7.3f} {took / ref:9.2f}  {'PASS' if ok else 'FAIL'}")
        for name, took in first_runs:
            print(f"{name:36s} {took:7.3f} {took / ref:9.2f}  (not judged: counts the top items once and keeps them)")
        print(f"reference: python -c 'import polars' {ref:.3f} s (median of {len(polars_runs)}, interleaved)")
        worst = max(rows, key=lambda r: r[1])
        print(f"{passed}/{len(rows)} within ≤ {TARGET_S} s and ≤ {TARGET_RATIO} × polars; slowest: {worst[0]} "
              f"{worst[1]:.3f} s ({worst[1] / ref:.2f} ×); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
