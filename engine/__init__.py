"""Pure computation for kpconsole: Polars frames and torch tensors in, results out.

The engine never touches SQLite, the terminal, jobs or people. Long work reports progress
and receives cancellation through :mod:`engine.progress`; bad input raises
:class:`engine.errors.EngineError` with a one-line message.
"""
