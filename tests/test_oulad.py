"""OULAD as a course platform: the importer against a direct pass over the CSVs, its errors, and
lifecycle stages computed before a cut date that separate later withdrawal with a monotone lift."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections import Counter

import polars as pl
import pytest

from conftest import SHARED_DATA, tree_state
from engine.data.oulad import presentation_start
from engine.errors import DataError
from engine.segment.lifecycle import lifecycle_stages
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest

OULAD = SHARED_DATA / "oulad"
pytestmark = pytest.mark.skipif(not OULAD.exists(), reason="../shared/data/oulad is not there")
ANCHORS = {"2013B": dt.date(2013, 2, 1), "2013J": dt.date(2013, 10, 1), "2014B": dt.date(2014, 2, 1),
           "2014J": dt.date(2014, 10, 1)}


def read(name: str) -> list[dict]:
    with (OULAD / name).open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def oulad(tmp_path_factory):
    """The dataset ingested once for the module (read-only use)."""
    from kpconsole.session import create_session

    session = create_session(tmp_path_factory.mktemp("oulad") / "ws")
    record = datasets.ingest(session, IngestRequest(path=OULAD, name="oulad"))
    return session, record


def test_the_folder_is_recognised_and_mapped_as_the_csvs_say(oulad):
    _, record = oulad
    assert record.format == "oulad"
    info, registration = read("studentInfo.csv"), read("studentRegistration.csv")
    assert record.tables["users"] == len({r["id_student"] for r in info})
    assert record.tables["items"] == len(read("courses.csv")) == 22
    assert record.tables["registrations"] == len(registration)
    kinds = record.profile["kinds"]
    assert kinds["enroll"] == sum(r["date_registration"] != "" for r in registration)
    assert kinds["unenroll"] == sum(r["date_unregistration"] != "" for r in registration)
    events = datasets.load(record, "events").collect()
    row = next(r for r in registration if r["date_unregistration"] != "")
    anchor = dt.datetime.combine(ANCHORS[row["code_presentation"]], dt.time())
    mine = events.filter((pl.col("user_id") == int(row["id_student"]))
                         & (pl.col("item_id") == f"{row['code_module']}-{row['code_presentation']}"))
    stamps = dict(mine.select("kind", "ts").iter_rows())
    assert stamps["enroll"] == anchor + dt.timedelta(days=int(row["date_registration"]))
    assert stamps["unenroll"] == anchor + dt.timedelta(days=int(row["date_unregistration"]))
    outcomes = Counter(datasets.load(record, "registrations").collect()["final_result"].to_list())
    assert outcomes == Counter(r["final_result"] for r in info)


def test_presentation_codes_anchor_on_february_and_october():
    assert {code: presentation_start(code) for code in ANCHORS} == ANCHORS
    with pytest.raises(DataError, match="presentation code '2014X'"):
        presentation_start("2014X")


def copy_oulad(tmp_path):
    folder = tmp_path / "oulad"
    folder.mkdir()
    for name in ("studentInfo.csv", "studentRegistration.csv", "courses.csv", "assessments.csv"):
        shutil.copy(OULAD / name, folder / name)
    return folder


def test_a_bad_cell_names_file_line_and_field_and_leaves_the_workspace_unchanged(session, workspace, tmp_path):
    folder = copy_oulad(tmp_path)
    lines = (folder / "studentRegistration.csv").read_text().splitlines()
    parts = lines[5].split(",")
    parts[3] = '"soon"'
    lines[5] = ",".join(parts)
    (folder / "studentRegistration.csv").write_text("\n".join(lines) + "\n")
    before = tree_state(workspace)
    with pytest.raises(DataError, match=r"studentRegistration.csv: line 6: field 'date_registration': 'soon' is not"):
        datasets.ingest(session, IngestRequest(path=folder, name="broken"))
    assert tree_state(workspace) == before and datasets.list_datasets(session) == []
    (folder / "courses.csv").unlink()
    with pytest.raises(DataError, match="not an OULAD folder: courses.csv is missing"):
        datasets.ingest(session, IngestRequest(path=folder, name="broken"))


def test_clicks_become_daily_view_events_when_the_folder_has_them(session, tmp_path):
    folder = copy_oulad(tmp_path)
    shutil.copy(OULAD / "partial" / "studentVle_subset.csv", folder / "studentVle.csv")
    record = datasets.ingest(session, IngestRequest(path=folder, name="clicks", format="oulad"))
    views = datasets.load(record, "events").filter(pl.col("kind") == "view").collect()
    clicks = read("partial/studentVle_subset.csv")
    per_day = {(r["id_student"], r["date"]) for r in clicks}
    assert views.height == len(per_day)
    assert views["value"].sum() == sum(int(r["sum_click"]) for r in clicks)
    assert views["ts"].min() == dt.datetime(2013, 10, 1) + dt.timedelta(days=min(int(r["date"]) for r in clicks))


@pytest.mark.parametrize("code", ["2013J", "2014B", "2014J"])
def test_lifecycle_before_the_start_separates_later_withdrawal_with_a_monotone_lift(oulad, code):
    """Stages at the presentation's start (registration is the only activity before it) against
    the final result recorded when the presentation ended."""
    _, record = oulad
    cut = dt.datetime.combine(ANCHORS[code], dt.time())
    stages = lifecycle_stages(datasets.load(record, "events"), datasets.load(record, "users"), cut)
    outcome = (datasets.load(record, "registrations").filter(pl.col("code_presentation") == code).collect()
               .join(stages, on="user_id")
               .with_columns((pl.col("final_result") == "Withdrawn").alias("withdrawn"),
                             (pl.col("unregistered_at").is_null() | (pl.col("unregistered_at") >= cut))
                             .alias("enrolled_at_cut")))
    base = outcome["withdrawn"].mean()

    def rates(frame: pl.DataFrame) -> dict[str, float]:
        table = frame.group_by("stage").agg(pl.len(), pl.col("withdrawn").mean()).filter(pl.col("len") >= 100)
        return dict(table.select("stage", "withdrawn").iter_rows())

    everyone = rates(outcome)
    order = ["new", "at_risk", "dormant", "churned"]
    lifts = [everyone[s] / base for s in order]
    assert lifts == sorted(lifts) and lifts[0] < 1 < lifts[-1], dict(zip(order, lifts, strict=True))
    assert lifts[-1] > 2  # a student who unregistered before the start is three times as likely Withdrawn
    # among those still enrolled at the cut — withdrawal still in the future — the order holds
    ahead = rates(outcome.filter("enrolled_at_cut"))
    assert ahead["new"] < ahead["at_risk"] < ahead["dormant"], ahead
