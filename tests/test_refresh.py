"""``kpconsole refresh``: new rows past the mark are appended, the newest model is updated by a warm
start, the newest segmentation and value fit are rerun, the exports are written; a failed step
exits non-zero with one line, keeps what the earlier steps made and shows in the audit log and
the job list. Against a real SQLite file and a real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE_DATA
from postgres_server import PASSWORD, postgres  # noqa: F401 — the fixture
from store import refresh as marks
from store.workspace import Workspace

pytest.importorskip("adbc_driver_sqlite", reason="the database drivers: pip install 'kpconsole[db]'")
pytestmark = pytest.mark.slow

EVENTS = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv")
CUT = "2026-05-15"
QUERY = "SELECT * FROM events"


def write_sqlite(path: Path, frame: pl.DataFrame) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS events (user_id INTEGER, item_id INTEGER, kind TEXT, ts TEXT, "
                     "value REAL, amount REAL)")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", frame.rows())
    conn.close()


@pytest.fixture
def platform(tmp_path, cli, workspace):
    """A workspace whose dataset came from a SQLite file up to CUT, with a model, a segmentation
    and a value fit; the file then gets the events after CUT."""
    db = tmp_path / "platform.db"
    write_sqlite(db, EVENTS.filter(pl.col("ts") < CUT))
    url = f"sqlite:///{db}"
    w = ["-w", str(workspace)]
    for args in (["data", "ingest", url, "--query", QUERY, "--name", "shop"],
                 ["model", "train", "--data", "shop", "--algo", "als", "--epochs", "2"],
                 ["segment", "run", "--data", "shop", "--method", "rfm"],
                 ["value", "fit", "--data", "shop", "--model", "auto"]):
        result = cli(*w, *args)
        assert result.code == 0, (args, result.stderr)
    write_sqlite(db, EVENTS.filter(pl.col("ts") >= CUT))
    return url, db


def count(workspace: Path, table: str) -> int:
    ws = Workspace.open(workspace)
    n = ws.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    ws.close()
    return n


def test_refresh_appends_past_the_mark_updates_segments_values_and_exports(cli, workspace, platform, tmp_path):
    url, db = platform
    out = tmp_path / "out"
    out.mkdir()
    result = cli("-w", str(workspace), "refresh", "--data", "shop", "--source", url, "--since-column", "ts",
                 "--export", str(out), "--json")
    assert result.code == 0, result.stderr
    steps = {s["step"]: s for s in result.json()["steps"]}
    after = EVENTS.filter(pl.col("ts") >= CUT).height
    assert steps["append"]["events_added"] == after and steps["append"]["version"] == 2
    assert {"update model 1", "segment", "value"} <= set(steps)
    assert (count(workspace, "models"), count(workspace, "segmentations"), count(workspace, "value_fits")) == (2, 2, 2)
    ws = Workspace.open(workspace)
    mark = marks.get_mark(ws, "shop")
    ws.close()
    assert mark.mark == {"type": "text", "value": EVENTS["ts"].max()}
    assert sorted(p.name for p in out.iterdir()) == ["recommendations-2.parquet", "segments.parquet", "value.parquet"]
    assert pl.read_parquet(out / "recommendations-2.parquet").select("user_id").n_unique() > 900
    # the next night: only the one new row past the mark is read
    write_sqlite(db, pl.DataFrame([(1, 45, "view", "2026-06-29T23:30:00", 1.0, 0.0)], schema=EVENTS.schema,
                                  orient="row"))
    again = cli("-w", str(workspace), "refresh", "--data", "shop", "--source", url, "--since-column", "ts",
                "--models", "none", "--json")
    assert again.code == 0, again.stderr
    appended = again.json()["steps"][0]
    assert (appended["events_added"], appended["duplicates"]) == (1, 0)
    nothing = cli("-w", str(workspace), "refresh", "--data", "shop", "--source", url, "--since-column", "ts",
                  "--json")
    assert nothing.code == 0 and nothing.json()["steps"][0]["detail"] == "nothing new past ts"


def test_a_failed_step_is_one_line_keeps_earlier_steps_and_is_audited_and_listed(cli, workspace, platform, tmp_path):
    url, _ = platform
    result = cli("-w", str(workspace), "refresh", "--data", "shop", "--source", url, "--since-column", "ts",
                 "--models", "99")
    assert result.code == 1 and len(result.stderr.splitlines()) == 1
    assert "refresh of 'shop' failed at update model 99" in result.stderr
    shown = cli("-w", str(workspace), "data", "show", "shop", "--json").json()
    assert shown["version"] == 2  # the append before it stays
    jobs = cli("-w", str(workspace), "jobs", "list", "--json").json()
    assert jobs[0]["kind"] == "refresh" and jobs[0]["status"] == "failed" and "update model 99" in jobs[0]["error"]
    audit = cli("-w", str(workspace), "audit", "--action", "refresh.run", "--json").json()
    assert audit[0]["outcome"] == "error" and "update model 99" in audit[0]["detail"]


def test_a_since_column_the_query_lacks_fails_before_anything_changes(cli, workspace, platform):
    url, _ = platform
    result = cli("-w", str(workspace), "refresh", "--data", "shop", "--source", url, "--since-column", "when")
    assert result.code == 1 and "failed at append" in result.stderr and "when" in result.stderr
    assert cli("-w", str(workspace), "data", "show", "shop", "--json").json()["version"] == 1


def test_refresh_from_postgres_never_records_the_password(cli, workspace, postgres):  # noqa: F811
    frame = EVENTS.with_columns(pl.col("ts").str.to_datetime())
    postgres.load("events", frame.filter(pl.col("ts") < pl.lit(CUT).str.to_datetime()))
    w = ["-w", str(workspace)]
    assert cli(*w, "data", "ingest", postgres.url(), "--query", QUERY, "--name", "pg").code == 0
    postgres.execute("INSERT INTO events VALUES (7, 45, 'view', '2026-06-01 10:00:00', 1.0, 0.0)")
    result = cli(*w, "refresh", "--data", "pg", "--source", postgres.url(), "--since-column", "ts", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["steps"][0]["events_added"] == 1
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in workspace.rglob("*") if p.is_file())
