"""The read-only commands that must start in a blink, with the ids of the demo workspace.

``tests/test_fast_reads.py`` checks that none of them imports a heavy module, and
``bench/cli.py`` times each against ``python -c "import polars"``. Ids are those
``kpconsole demo`` makes (models 1–2, segmentations 1–2, value fits 1–2, runs 1–2, jobs 1–2).
"""

from __future__ import annotations

#: Modules a read command never loads: the numerical stack, the console, the SSH server.
HEAVY_MODULES = ("torch", "textual", "polars", "numpy", "scipy", "pandas", "sqlite_utils", "asyncssh")

#: Commands allowed one heavy module the first time only, and why (later runs read what it kept).
FIRST_RUN_ALLOWED = {
    ("data", "show", "platform"): ("polars",),  # top items: distinct users per item, from the events
}

READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("data", "--help"), ("data", "list"), ("data", "show", "platform"),
    ("model", "--help"), ("model", "list"), ("model", "show", "1"), ("model", "compare", "1", "2"),
    ("jobs", "--help"), ("jobs", "list"), ("jobs", "show", "1"), ("jobs", "logs", "1"),
    ("segment", "--help"), ("segment", "list"), ("segment", "show", "1"),
    ("value", "--help"), ("value", "list"), ("value", "show", "1"),
    ("sim", "--help"), ("sim", "list"), ("sim", "list", "--calibrations"), ("sim", "show", "1"),
    ("sim", "compare", "2", "1"),
    ("community", "--help"), ("route", "--help"), ("access", "--help"), ("access", "list"), ("audit",),
)
