"""Reads: what the workspace holds, for any role, without loading the engine.

The read commands (``model list``, ``segment show``, ``sim compare``, …), shell completion and
the console's lists call these modules. Each imports only the store, the standard library and
light modules of kpconsole — never torch, Polars, NumPy or the engine's models — so a read over
SSH or in a script answers in a blink; ``tests/test_fast_reads.py`` checks every read command.
The services (training, segmenting, fitting, simulating) use the same functions.
"""
