"""``kpconsole segment``: run, list and show with --json, one-line errors that change nothing,
the audit trail, the role check, the job kind, and interests from a CF model."""

from __future__ import annotations

import json

import polars as pl
import pytest

from conftest import SAMPLE_DATA, run_cli, tree_state
from kpconsole.reads import segments as segment_reads
from kpconsole.errors import PermissionDenied
from kpconsole.identity import Actor, Role
from kpconsole.jobs import show_job, start_job
from kpconsole.services import datasets, segments
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session
from store import audit


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def test_rfm_run_list_show_and_user_explanation_by_json(cli, platform, workspace):
    run = cli("segment", "run", "--data", "platform", "--method", "rfm", "--json", "-w", str(workspace))
    assert run.code == 0, run.stderr
    made = json.loads(run.stdout)
    assert made["method"] == "rfm" and made["dataset"] == "platform"
    names = [s["name"] for s in made["segments"]]
    assert "champions" in names and "no_purchase" in names
    assert sum(s["users"] for s in made["segments"]) == made["n_users"]
    assert sum(s["share"] for s in made["segments"]) == pytest.approx(1.0)
    # the revenue shares are what the events say (net money of each segment's users / all)
    events = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv")
    money = events.select("user_id", pl.when(pl.col("kind") == "refund").then(-pl.col("amount"))
                          .when(pl.col("kind").is_in(["purchase", "subscribe", "renew"])).then(pl.col("amount"))
                          .otherwise(0.0).alias("net")).group_by("user_id").agg(pl.col("net").sum())
    per_user = pl.read_parquet(made["artifact_path"]).select("user_id", "segment")
    by_segment = per_user.join(money, on="user_id", how="left").group_by("segment").agg(
        pl.col("net").fill_null(0).clip(0).sum())
    total = float(money["net"].clip(0).sum())
    for s in made["segments"]:
        expected = by_segment.filter(pl.col("segment") == s["name"])["net"].item() / total
        assert s["revenue_share"] == pytest.approx(expected, abs=1e-9), s["name"]

    listed = json.loads(cli("segment", "list", "--json", "-w", str(workspace)).stdout)
    assert [r["id"] for r in listed] == [made["id"]]

    champion = per_user.filter(pl.col("segment") == "champions")["user_id"][0]
    shown = cli("segment", "show", str(made["id"]), "--user", str(champion), "--json", "-w", str(workspace))
    member = json.loads(shown.stdout)["member"]
    assert member["segment"] == "champions"
    assert member["why"][0].startswith("R 5") and "champions: R 5 and F 4–5" in member["why"][-1]


def test_kmeans_show_user_names_the_nearest_centre_and_what_stands_out(platform):
    record = segments.run(platform, segments.SegmentRequest(data="platform", method="kmeans", k=4, resamples=3))
    assert record.metrics["stability"]["mean_ari"] > 0 and len(record.metrics["stability"]["scores"]) == 3
    assert record.metrics["interests_note"].startswith("no factor model")
    per_user = pl.read_parquet(record.artifact_path)
    contributor = per_user.sort("n_answer", descending=True)["user_id"][0]
    member = segment_reads.show(platform, record.id, user=str(contributor)).member
    assert member["why"][0].startswith(f"nearest centre: segment {member['segment_id']}")
    assert any("answers" in line for line in member["why"] if line.startswith("above the average user"))


def test_lifecycle_thresholds_are_parameters_and_are_kept(platform):
    record = segments.run(platform, segments.SegmentRequest(data="platform", method="lifecycle",
                                                            thresholds={"active_days": 7}))
    assert record.model["thresholds"]["active_days"] == 7
    per_user = pl.read_parquet(record.artifact_path)
    active = per_user.filter(pl.col("segment") == "active")
    assert active.height and (active["days_since_last"] <= 7).all()


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "nope", "--method", "rfm"], "no dataset named 'nope'"),
    (["--data", "qc", "--method", "rfm"], "no monetary events"),
    (["--data", "qc", "--method", "kmeans", "--k", "99999"], "k = 99999 is larger than the number of users"),
    (["--data", "qc", "--method", "spectral"], "unknown method 'spectral'"),
    (["--data", "qc", "--method", "kmeans", "--k", "many"], "--k 'many'"),
    (["--data", "qc", "--method", "lifecycle", "--threshold", "soon=3"], "unknown lifecycle threshold(s) soon"),
])
def test_errors_are_one_line_and_leave_the_workspace_unchanged(cli, session, workspace, args, message):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "stackexchange" / "quantumcomputing", name="qc"))
    before = tree_state(workspace)
    result = cli("segment", "run", *args, "-w", str(workspace))
    assert result.code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert tree_state(workspace) == before
    assert segment_reads.list_segmentations(session) == []


def test_a_real_process_prints_one_line_and_exits_1(platform, workspace):
    result = run_cli(["segment", "show", "42"], workspace)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "no segmentation 42" in result.stderr and "Traceback" not in result.stderr


def test_runs_are_audited_and_analysts_are_refused(platform):
    segments.run(platform, segments.SegmentRequest(data="platform", method="rfm"))
    analyst = Session(platform.ws, Actor("ana", Role.ANALYST, "ana"))
    with pytest.raises(PermissionDenied, match="needs the operator role"):
        segments.run(analyst, segments.SegmentRequest(data="platform", method="rfm"))
    rows = [(e.actor, e.action, e.outcome) for e in audit.entries(platform.ws, action="segment.run")]
    assert (platform.actor.name, "segment.run", "ok") in rows and ("ana", "segment.run", "refused") in rows
    assert segment_reads.show(analyst, 1).record.id == 1  # reading needs no role


def test_segment_job_kind_runs_and_names_its_result(platform):
    params = segments.SegmentRequest(data="platform", method="lifecycle").as_params()
    job_id = start_job(platform, "segment", params, detach=False)
    job = show_job(platform, job_id)
    assert job.status == "succeeded" and job.result_kind == "segmentation"
    assert segment_reads.show(platform, int(job.result_id)).record.job_id == job_id


def test_segments_get_interests_from_a_factor_model(platform):
    from kpconsole.services import models
    from kpconsole.services.model_requests import TrainRequest

    model = models.train(platform, TrainRequest(data="platform", algo="als", params={"factors": 8, "epochs": 3},
                                                device="cpu"))
    record = segments.run(platform, segments.SegmentRequest(data="platform", method="kmeans", k=4, resamples=0))
    assert record.metrics["interests_model"] == model.id
    items = pl.read_csv(SAMPLE_DATA / "platform" / "items.csv")
    for seg in segment_reads.show(platform, record.id).segments:
        interests = seg.profile["top_interests"]
        assert len(interests) == 5 and seg.profile["interests_members"] > 0
        lifts = [i["lift"] for i in interests]
        assert lifts == sorted(lifts, reverse=True)
        for i in interests:
            assert items.filter(pl.col("item_id") == i["item_id"])["title"].item() == i["title"]
