"""kpconsole: the operations console of a knowledge platform.

The only layer that knows people: it loads from the store, calls the engine, saves to the
store and records every change in the audit log. The CLI (:mod:`kpconsole.cli`) and the TUI
(:mod:`kpconsole.tui`) are thin skins over :mod:`kpconsole.services`.
"""

__version__ = "0.1.0"
