"""kpconsole: the operations console of a knowledge platform.

The only layer that knows people: it loads from the store, calls the engine, saves to the
store and records every change in the audit log. The CLI (:mod:`kpconsole.cli`) and the TUI
(:mod:`kpconsole.tui`) are thin skins over :mod:`kpconsole.services`.
"""

import os

# torch's OpenMP threads spin while they wait by default; on a shared machine (a 2-core box, an
# SSH host where several people run jobs) that made parallel work 2-10x slower. Passive waiting
# has its own cost on an idle machine — waking a sleeping worker for each small operation — so
# small work runs on one thread (engine.threads.threads_for). Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
