"""kpconsole: the operations console of a knowledge platform.

The only layer that knows people: it loads from the store, calls the engine, saves to the
store and records every change in the audit log. The CLI (:mod:`kpconsole.cli`) and the TUI
(:mod:`kpconsole.tui`) are thin skins over :mod:`kpconsole.services`.
"""

import os

# torch's OpenMP threads spin while they wait by default; on a shared machine (a 2-core box, an
# SSH host where several people run jobs) that made parallel work up to 10x slower. Passive
# waiting costs nothing measurable when the machine is idle. Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
