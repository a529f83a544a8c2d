"""The detached runner's entry point: ``python -m kpconsole.jobs.run ID --workspace WS [--resume]``.

The same as the hidden ``kpconsole jobs _run ID``, without loading every CLI module first: a job
process imports only the job machinery and the module that registers its kind.

A detached job is batch work on a machine people also work on interactively (the console over
SSH, a shell): it lowers its own CPU priority by :data:`NICENESS` (``$KPCONSOLE_JOB_NICE``, 0 to
keep it), as ``nice`` would, so a training job that takes every core leaves the console's keys
answered at once. Alone on the machine it runs as fast as before — a lower priority only counts
when something else wants the CPU. A job run inline (``--wait`` style, in the caller's process)
keeps the caller's priority.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kpconsole import exit_codes
from kpconsole.errors import USER_ERRORS
from kpconsole.jobs import runner

ENTRY = "kpconsole.jobs.run"
NICENESS = 10  # added to a detached job's niceness (the range is -20 … 19; ``nice`` adds 10 too)
NICE_ENV = "KPCONSOLE_JOB_NICE"


def lower_priority() -> int:
    """Add ``$KPCONSOLE_JOB_NICE`` (default :data:`NICENESS`) to this process's niceness; returns
    the niceness now. A value that is not a whole number 0-19 is refused in one line."""
    raw = os.environ.get(NICE_ENV, str(NICENESS))
    if not raw.strip().isdigit() or int(raw) > 19:
        raise SystemExit(f"kpconsole: ${NICE_ENV}: '{raw}' is not a whole number from 0 to 19")
    return os.nice(int(raw))


def main(argv: list[str]) -> int:
    """Run one claimed job; user errors are one line on stderr (the job's log)."""
    parser = argparse.ArgumentParser(prog=f"python -m {ENTRY}")
    parser.add_argument("job_id", type=int)
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    lower_priority()
    try:
        return runner.run_detached(args.workspace, args.job_id, resume=args.resume)
    except USER_ERRORS as exc:
        sys.stderr.write(f"kpconsole: {(str(exc).splitlines() or [type(exc).__name__])[0]}\n")
        return exit_codes.FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
