"""The workspace: SQLite state (via sqlite-utils) and the artifact files beside it.

Every SQL statement of kpconsole lives in this package. It knows nothing of the engine or of
the console; callers hand it plain values and Polars-written files.
"""
