"""The detached runner's entry point: ``python -m kpconsole.jobs.run ID --workspace WS [--resume]``.

The same as the hidden ``kpconsole jobs _run ID``, without loading every CLI module first: a job
process imports only the job machinery and the module that registers its kind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpconsole import exit_codes
from kpconsole.errors import USER_ERRORS
from kpconsole.jobs import runner

ENTRY = "kpconsole.jobs.run"


def main(argv: list[str]) -> int:
    """Run one claimed job; user errors are one line on stderr (the job's log)."""
    parser = argparse.ArgumentParser(prog=f"python -m {ENTRY}")
    parser.add_argument("job_id", type=int)
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    try:
        return runner.run_detached(args.workspace, args.job_id, resume=args.resume)
    except USER_ERRORS as exc:
        sys.stderr.write(f"kpconsole: {(str(exc).splitlines() or [type(exc).__name__])[0]}\n")
        return exit_codes.FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
