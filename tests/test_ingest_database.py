"""Database sources: ``data ingest 'postgresql://…' --query 'SELECT …'`` and ``sqlite:///file.db``,
against a real PostgreSQL server started for these tests (tests/postgres_server.py) and a real
SQLite file. The rows come in batches, map as a file's columns do, append as a file's do, and
the URL's password is never written anywhere nor shown in a message."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE_DATA
from postgres_server import PASSWORD, postgres  # noqa: F401 — the fixture
from store.workspace import Workspace
from test_ingest_errors import assert_refused

EVENTS = SAMPLE_DATA / "platform" / "events.csv"
QUERY = "SELECT uid, course, kind, ts, value, amount FROM platform_events"
MAPPING = ["--map", "user_id=uid", "--map", "item_id=course"]

pytest.importorskip("adbc_driver_sqlite", reason="the database drivers: pip install 'kpconsole[db]'")


def sample_events() -> pl.DataFrame:
    """The sample platform's events, typed as a platform's database would hold them."""
    return (pl.read_csv(EVENTS).rename({"user_id": "uid", "item_id": "course"})
            .with_columns(pl.col("ts").str.to_datetime(), pl.col("amount").cast(pl.Float64)))


@pytest.fixture(scope="module")
def platform_db(postgres):  # noqa: F811
    postgres.load("platform_events", sample_events())
    return postgres


def workspace_bytes(workspace: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(workspace.rglob("*")) if p.is_file())


def dataset_events(workspace: Path, name: str) -> pl.DataFrame:
    ws = Workspace.open(workspace)
    path = ws.conn.execute("SELECT path FROM datasets WHERE name = ?", (name,)).fetchone()[0]
    ws.close()
    return pl.read_parquet(workspace / "data" / path / "events.parquet")


def test_postgres_query_ingests_the_same_events_as_the_file(cli, workspace, platform_db):
    url = platform_db.url()
    result = cli("-w", str(workspace), "data", "ingest", url, "--query", QUERY, *MAPPING, "--name", "pg", "--json")
    assert result.code == 0, result.stderr
    record = result.json()
    assert record["format"] == "database" and record["source"] == platform_db.url("***")
    assert cli("-w", str(workspace), "data", "ingest", str(EVENTS), "--name", "csv").code == 0
    from_db, from_file = dataset_events(workspace, "pg"), dataset_events(workspace, "csv")
    assert from_db.height == from_file.height == 78_707
    key = ["user_id", "item_id", "kind", "ts"]
    assert from_db.sort(key).select(key).equals(from_file.sort(key).select(key))
    assert from_db["amount"].sum() == pytest.approx(from_file["amount"].sum())


def test_a_query_result_is_read_in_batches_not_whole(platform_db, tmp_path, monkeypatch):
    from engine.data import database

    monkeypatch.setattr(database, "BATCH_BYTES", 64 << 10)
    source = database.check_source(platform_db.url(), QUERY)
    result = database.read_query(source, tmp_path / "rows.parquet")
    assert result.rows == 78_707 and result.batches > 10
    assert pl.read_parquet(result.path).height == 78_707
    assert not (tmp_path / "rows.parquet.parts").exists()


def test_append_from_postgres_adds_only_the_new_rows(cli, workspace, platform_db):
    platform_db.execute("CREATE TABLE more_events AS SELECT * FROM platform_events",
                        "INSERT INTO more_events VALUES (99001, 45, 'purchase', '2026-07-01 10:00:00', 1.0, 19.0)")
    base = ["-w", str(workspace), "data", "ingest", platform_db.url()]
    assert cli(*base, "--query", QUERY, *MAPPING, "--name", "pg").code == 0
    result = cli(*base, "--query", QUERY.replace("platform_events", "more_events"), "--name", "pg", "--append",
                 "--json")
    assert result.code == 0, result.stderr
    added = result.json()
    assert (added["version"], added["events_added"], added["duplicates_skipped"], added["users_added"]) == (
        2, 1, 78_707, 1)


def test_the_password_is_written_nowhere_and_shown_nowhere(cli, workspace, platform_db):
    url = platform_db.url()
    assert cli("-w", str(workspace), "data", "ingest", url, "--query", QUERY, *MAPPING, "--name", "pg").code == 0
    failed = cli("-w", str(workspace), "data", "ingest", url, "--query", "SELECT nope FROM platform_events",
                 "--name", "broken")
    assert failed.code == 1 and PASSWORD not in failed.stderr
    audit = cli("-w", str(workspace), "audit", "--json")
    assert PASSWORD not in audit.stdout and platform_db.url("***") in audit.stdout
    assert PASSWORD.encode() not in workspace_bytes(workspace)


def test_a_detached_ingest_refuses_a_password_and_records_none(cli, workspace, platform_db):
    result = cli("-w", str(workspace), "data", "ingest", platform_db.url(), "--query", QUERY, "--name", "pg",
                 "--detach")
    assert result.code == 1 and len(result.stderr.splitlines()) == 1
    assert "PGPASSWORD" in result.stderr and PASSWORD not in result.stderr
    from kpconsole.services.datasets import IngestRequest

    params = IngestRequest(path=None, name="pg", url=platform_db.url(), query=QUERY).as_params()
    assert PASSWORD not in json.dumps(params) and params["url"] == platform_db.url("***")


@pytest.mark.parametrize(("case", "fragments"), [
    ("cannot connect", ("cannot connect", "Connection refused")),
    ("wrong password", ("cannot connect", "password authentication failed")),
    ("query error", ("the query failed", 'column "nope" does not exist')),
    ("columns do not map", ("query: missing required column 'user_id'", "--map user_id=COLUMN")),
])
def test_bad_database_input_is_one_line_and_changes_nothing(cli, workspace, platform_db, case, fragments):
    url, query = platform_db.url(), QUERY
    if case == "cannot connect":
        from postgres_server import _free_port

        url = url.replace(f":{platform_db.port}/", f":{_free_port()}/")
    elif case == "wrong password":
        url = platform_db.url("not-the-password-42")
    elif case == "query error":
        query = "SELECT nope FROM platform_events"
    line = assert_refused(cli, workspace, [url, "--query", query, "--name", "pg"], *fragments)
    assert PASSWORD not in line and "not-the-password-42" not in line and "***" in line


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path) -> Path:
    """A real SQLite file with the sample's first 5,000 events in a table of the app's own names."""
    path = tmp_path / "app.db"
    rows = pl.read_csv(EVENTS, n_rows=5_000).select("user_id", "item_id", "ts", "amount").rows()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE clicks (member INTEGER, lesson INTEGER, at TEXT, paid REAL)")
        conn.executemany("INSERT INTO clicks VALUES (?, ?, ?, ?)", rows)
    conn.close()
    return path


SQLITE_MAP = ["--map", "user_id=member", "--map", "item_id=lesson", "--map", "ts=at", "--map", "amount=paid",
              "--kind", "view"]


def test_sqlite_query_ingests_with_the_mapping_options(cli, workspace, sqlite_db):
    url = f"sqlite:///{sqlite_db}"
    result = cli("-w", str(workspace), "data", "ingest", url, "--query", "SELECT * FROM clicks", *SQLITE_MAP,
                 "--name", "app", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["profile"]["n_events"] == 5_000 and result.json()["profile"]["kinds"] == {"view": 5_000}
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("INSERT INTO clicks VALUES (424242, 1, '2026-08-01T00:00:00', 0)")
    conn.close()
    appended = cli("-w", str(workspace), "data", "ingest", url, "--query", "SELECT * FROM clicks", "--name", "app",
                   "--append", "--json")
    assert appended.code == 0, appended.stderr
    assert (appended.json()["events_added"], appended.json()["duplicates_skipped"]) == (1, 5_000)


@pytest.mark.parametrize(("url", "query", "fragment"), [
    ("sqlite:///{tmp}/none.db", "SELECT * FROM clicks", "no such SQLite file"),
    ("sqlite:///{db}", "SELECT * FROM nowhere", "no such table: nowhere"),
    ("sqlite:///{db}", "SELECT member FROM clicks", "missing required column"),
    ("sqlite:///{db}", "SELECT * FROM clicks WHERE 0", "the query returned no rows"),
])
def test_bad_sqlite_input_is_one_line_and_changes_nothing(cli, workspace, sqlite_db, tmp_path, url, query, fragment):
    url = url.format(tmp=tmp_path, db=sqlite_db)
    assert_refused(cli, workspace, [url, "--query", query, "--name", "app"], fragment)


def test_a_database_source_needs_a_query_and_a_query_needs_a_database(cli, workspace, sqlite_db):
    assert_refused(cli, workspace, [f"sqlite:///{sqlite_db}", "--name", "app"], "--query is needed")
    result = cli("-w", str(workspace), "data", "ingest", str(EVENTS), "--query", "SELECT 1", "--name", "x")
    assert result.code == 2 and "--query reads a database" in result.stderr


def test_a_missing_driver_says_how_to_install_it(cli, workspace, sqlite_db, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "adbc_driver_sqlite.dbapi", None)  # as if the extra were not installed
    assert_refused(cli, workspace, [f"sqlite:///{sqlite_db}", "--query", "SELECT * FROM clicks", "--name", "app"],
                   "needs its ADBC driver: pip install 'kpconsole[db]'")
