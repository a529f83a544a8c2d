"""Ingest of CSV, Parquet and JSON Lines with column mappings into the canonical tables."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from conftest import SAMPLE_DATA
from kpconsole.services import datasets
from kpconsole.session import open_session


def read(workspace, name, table):
    record = datasets.get(open_session(workspace), name)
    return datasets.load(record, table).collect()


def test_csv_with_mapping_declared_kind_and_mixed_iso_timestamps(workspace, tmp_path, cli):
    src = tmp_path / "purchases.csv"
    src.write_text(
        "student,course,date,paid\n"
        "7,100,2024-03-01,49.5\n"
        "7,101,2024-03-02T10:15:00,\n"
        "8,100,2024-03-02 11:00:00.250,19\n"
    )
    result = cli("data", "ingest", str(src), "--name", "p", "-w", str(workspace), "--kind", "purchase",
                 "--map", "user_id=student", "--map", "item_id=course", "--map", "ts=date", "--map", "amount=paid",
                 "--json")
    assert result.code == 0, result.stderr
    record = result.json()
    assert record["profile"]["n_events"] == 3 and record["profile"]["kinds"] == {"purchase": 3}
    events = read(workspace, "p", "events")
    assert events.schema["user_id"] == pl.Int64 and events.schema["ts"] == pl.Datetime("us")
    assert events["ts"].to_list() == [
        dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2, 10, 15), dt.datetime(2024, 3, 2, 11, 0, 0, 250_000)
    ]
    assert events["amount"].to_list() == [49.5, 0.0, 19.0]
    assert events["value"].to_list() == [1.0, 1.0, 1.0]
    users = read(workspace, "p", "users")
    assert users.sort("user_id")["joined_at"].to_list() == [dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2, 11, 0, 0, 250_000)]


def test_epoch_seconds_and_offsets_become_utc(workspace, tmp_path, cli):
    epoch = tmp_path / "e.csv"
    epoch.write_text("user_id,item_id,kind,ts\na,x,view,1700000000\nb,y,like,1700000060.5\n")
    assert cli("data", "ingest", str(epoch), "-n", "e", "-w", str(workspace)).code == 0
    ev = read(workspace, "e", "events")
    assert ev.schema["user_id"] == pl.String
    assert ev["ts"].to_list() == [dt.datetime(2023, 11, 14, 22, 13, 20), dt.datetime(2023, 11, 14, 22, 14, 20, 500_000)]
    offset = tmp_path / "o.jsonl"
    offset.write_text('{"user_id": 1, "item_id": 2, "kind": "view", "ts": "2024-01-01T12:00:00+02:00"}\n'
                      '{"user_id": 1, "item_id": 3, "kind": "view", "ts": "2024-01-01T12:00:00Z"}\n')
    assert cli("data", "ingest", str(offset), "-n", "o", "-w", str(workspace)).code == 0
    assert read(workspace, "o", "events")["ts"].to_list() == [dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 12)]


def test_ids_with_leading_zeros_stay_text(workspace, tmp_path, cli):
    src = tmp_path / "z.csv"
    src.write_text("user_id,item_id,kind,ts\n00004,1,purchase,19970101\n00021,2,purchase,19970102\n")
    assert cli("data", "ingest", str(src), "-n", "z", "-w", str(workspace)).code == 0
    ev = read(workspace, "z", "events")
    assert ev["user_id"].to_list() == ["00004", "00021"]
    assert ev["ts"].to_list() == [dt.datetime(1997, 1, 1), dt.datetime(1997, 1, 2)]


def test_a_text_id_after_many_integer_ids_switches_the_column_to_text(workspace, tmp_path, cli):
    rows = "".join(f"{i},1,view,2024-01-01\n" for i in range(1, 3001)) + "u-9,1,view,2024-01-02\n"
    src = tmp_path / "late.csv"
    src.write_text("user_id,item_id,kind,ts\n" + rows)
    assert cli("data", "ingest", str(src), "-n", "late", "-w", str(workspace)).code == 0
    ev = read(workspace, "late", "events")
    assert ev.schema["user_id"] == pl.String and ev["user_id"][-1] == "u-9" and ev["user_id"][0] == "1"


def test_parquet_input_keeps_types_and_users_items_files_are_joined(workspace, tmp_path, cli):
    events = pl.DataFrame({
        "uid": [1, 2, 2], "iid": [10, 10, 11], "act": ["view", "purchase", "view"],
        "at": [dt.datetime(2025, 5, 1, 8), dt.datetime(2025, 5, 1, 9), dt.datetime(2025, 5, 2)],
        "money": [0.0, 99.0, 0.0],
    })
    events.write_parquet(tmp_path / "ev.parquet")
    (tmp_path / "users.csv").write_text("id,signup,plan,age\n1,2025-01-01,free,31\n2,2025-02-01,pro,40\n")
    (tmp_path / "items.csv").write_text(
        "item_id,kind,creator_id,price,tags,title\n10,course,1,99,python|ml,Intro\n11,article,2,,web,Read me\n"
    )
    result = cli("data", "ingest", str(tmp_path / "ev.parquet"), "-n", "pq", "-w", str(workspace),
                 "--users", str(tmp_path / "users.csv"), "--items", str(tmp_path / "items.csv"),
                 "-m", "user_id=uid", "-m", "item_id=iid", "-m", "kind=act", "-m", "ts=at", "-m", "amount=money",
                 "-m", "users.user_id=id", "-m", "users.joined_at=signup")
    assert result.code == 0, result.stderr
    users = read(workspace, "pq", "users").sort("user_id")
    assert users["plan"].to_list() == ["free", "pro"] and users.schema["age"] == pl.Int64
    assert users["joined_at"].to_list() == [dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)]
    items = read(workspace, "pq", "items").sort("item_id")
    assert items["tags"].to_list() == [["python", "ml"], ["web"]]
    assert items["price"].to_list() == [99.0, None]
    assert items["created_at"].to_list() == [dt.datetime(2025, 5, 1, 8), dt.datetime(2025, 5, 2)]


def test_folder_of_canonical_files_is_ingested_with_show_and_list(workspace, cli):
    result = cli("data", "ingest", str(SAMPLE_DATA / "platform"), "-n", "platform", "-w", str(workspace))
    assert result.code == 0, result.stderr
    truth = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv")
    listing = cli("data", "list", "-w", str(workspace), "--json").json()
    assert [d["name"] for d in listing] == ["platform"]
    assert listing[0]["profile"]["n_events"] == truth.height
    shown = cli("data", "show", "platform", "-w", str(workspace), "--json", "--top", "3").json()
    assert shown["tables"] == {"events": truth.height, "users": 1000, "items": 1838}
    assert shown["profile"]["kinds"]["view"] == truth.filter(pl.col("kind") == "view").height
    assert shown["profile"]["ts_min"].startswith("2026-01-01")
    expected_top = (truth.group_by("item_id").agg(pl.col("user_id").n_unique().alias("users"))
                    .sort(["users", "item_id"], descending=[True, False]).head(3))
    assert [r["item_id"] for r in shown["top_items"]] == expected_top["item_id"].to_list()
    assert [r["users"] for r in shown["top_items"]] == expected_top["users"].to_list()
    human = cli("data", "show", "platform", "-w", str(workspace))
    assert human.code == 0 and "top items" in human.stdout


def test_replace_swaps_the_data_and_removes_the_old_files(workspace, tmp_path, cli):
    a = tmp_path / "a.csv"
    a.write_text("user_id,item_id,kind,ts\n1,1,view,2024-01-01\n")
    b = tmp_path / "b.csv"
    b.write_text("user_id,item_id,kind,ts\n1,1,view,2024-01-01\n2,1,view,2024-01-02\n")
    assert cli("data", "ingest", str(a), "-n", "x", "-w", str(workspace)).code == 0
    old = {p.name for p in (workspace / "data").iterdir()}
    assert cli("data", "ingest", str(b), "-n", "x", "-w", str(workspace), "--replace").code == 0
    new = {p.name for p in (workspace / "data").iterdir()}
    assert len(new) == 1 and new != old
    assert read(workspace, "x", "events").height == 2


def test_ingest_is_audited_with_who_and_parameters(workspace, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 50000 10.0.0.1 22")
    src = tmp_path / "a.csv"
    src.write_text("user_id,item_id,kind,ts\n1,1,view,2024-01-01\n")
    assert cli("data", "ingest", str(src), "-n", "x", "-w", str(workspace)).code == 0
    from store import audit
    entry = audit.entries(open_session(workspace).ws, action="data.ingest")[0]
    assert entry.outcome == "ok" and entry.target == "x" and entry.remote_addr == "203.0.113.9"
    assert entry.params["path"] == str(src) and entry.os_user


def test_delete_removes_catalog_row_and_files(workspace, tmp_path, cli):
    src = tmp_path / "a.csv"
    src.write_text("user_id,item_id,kind,ts\n1,1,view,2024-01-01\n")
    assert cli("data", "ingest", str(src), "-n", "x", "-w", str(workspace)).code == 0
    assert cli("data", "delete", "x", "--yes", "-w", str(workspace)).code == 0
    assert cli("data", "list", "-w", str(workspace), "--json").json() == []
    assert [p for p in (workspace / "data").iterdir()] == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_synth_writes_an_ingestable_folder(tmp_path, workspace, cli, fmt):
    out = tmp_path / "gen"
    result = cli("data", "synth", str(out), "--users", "120", "--days", "20", "--seed", "3", "--format", fmt, "--json")
    assert result.code == 0, result.stderr
    info = result.json()
    assert cli("data", "ingest", str(out), "-n", "gen", "-w", str(workspace)).code == 0
    shown = cli("data", "show", "gen", "-w", str(workspace), "--json").json()
    assert shown["profile"]["n_events"] == info["events"] and shown["profile"]["n_users"] == 120
    assert json.dumps(info["config"])  # the generator's config is reported


def test_a_second_timestamp_format_after_the_sample_is_still_read(workspace, tmp_path, cli):
    rows = "".join(f"1,{i},view,2024-01-01T10:00:00\n" for i in range(1, 3001)) + "1,1,view,2024-01-02T10:00:00.250\n"
    src = tmp_path / "late.csv"
    src.write_text("user_id,item_id,kind,ts\n" + rows)
    assert cli("data", "ingest", str(src), "-n", "late", "-w", str(workspace)).code == 0
    assert read(workspace, "late", "events")["ts"][-1] == dt.datetime(2024, 1, 2, 10, 0, 0, 250_000)


def test_show_keeps_the_top_items_and_later_shows_read_them(workspace, tmp_path, cli, monkeypatch):
    """The first show counts distinct users per item and keeps the top 100 next to the tables;
    a later show answers from them (without reading the events), a wider --top than was kept
    counts again, and a kept file that cannot be read is counted again, not trusted."""
    assert cli("data", "ingest", str(SAMPLE_DATA / "platform"), "-n", "platform", "-w", str(workspace)).code == 0
    session = open_session(workspace)
    first = datasets.show(session, "platform", 5)
    kept = datasets.get(session, "platform").path / "top_items.json"
    assert len(json.loads(kept.read_text())["rows"]) == datasets.KEPT_TOP_ITEMS
    assert datasets.get(session, "platform").content_hash == datasets.catalog.content_hash(kept.parent)

    def no_events(*_):
        raise AssertionError("the events were read again")

    monkeypatch.setattr(datasets, "load", no_events)
    assert datasets.show(session, "platform", 5) == first
    assert datasets.show(session, "platform", 100).top_items[:5] == first.top_items
    monkeypatch.undo()
    wider = datasets.show(session, "platform", 150)
    assert len(wider.top_items) == 150 and wider.top_items[:5] == first.top_items
    kept.write_text("{not json")
    assert datasets.show(session, "platform", 5) == first
    assert len(json.loads(kept.read_text())["rows"]) == datasets.KEPT_TOP_ITEMS
