"""The tables of ``state.db`` that the store writes, each with its JSON columns declared once.

A :class:`Table` turns the values of its JSON columns into JSON text on the way in and parses
them on the way out, so no module serialises or parses a column itself. Its writes go through
sqlite-utils' Table API (:attr:`Workspace.db`) and are refused outside
:meth:`Workspace.transaction`: inside it, sqlite-utils wraps each write in a SAVEPOINT of the
open transaction (its ``atomic()``), so nothing commits before the transaction does and a
failure anywhere in it leaves every table as it was. Reads stay on plain sqlite3
(:meth:`Workspace.query`, which does not load sqlite-utils) and pass their rows to
:meth:`Table.decode`.

>>> Table("demo", ("params",)).encode({"id": 1, "params": {"k": 10}, "note": None})
{'id': 1, 'params': '{"k": 10}', 'note': None}
>>> Table("demo", ("params",)).decode({"id": 1, "params": '{"k": 10}'})
{'id': 1, 'params': {'k': 10}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

    from store.workspace import Workspace


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text, anything JSON cannot hold (a path, a date) as its ``str``; None
    stays None (SQL NULL)."""
    return None if value is None else json.dumps(value, default=str)


@dataclass(frozen=True)
class Table:
    """A table's ``name`` and which of its columns hold JSON."""

    name: str
    json_columns: tuple[str, ...] = ()

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` ready to write: the JSON columns' values as JSON text (None stays NULL)."""
        return {k: _json_text(v) if k in self.json_columns else v for k, v in values.items()}

    def decode(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row read back with the JSON columns it holds parsed (NULL stays None)."""
        return {k: json.loads(v) if k in self.json_columns and v is not None else v for k, v in row.items()}

    def rows(self, ws: Workspace, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a SELECT on this table (plain sqlite3, :meth:`Workspace.query`), decoded."""
        return [self.decode(row) for row in ws.query(sql, params)]

    def _table(self, ws: Workspace) -> sqlite_utils.db.Table:
        if not ws.conn.in_transaction:
            raise RuntimeError(f"a write to {self.name} outside Workspace.transaction()")
        return ws.db.table(self.name)

    def insert(self, ws: Workspace, values: Mapping[str, Any]) -> int:
        """Insert one row; returns its rowid (the ``id`` of a table with an integer key)."""
        rowid = self._table(ws).insert(self.encode(values)).last_rowid
        if rowid is None:
            raise RuntimeError(f"the insert into {self.name} made no row")
        return rowid

    def insert_all(self, ws: Workspace, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert many rows (in batches, as sqlite-utils chooses), all with the same columns."""
        self._table(ws).insert_all(self.encode(row) for row in rows)

    def update(self, ws: Workspace, pk: Any, values: Mapping[str, Any]) -> None:
        """Set ``values`` on the row whose primary key is ``pk`` (sqlite-utils' NotFoundError when
        there is none)."""
        self._table(ws).update(pk, self.encode(values))

    def upsert(self, ws: Workspace, values: Mapping[str, Any], *, pk: str) -> None:
        """Insert the row, or set every column of ``values`` on the row with the same ``pk``."""
        self._table(ws).upsert(self.encode(values), pk=pk)

    def delete_where(self, ws: Workspace, where: str, args: Sequence[Any]) -> None:
        """Delete the rows matching the SQL condition ``where`` with parameters ``args``."""
        self._table(ws).delete_where(where, args)


DATASETS = Table("datasets", ("tables", "schema", "profile", "params"))
DATASET_VERSIONS = Table("dataset_versions", ("tables", "profile"))
REFRESH_MARKS = Table("refresh_marks", ("mark",))
JOBS = Table("jobs", ("params", "metrics", "actor"))
AUDIT = Table("audit", ("params",))
MODELS = Table("models", ("params", "interactions", "split", "metrics", "fit", "drift"))
SEGMENTATIONS = Table("segmentations", ("params", "metrics", "model"))
SEGMENTS = Table("segments", ("profile",))
SEGMENT_ASSIGNMENTS = Table("segment_assignments")
VALUE_FITS = Table("value_fits", ("params", "fit", "settings", "results"))
SIM_CALIBRATIONS = Table("sim_calibrations", ("summary",))
SIM_RUNS = Table("sim_runs", ("scenario", "summary"))
SIM_SERIES = Table("sim_series")
ACCESS_GRANTS = Table("access_grants")
SSH_KEYS = Table("ssh_keys")
SSH_TICKETS = Table("ssh_tickets")
