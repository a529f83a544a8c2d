"""Appending events (issue 15): data ingest --append makes the dataset's next version, all or
nothing; duplicates are skipped and counted; the previous version stays until data prune;
models trained before are stale, and update / segment run see the new version."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_DATA, tree_state
from kpconsole.reads import models as model_reads
from kpconsole.services import datasets, models, segments
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest, UpdateRequest
from store import catalog

HEADER = "user_id,item_id,kind,ts,value,amount\n"
OLD_ROWS = "".join((SAMPLE_DATA / "platform" / "events.csv").read_text().splitlines(keepends=True)[1:41])
NEW_ROWS = ("5001,45,view,2026-07-01T06:11:32,1.0,0.0\n"
            "620,99999,purchase,2026-07-02T06:11:32,1.0,12.5\n"
            "620,45,like,2026-07-02T07:00:00,1.0,0.0\n")


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def state(session) -> tuple:
    """Everything an append may change: files, the catalog row, kept versions, the models."""
    record = catalog.get_dataset(session.ws, "platform") if catalog.dataset_exists(session.ws, "platform") else None
    return (tree_state(session.ws.root), record, catalog.kept_versions(session.ws),
            [m.id for m in model_reads.list_models(session)])


def test_append_adds_new_events_users_and_items_as_the_next_version(platform, kp, tmp_path):
    before = catalog.get_dataset(platform.ws, "platform")
    new = write(tmp_path, "new.csv", HEADER + OLD_ROWS + NEW_ROWS)
    result = kp(["data", "ingest", str(new), "--name", "platform", "--append", "--json"])
    assert result.returncode == 0, result.stderr
    import json

    out = json.loads(result.stdout)
    assert (out["previous_version"], out["version"]) == (1, 2)
    assert (out["events_added"], out["duplicates_skipped"], out["users_added"], out["items_added"]) == (3, 40, 1, 1)
    after = catalog.get_dataset(platform.ws, "platform")
    assert after.content_hash != before.content_hash and after.path != before.path
    assert after.tables["events"] == before.tables["events"] + 3
    assert after.profile["n_users"] == before.profile["n_users"] + 1
    assert after.profile["ts_max"] == "2026-07-02T07:00:00"
    assert after.profile["kinds"]["like"] == before.profile["kinds"]["like"] + 1
    events = datasets.load(after, "events").collect()
    assert events.height == after.tables["events"]
    import pyarrow.parquet as pq

    from engine.data.tabular import EVENTS_COMPRESSION

    codecs = {pq.ParquetFile(path / "events.parquet").metadata.row_group(0).column(0).compression
              for path in (before.path, after.path)}
    assert codecs == {EVENTS_COMPRESSION.upper()}  # an appended version is written as an ingest writes it
    users = datasets.load(after, "users").collect()
    assert 5001 in users["user_id"].to_list() and users["country"].null_count() == 1  # attributes empty for new
    kept = catalog.kept_versions(platform.ws, "platform")
    assert [(v.version, v.content_hash) for v in kept] == [(1, before.content_hash)]
    assert kept[0].path == before.path and (before.path / "events.parquet").exists()
    # the same file again: every event a duplicate, no new version
    again = kp(["data", "ingest", str(new), "--name", "platform", "--append"])
    assert again.returncode == 0, again.stderr
    assert "still version 2: nothing new" in again.stderr and "43 duplicate events skipped" in again.stderr
    assert catalog.get_dataset(platform.ws, "platform") == after


def test_models_trained_before_are_stale_and_update_and_segment_run_see_the_new_version(platform, kp, tmp_path):
    old = models.train(platform, TrainRequest(data="platform", algo="itemknn"))
    first = segments.run(platform, segments.SegmentRequest(data="platform", method="rfm"))
    kp(["data", "ingest", str(write(tmp_path, "new.csv", HEADER + NEW_ROWS)), "--name", "platform", "--append"])
    fresh = model_reads.freshness(platform)[old.id]
    assert fresh.stale and (fresh.trained_version, fresh.version) == (1, 2)
    listed = kp(["model", "list"])
    assert "⚠ stale: data changed (v1 → v2)" in " ".join(listed.stdout.split())
    updated = models.update(platform, UpdateRequest(model_id=old.id, data="platform"))
    assert updated.dataset_hash == catalog.get_dataset(platform.ws, "platform").content_hash
    assert model_reads.freshness(platform)[updated.id].state == model_reads.CURRENT
    assert updated.n_users >= old.n_users
    second = segments.run(platform, segments.SegmentRequest(data="platform", method="rfm"))
    assert second.dataset_hash != first.dataset_hash
    assert kp(["model", "list", "--json"]).returncode == 0


def test_prune_removes_the_kept_versions_and_their_folders(platform, kp, tmp_path):
    model = models.train(platform, TrainRequest(data="platform", algo="pop"))
    first = catalog.get_dataset(platform.ws, "platform")
    kp(["data", "ingest", str(write(tmp_path, "a.csv", HEADER + NEW_ROWS)), "--name", "platform", "--append"])
    second = catalog.get_dataset(platform.ws, "platform")
    more = "5002,46,view,2026-07-03T06:00:00,1.0,0.0\n"
    kp(["data", "ingest", str(write(tmp_path, "b.csv", HEADER + more)), "--name", "platform", "--append"])
    assert [v.version for v in catalog.kept_versions(platform.ws, "platform")] == [1, 2]
    result = kp(["data", "prune", "platform", "--keep", "1", "--yes"])
    assert result.returncode == 0, result.stderr
    assert [v.version for v in catalog.kept_versions(platform.ws, "platform")] == [2]
    assert not first.path.exists() and second.path.exists()
    assert kp(["data", "prune", "--yes"]).returncode == 0
    assert catalog.kept_versions(platform.ws) == [] and not second.path.exists()
    assert catalog.get_dataset(platform.ws, "platform").version == 3
    fresh = model_reads.freshness(platform)[model.id]
    assert fresh.stale and fresh.trained_version is None and fresh.note == "⚠ stale: data changed (now v3)"


def test_append_to_a_dataset_that_does_not_exist_is_one_line_and_changes_nothing(session, kp, tmp_path):
    new = write(tmp_path, "new.csv", HEADER + NEW_ROWS)
    before = state(session)
    result = kp(["data", "ingest", str(new), "--name", "nowhere", "--append"])
    assert result.returncode == 1
    assert result.stderr.strip() == ("kpconsole: dataset 'nowhere' does not exist, so there is nothing to append to "
                                     "(the workspace has none); ingest it first")
    assert state(session) == before


@pytest.mark.parametrize("files, words", [
    # text user IDs where the dataset's are integers
    ({"new.csv": HEADER + "u17,45,view,2026-07-01T06:11:32,1.0,0.0\n"},
     ["new.csv", "field 'user_id'", "'u17' is text here", "events.user_id holds integers"]),
    # a users file with an attribute the dataset's users do not have
    ({"new.csv": HEADER + NEW_ROWS, "users.csv": "user_id,joined_at,plan\n5001,2026-07-01,gold\n620,2026-01-01,x\n"},
     ["users.csv", "field 'plan'", "the dataset's users have no column 'plan'"]),
    # a value that is not a number: the ingest's own validation, with its line
    ({"new.csv": HEADER + "5001,45,view,2026-07-01T06:11:32,lots,0.0\n"},
     ["new.csv", "line 2", "field 'value'", "'lots' is not a number"]),
])
def test_appended_rows_that_disagree_with_the_dataset_are_refused_whole(platform, kp, tmp_path, files, words):
    paths = {name: write(tmp_path, name, text) for name, text in files.items()}
    before = state(platform)
    args = ["data", "ingest", str(paths["new.csv"]), "--name", "platform", "--append"]
    if "users.csv" in paths:
        args += ["--users", str(paths["users.csv"])]
    result = kp(args)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    for word in words:
        assert word in line, line
    assert state(platform) == before
    assert not [p for p in (platform.ws.data_dir).iterdir() if p.name.startswith(".staging")]


def test_append_and_replace_together_is_a_usage_error(platform, kp, tmp_path):
    new = write(tmp_path, "new.csv", HEADER + NEW_ROWS)
    result = kp(["data", "ingest", str(new), "--name", "platform", "--append", "--replace"])
    assert result.returncode == 2 and "--append" in result.stderr


def test_an_append_job_carries_the_append_flag():
    request = IngestRequest(path=SAMPLE_DATA / "platform", name="platform", append=True)
    assert IngestRequest.from_params(request.as_params(), "ingest").append is True
    assert IngestRequest(path=SAMPLE_DATA, name="x").as_params()["append"] is False
