"""store/tables.py: each table's JSON columns declared once, and writes through sqlite-utils'
Table API that stay inside the workspace's one transaction (BEGIN IMMEDIATE … COMMIT)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store import models, segments, tables
from store.tables import JOBS, MODELS, REFRESH_MARKS, SEGMENT_ASSIGNMENTS, Table
from store.workspace import Workspace


class Boom(Exception):
    pass


def _job(ws: Workspace, **extra) -> dict:
    return {"kind": "walk", "params": {"steps": 2}, "status": "queued", "started_by": "ann",
            "created_at": ws.now(), **extra}


def _rows(ws: Workspace, table: str) -> list[dict]:
    return ws.query(f"SELECT * FROM {table}")


def _insert(ws: Workspace) -> None:
    JOBS.insert(ws, _job(ws))


def _insert_all(ws: Workspace) -> None:
    JOBS.insert_all(ws, (_job(ws) for _ in range(250)))  # several batches, each a savepoint


def _update(ws: Workspace) -> None:
    JOBS.update(ws, 1, {"message": "changed", "metrics": {"loss": 1.0}})


def _upsert(ws: Workspace) -> None:
    REFRESH_MARKS.upsert(ws, {"dataset_id": 1, "since_column": "ts", "mark": {"type": "int", "value": 9},
                              "source": "s", "updated_at": ws.now()}, pk="dataset_id")


def _delete_where(ws: Workspace) -> None:
    JOBS.delete_where(ws, "id = ?", [1])


WRITES: dict[str, Callable[[Workspace], None]] = {
    "insert": _insert, "insert_all": _insert_all, "update": _update, "upsert": _upsert, "delete_where": _delete_where,
}


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    """A workspace with one job and one dataset (for refresh marks) already committed."""
    opened = Workspace.open(workspace)
    with opened.transaction():
        opened.conn.execute(
            "INSERT INTO datasets (name, format, source, path, content_hash, tables, schema, profile, params,"
            " created_at, created_by) VALUES ('d', 'csv', 's', 'p', 'h', '{}', '{}', '{}', '{}', 't', 'ann')")
        JOBS.insert(opened, _job(opened))
    return opened


@pytest.mark.parametrize("write", WRITES, ids=str)
def test_a_failure_after_a_table_api_write_inside_a_transaction_leaves_every_table_as_it_was(ws, workspace, write):
    before = {name: _rows(ws, name) for name in ("jobs", "refresh_marks")}
    other = Workspace.open(workspace)  # a second connection, as another process would have
    with pytest.raises(Boom):
        with ws.transaction():
            WRITES[write](ws)
            # sqlite-utils saw the open transaction and used a savepoint: nothing was committed
            assert ws.conn.in_transaction
            assert {name: _rows(other, name) for name in before} == before
            raise Boom
    assert not ws.conn.in_transaction
    assert {name: _rows(ws, name) for name in before} == before


@pytest.mark.parametrize("write", WRITES, ids=str)
def test_a_table_api_write_commits_with_the_transaction(ws, workspace, write):
    before = {name: _rows(ws, name) for name in ("jobs", "refresh_marks")}
    with ws.transaction():
        WRITES[write](ws)
    assert {name: _rows(Workspace.open(workspace), name) for name in before} != before


def test_a_table_api_write_outside_a_transaction_is_refused(ws):
    with pytest.raises(RuntimeError, match="outside Workspace.transaction"):
        JOBS.insert(ws, _job(ws))
    assert len(_rows(ws, "jobs")) == 1


def test_a_segmentation_whose_assignments_fail_midway_leaves_no_row_and_no_file(ws):
    """Hundreds of assignments go in many insert_all batches (each a savepoint); a failure after
    some of them leaves no segmentation, no segment, no assignment and no artifact."""

    def assignments() -> Iterator[tuple[str, int]]:
        for user in range(1_000):
            yield str(user), 1
        raise Boom

    with segments.staging_file(ws) as staged:
        staged.write_bytes(b"rows")
        with pytest.raises(Boom):
            segments.register_segmentation(
                ws, staged, dataset="d", dataset_hash="h", method="rfm", params={}, metrics={}, model={},
                as_of="2024-01-01", segments=[{"segment_id": 1, "name": "all", "users": 1_000}],
                assignments=assignments(), created_by="ann")
    for table in ("segmentations", "segments", "segment_assignments"):
        assert _rows(ws, table) == []
    assert list(segments.folder(ws).iterdir()) == []


def test_json_columns_round_trip_and_null_stays_none(ws):
    with models.staging_file(ws) as staged:
        staged.write_bytes(b"weights")
        record = models.register_model(
            ws, staged, algo="pop", params={"k": 10, "where": Path("/data/x")}, dataset="d", dataset_hash="h",
            interactions={"view": 1.0}, split={"method": "random"}, metrics={"ndcg@10": 0.25}, fit={"epochs": []},
            n_users=2, n_items=3, n_train=4, device="cpu", fit_seconds=0.5, created_by="ann")
    assert record.params == {"k": 10, "where": "/data/x"}  # what JSON cannot hold is written as str()
    assert (record.metrics, record.drift) == ({"ndcg@10": 0.25}, None)
    raw = ws.query("SELECT params, drift FROM models")[0]
    assert raw == {"params": '{"k": 10, "where": "/data/x"}', "drift": None}
    assert MODELS.decode(raw) == {"params": record.params, "drift": None}


def test_every_table_of_the_schema_is_declared_once_with_json_columns_it_has(ws):
    declared = [value for value in vars(tables).values() if isinstance(value, Table)]
    names = [table.name for table in declared]
    assert len(names) == len(set(names))
    schema = {row["name"] for row in ws.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(names) == schema - {"schema_migrations"}
    for table in declared:
        columns = {row["name"] for row in ws.query(f"SELECT name FROM pragma_table_info('{table.name}')")}
        assert set(table.json_columns) <= columns, table.name
    assert SEGMENT_ASSIGNMENTS.json_columns == ()
