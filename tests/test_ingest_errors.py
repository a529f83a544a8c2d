"""Bad input gets a one-line error naming file, line/row, field and reason, a non-zero exit,
and leaves the workspace exactly as it was (the attempt itself is audited as an error)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import STACKEXCHANGE, tree_state
from store import audit
from store.workspace import Workspace

HEADER = "user_id,item_id,kind,ts,amount\n"
GOOD = "1,10,view,2024-01-01T10:00:00,\n2,10,purchase,2024-01-02,9.5\n"


def catalog(workspace: Path) -> list[tuple]:
    ws = Workspace.open(workspace)
    rows = ws.conn.execute("SELECT name, path, content_hash FROM datasets ORDER BY name").fetchall()
    ws.close()
    return rows


def data_listing(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / "data").iterdir())


def assert_refused(cli, workspace: Path, args: list[str], *fragments: str) -> str:
    """Run an ingest that must fail; check the message and that nothing changed."""
    before = (tree_state(workspace), catalog(workspace), data_listing(workspace))
    result = cli("data", "ingest", *args, "-w", str(workspace))
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert (tree_state(workspace), catalog(workspace), data_listing(workspace)) == before
    return lines[0]


def csv_file(tmp_path: Path, text: str | bytes, name: str = "events.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_missing_file(workspace, tmp_path, cli):
    assert_refused(cli, workspace, [str(tmp_path / "nope.csv"), "-n", "x"], "nope.csv", "no such file")


def test_empty_file(workspace, tmp_path, cli):
    assert_refused(cli, workspace, [str(csv_file(tmp_path, "")), "-n", "x"], "events.csv", "file is empty")


def test_header_without_rows(workspace, tmp_path, cli):
    assert_refused(cli, workspace, [str(csv_file(tmp_path, HEADER)), "-n", "x"], "events.csv", "no data rows")


def test_missing_required_column(workspace, tmp_path, cli):
    path = csv_file(tmp_path, "user_id,item_id,kind\n1,2,view\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "events.csv", "missing required column 'ts'",
                   "--map ts=COLUMN")


def test_mapping_to_a_column_that_is_not_there(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD)
    assert_refused(cli, workspace, [str(path), "-n", "x", "--map", "user_id=student"], "--map user_id=student",
                   "no column 'student'")


def test_unknown_field_in_mapping(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD)
    assert_refused(cli, workspace, [str(path), "-n", "x", "--map", "usr=user_id"], "unknown events field 'usr'")


def test_wrong_type_names_line_field_and_value(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,purchase,2024-01-03,abc\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "events.csv: line 4: field 'amount'", "'abc' is not a number")


def test_unparsable_timestamp(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,view,2024-13-45,\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "events.csv: line 4: field 'ts'", "'2024-13-45'",
                   "not a timestamp")


def test_timestamp_in_no_known_format(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,view,yesterday,\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "line 4", "field 'ts'", "'yesterday'")


def test_milliseconds_mistaken_for_seconds_are_caught(workspace, tmp_path, cli):
    path = csv_file(tmp_path, "user_id,item_id,kind,ts\n1,1,view,1700000000000\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "line 2", "outside 1900..2100", "--ts-format epoch_ms")


def test_missing_value_in_required_field(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + ",11,view,2024-01-03,\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "line 4", "field 'user_id'", "missing user_id")


def test_non_utf8_bytes(workspace, tmp_path, cli):
    path = csv_file(tmp_path, (HEADER + GOOD).encode() + b"3,11,view,2024-01-03,\n4,1\xff2,view,2024-01-03,\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "events.csv: line 5", "not UTF-8", "0xff")


def test_ragged_row(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,view,2024-01-03,1,extra,fields\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "events.csv: line 4", "7 fields", "header has 5")


def test_negative_amount(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,purchase,2024-01-03,-5\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "line 4", "field 'amount'", "negative amount '-5'")


def test_kind_that_is_not_a_word(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,Bought It!,2024-01-03,5\n")
    assert_refused(cli, workspace, [str(path), "-n", "x"], "line 4", "field 'kind'", "'Bought It!'")


def test_duplicate_primary_key_in_users(workspace, tmp_path, cli):
    events = csv_file(tmp_path, HEADER + GOOD)
    users = csv_file(tmp_path, "user_id,joined_at\n1,2023-01-01\n2,2023-01-02\n1,2023-01-03\n", "users.csv")
    assert_refused(cli, workspace, [str(events), "-n", "x", "--users", str(users)],
                   "users.csv: line 4: field 'user_id'", "duplicate user_id 1", "first seen at line 2")


def test_event_of_an_unknown_user(workspace, tmp_path, cli):
    events = csv_file(tmp_path, HEADER + GOOD + "9,10,view,2024-01-03,\n")
    users = csv_file(tmp_path, "user_id\n1\n2\n", "users.csv")
    assert_refused(cli, workspace, [str(events), "-n", "x", "--users", str(users)],
                   "events.csv: line 4: field 'user_id'", "'9' is not in users.csv")


def test_negative_price_in_items(workspace, tmp_path, cli):
    events = csv_file(tmp_path, HEADER + GOOD)
    items = csv_file(tmp_path, "item_id,price\n10,-3\n", "items.csv")
    assert_refused(cli, workspace, [str(events), "-n", "x", "--items", str(items)],
                   "items.csv: line 2: field 'price'", "negative price")


def test_name_that_exists_is_refused_without_replace(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD)
    assert cli("data", "ingest", str(path), "-n", "x", "-w", str(workspace)).code == 0
    assert_refused(cli, workspace, [str(path), "-n", "x"], "dataset 'x' already exists", "--replace")


def test_invalid_dataset_name(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD)
    assert_refused(cli, workspace, [str(path), "-n", "../escape"], "invalid dataset name")


def test_failed_replace_keeps_the_old_dataset(workspace, tmp_path, cli):
    good = csv_file(tmp_path, HEADER + GOOD)
    assert cli("data", "ingest", str(good), "-n", "x", "-w", str(workspace)).code == 0
    bad = csv_file(tmp_path, HEADER + GOOD + "3,11,view,never,\n", "bad.csv")
    assert_refused(cli, workspace, [str(bad), "-n", "x", "--replace"], "bad.csv: line 4")
    shown = cli("data", "show", "x", "-w", str(workspace), "--json").json()
    assert shown["profile"]["n_events"] == 2


def test_failed_ingest_is_audited_as_an_error(workspace, tmp_path, cli):
    path = csv_file(tmp_path, HEADER + GOOD + "3,11,view,2024-01-03,-1\n")
    assert cli("data", "ingest", str(path), "-n", "x", "-w", str(workspace)).code == 1
    entry = audit.entries(Workspace.open(workspace), action="data.ingest")[0]
    assert entry.outcome == "error" and "negative amount" in entry.detail


# --- Stack Exchange dumps -------------------------------------------------------------------


@pytest.fixture
def dump(tmp_path) -> Path:
    folder = tmp_path / "dump"
    shutil.copytree(STACKEXCHANGE / "conlang.meta.stackexchange.com", folder)
    return folder


def test_truncated_xml(workspace, dump, cli):
    posts = dump / "Posts.xml"
    posts.write_bytes(posts.read_bytes()[: posts.stat().st_size // 2])
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Posts.xml: line", "truncated or unclosed XML")


ENTITY_BOMB = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE posts [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Title="&d;&d;&d;&d;&d;" />
</posts>
"""

EXTERNAL_ENTITY = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE posts [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Title="&secret;" />
</posts>
"""


def test_entity_bomb_is_refused(workspace, dump, cli):
    (dump / "Posts.xml").write_text(ENTITY_BOMB)
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Posts.xml: line 2", "document type declaration")


def test_external_entity_is_refused(workspace, dump, cli):
    (dump / "Posts.xml").write_text(EXTERNAL_ENTITY)
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Posts.xml: line 2", "document type declaration")


def test_folder_without_posts(workspace, dump, cli):
    (dump / "Posts.xml").unlink()
    assert_refused(cli, workspace, [str(dump), "-n", "se", "--format", "stackexchange"], "Posts.xml is missing")
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Stack Exchange dump", "events.csv")


def test_xml_row_with_a_bad_date(workspace, dump, cli):
    users = dump / "Users.xml"
    text = users.read_text(encoding="utf-8-sig")
    first = text.index('CreationDate="') + len('CreationDate="')
    users.write_text(text[:first] + "someday" + text[first + 23:], encoding="utf-8")
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Users.xml: line 3: field 'CreationDate'", "'someday'")


def test_non_utf8_xml(workspace, dump, cli):
    posts = dump / "Posts.xml"
    data = posts.read_bytes()
    cut = data.index(b"<row", 200)
    posts.write_bytes(data[:cut] + b"<row Id=\"\xff\xfe\" />" + data[cut:])
    assert_refused(cli, workspace, [str(dump), "-n", "se"], "Posts.xml: line", "not UTF-8")


def test_mapping_options_do_not_apply_to_a_dump(workspace, dump, cli):
    assert_refused(cli, workspace, [str(dump), "-n", "se", "--kind", "view"], "do not apply to a Stack Exchange dump")


def test_newer_workspace_refuses_ingest(workspace, tmp_path, cli):
    ws = Workspace.open(workspace)
    ws.conn.execute("PRAGMA user_version = 9999")
    ws.close()
    before = tree_state(workspace)
    result = cli("data", "ingest", str(csv_file(tmp_path, HEADER + GOOD)), "-n", "x", "-w", str(workspace))
    assert result.code == 1 and "newer than this kpconsole" in result.stderr
    assert tree_state(workspace) == before
