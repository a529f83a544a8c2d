"""Batch exports (issue 15): every list, segment, customer and daily series to a file, written
atomically, in the format the suffix (or --format) names, with a --json summary."""

from __future__ import annotations

import json

import polars as pl
import pytest

from conftest import SAMPLE_DATA, tree_state
from kpconsole.services import datasets, exports, models, recommend, segments, simulate, value
from kpconsole.services import recommend_batches
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.session import create_session


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A workspace with the sample platform, an iALS model, two segmentations, a value fit and a run."""
    root = tmp_path_factory.mktemp("export") / "ws"
    session = create_session(root)
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    model = models.train(session, TrainRequest(data="platform", algo="als", params={"factors": 16, "epochs": 4},
                                               device="cpu", seed=3))
    lifecycle = segments.run(session, segments.SegmentRequest(data="platform", method="lifecycle"))
    kmeans = segments.run(session, segments.SegmentRequest(data="platform", method="kmeans", k=3, resamples=0,
                                                           device="cpu"))
    fit = value.fit(session, value.ValueRequest(data="platform", model="auto"))
    run = simulate.run_file(session, SAMPLE_DATA / "scenarios" / "baseline.toml", replicates=2, days=6,
                            device="cpu")
    return {"root": root, "session": session, "model": model.id, "lifecycle": lifecycle.id, "kmeans": kmeans.id,
            "fit": fit.id, "run": run.id}


@pytest.fixture
def kp_shop(cli, shop):
    def run(*args: str):
        return cli("--workspace", str(shop["root"]), *args)

    return run


def test_recommend_all_writes_for_every_known_user_the_list_recommend_gives(shop, kp_shop, tmp_path):
    out = tmp_path / "recs.parquet"
    hide = "245"
    result = kp_shop("recommend", "--all", "--model", str(shop["model"]), "-k", "5", "--out", str(out),
                     "--exclude-purchased", "--hide", hide, "--diversity", "0.3", "--explain", "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    rows = pl.read_parquet(out)
    assert summary["path"] == str(out) and summary["rows"] == rows.height and summary["seconds"] >= 0
    assert rows.columns == ["user_id", "rank", "item_id", "score", "reason"]
    loaded = models.load_model(shop["session"], shop["model"], "cpu")
    assert set(rows["user_id"].to_list()) == set(loaded.user_ids.to_list())
    assert 245 not in rows["item_id"].to_list()
    for user in rows["user_id"].unique().sort().to_list()[::97]:
        single = recommend.recommend(shop["session"], shop["model"], str(user), 5, explain=True, diversity=0.3,
                                     exclude_purchased=True, hide=[hide], device="cpu")
        mine = rows.filter(pl.col("user_id") == user).sort("rank")
        assert mine["item_id"].to_list() == [r["item_id"] for r in single.items]
        assert mine["score"].to_list() == pytest.approx([r["score"] for r in single.items], rel=1e-5)
        assert mine["reason"].to_list() == [r["because"] for r in single.items]
        assert mine["rank"].to_list() == list(range(1, len(single.items) + 1))


def test_batching_does_not_change_a_list(shop, tmp_path):
    request = recommend_batches.RecommendationExport(model_id=shop["model"], k=7, device="cpu")
    whole = recommend_batches.export_recommendations(shop["session"], request, exports.export_target(tmp_path / "a.parquet"))
    small = recommend_batches.RecommendationExport(model_id=shop["model"], k=7, device="cpu", batch_size=13)
    recommend_batches.export_recommendations(shop["session"], small, exports.export_target(tmp_path / "b.parquet"))
    a, b = pl.read_parquet(tmp_path / "a.parquet"), pl.read_parquet(tmp_path / "b.parquet")
    assert whole.rows == a.height == b.height
    assert a.drop("score").equals(b.drop("score"))  # the lists; a score may differ in its last bit (BLAS)
    assert a["score"].to_list() == pytest.approx(b["score"].to_list(), rel=1e-5)


def test_users_file_lists_those_users_and_gives_an_unknown_one_the_cold_start_list(shop, kp_shop, tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("user_id\n17\n424242\n")
    out = tmp_path / "some.csv"
    result = kp_shop("recommend", "--users", str(users), "--model", str(shop["model"]), "-k", "3", "--explain",
                     "--out", str(out))
    assert result.code == 0, result.stderr
    rows = pl.read_csv(out)
    assert rows["user_id"].unique().sort().to_list() == [17, 424242]
    cold = recommend.recommend(shop["session"], shop["model"], "424242", 3, explain=True, device="cpu")
    stranger = rows.filter(pl.col("user_id") == 424242)
    assert stranger["item_id"].to_list() == [r["item_id"] for r in cold.items]
    assert set(stranger["reason"].to_list()) == {cold.source}


@pytest.mark.parametrize("name, fmt, read", [
    ("recs.csv", None, pl.read_csv), ("recs.jsonl", None, pl.read_ndjson), ("recs.txt", "csv", pl.read_csv),
    ("recs.out", "jsonl", pl.read_ndjson),
])
def test_the_format_comes_from_the_suffix_or_the_format_option(shop, kp_shop, tmp_path, name, fmt, read):
    out = tmp_path / name
    args = ["recommend", "--all", "--model", str(shop["model"]), "-k", "2", "--out", str(out), "--json"]
    result = kp_shop(*args, *(["--format", fmt] if fmt else []))
    assert result.code == 0, result.stderr
    assert result.json()["format"] == (fmt or name.rsplit(".", 1)[1])
    frame = read(out)
    assert frame.columns == ["user_id", "rank", "item_id", "score"] and frame.height == result.json()["rows"]


@pytest.mark.parametrize("args, words", [
    (["--out", "{tmp}/no/such/folder/recs.parquet"], ["--out", "folder", "does not exist"]),
    (["--out", "{tmp}/recs.xlsx"], ["--out", "'.xlsx'", "names no export format"]),
    (["--out", "{tmp}/recs.parquet", "--format", "xml"], ["--format xml", "unknown export format"]),
    (["--out", "{tmp}/recs.parquet", "--model", "999"], ["no model 999"]),
    (["--out", "{tmp}/recs.parquet", "--hide", "no-such-item"], ["--hide no-such-item", "not among model"]),
    (["--out", "{tmp}/recs.parquet", "--users", "{tmp}/missing.txt"], ["--users", "missing.txt", "no such file"]),
])
def test_bad_export_requests_are_one_line_and_leave_nothing(shop, kp_shop, tmp_path, args, words):
    before = tree_state(shop["root"])
    filled = [a.format(tmp=tmp_path) for a in args]
    model = [] if "--model" in filled else ["--model", str(shop["model"])]
    result = kp_shop("recommend", "--all", *model, *filled)
    assert result.code == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("kpconsole: ")
    for word in words:
        assert word in line
    assert list(tmp_path.iterdir()) == []
    assert tree_state(shop["root"]) == before


def test_a_failed_export_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = exports.export_target(tmp_path / "series.parquet")
    target.path.write_bytes(b"the old export")

    def batches():
        yield pl.DataFrame({"day": [1, 2]})
        raise RuntimeError("the device fell over")

    with pytest.raises(RuntimeError, match="fell over"):
        exports.write_export(target, {"day": pl.Int64}, batches)
    assert target.path.read_bytes() == b"the old export"
    assert [p.name for p in tmp_path.iterdir()] == ["series.parquet"]


def test_segment_export_holds_each_users_segment_and_what_the_method_knows(shop, kp_shop, tmp_path):
    from store import segments as segment_store

    for key, extra in (("lifecycle", "lifecycle_stage"), ("kmeans", "distance")):
        out = tmp_path / f"{key}.parquet"
        result = kp_shop("segment", "export", str(shop[key]), "--out", str(out), "--json")
        assert result.code == 0, result.stderr
        rows = pl.read_parquet(out)
        record = segment_store.get_segmentation(shop["session"].ws, shop[key])
        assert rows.height == record.n_users == result.json()["rows"]
        assert rows.columns[:3] == ["user_id", "segment", "label"] and extra in rows.columns
        for user, segment in rows.select("user_id", "segment").head(20).iter_rows():
            assert segment_store.segment_of_user(shop["session"].ws, record.id, str(user)) == segment
    distance = pl.read_parquet(tmp_path / "kmeans.parquet")["distance"]
    assert distance.min() >= 0 and distance.null_count() == 0
    stages = pl.read_parquet(tmp_path / "lifecycle.parquet")
    assert (stages["lifecycle_stage"] == stages["label"]).all()


def test_value_export_has_p_alive_and_clv_over_the_asked_horizon(shop, kp_shop, tmp_path):
    from store import value as value_store

    record = value_store.get_value_fit(shop["session"].ws, shop["fit"])
    stored = pl.read_parquet(record.artifact_path)
    default, month = tmp_path / "v.csv", tmp_path / "v30.parquet"
    assert kp_shop("value", "export", str(shop["fit"]), "--out", str(default)).code == 0
    assert kp_shop("value", "export", str(shop["fit"]), "--out", str(month), "--horizon", "30").code == 0
    year, thirty = pl.read_csv(default), pl.read_parquet(month)
    assert year.columns == ["user_id", "frequency", "recency", "T", "p_alive", "expected_purchases", "clv",
                            "horizon_days"]
    assert year.height == stored.height == thirty.height
    assert year["expected_purchases"].to_list() == pytest.approx(stored["expected_purchases"].to_list())
    assert (thirty["expected_purchases"] < year["expected_purchases"]).all()
    assert (thirty["clv"] <= year["clv"]).all() and set(thirty["horizon_days"]) == {30.0}
    # recomputed at the fit's own horizon, the scores are the stored ones
    again = exports._rescored(stored, record, float(record.settings["horizon_days"]))
    assert again["expected_purchases"].to_list() == pytest.approx(stored["expected_purchases"].to_list(), rel=1e-9)
    assert again["clv"].to_list() == pytest.approx(stored["clv"].to_list(), rel=1e-9)


def test_sim_show_out_writes_the_daily_series_or_every_replicate(shop, kp_shop, tmp_path):
    from store import simulations as sim_store

    out, each = tmp_path / "series.jsonl", tmp_path / "replicates.csv"
    result = kp_shop("sim", "show", str(shop["run"]), "--out", str(out), "--json")
    assert result.code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    stored = sim_store.run_series(shop["session"].ws, shop["run"])
    assert len(rows) == len(stored) == result.json()["rows"]
    assert set(rows[0]) == {"day", "kpi", "mean", "lower", "upper"}
    assert kp_shop("sim", "show", str(shop["run"]), "--out", str(each), "--replicates", "--metric", "dau").code == 0
    per = pl.read_csv(each)
    assert per.columns == ["day", "kpi", "replicate", "value"] and per.height == 6 * 2
    daily = {r["day"]: r["mean"] for r in stored if r["metric"] == "dau"}
    means = per.group_by("day").agg(pl.col("value").mean()).sort("day")
    assert means["value"].to_list() == pytest.approx([daily[d] for d in means["day"].to_list()])
