"""``model update``: warm start from a registered model, drift report, quality of a full retrain."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import torch

from engine.data.synth import SynthConfig, generate
from engine.recommend.algorithms import make_model
from engine.recommend.artifact import load_bundle
from engine.recommend.evaluate import EvalSetup, evaluate
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest, UpdateRequest


def ingest_generated(session, tmp_path, name, data, before_day=None):
    folder = tmp_path / name
    folder.mkdir()
    events = data.events
    if before_day is not None:
        events = events.filter(pl.col("ts") < dt.datetime.combine(data.config.start, dt.time())
                               + dt.timedelta(days=before_day))
    events.write_parquet(folder / "events.parquet")
    data.users.write_parquet(folder / "users.parquet")
    data.items.write_parquet(folder / "items.parquet")
    datasets.ingest(session, IngestRequest(path=folder, name=name))


@pytest.fixture(scope="module")
def generated():
    return generate(SynthConfig(users=600, days=150, seed=3))


def test_a_warm_started_update_is_within_one_percent_of_a_full_retrain(session, tmp_path, generated):
    ingest_generated(session, tmp_path, "early", generated, before_day=100)
    ingest_generated(session, tmp_path, "all", generated)
    parent = models.train(session, TrainRequest(data="early", algo="als", split="temporal", test_ratio=0.2))
    child = models.update(session, UpdateRequest(model_id=parent.id, data="all"))
    assert child.parent_id == parent.id and child.algo == "als"
    assert child.fit["epochs"] == parent.params["epochs"] // 3

    bundle = load_bundle(child.artifact_path, "cpu")
    retrained = make_model("als", parent.params, "cpu")
    retrained.fit(bundle.train)
    setup = EvalSetup(bundle.train, bundle.test, bundle.split.test_users())
    full = evaluate(retrained, setup, [10], beyond_accuracy=False)["ndcg@10"]
    assert child.metrics["ndcg@10"] >= 0.99 * full, (child.metrics["ndcg@10"], full)

    drift = child.drift
    assert drift["new_users"] > 0 and drift["new_items"] > 0
    assert -1.0 <= drift["rank_correlation"] <= 1.0 and 0.0 <= drift["top10_overlap"] <= 1.0
    assert drift["compared_users"] > 0
    change = drift["metrics"]["ndcg@10"]
    assert change["change"] == pytest.approx(change["child"] - change["parent"], abs=1e-12)


def test_the_child_is_never_tested_on_pairs_the_parent_trained_on(session, tmp_path, generated):
    ingest_generated(session, tmp_path, "early", generated, before_day=100)
    ingest_generated(session, tmp_path, "all", generated)
    parent_record = models.train(session, TrainRequest(data="early", algo="itemknn", split="random", seed=9))
    child_record = models.update(session, UpdateRequest(model_id=parent_record.id, data="all"))
    parent, child = load_bundle(parent_record.artifact_path, "cpu"), load_bundle(child_record.artifact_path, "cpu")
    parent_pairs = set(zip(parent.user_ids[parent.train.rows().numpy()].to_list(),
                           parent.item_ids[parent.train.indices.numpy()].to_list(), strict=True))
    child_test = set(zip(child.user_ids[child.test.rows().numpy()].to_list(),
                         child.item_ids[child.test.indices.numpy()].to_list(), strict=True))
    assert child_record.split["moved_to_train"] > 0
    assert not parent_pairs & child_test
    assert torch.equal(child.train.row_counts() + child.test.row_counts(),
                       child.train.union(child.test).row_counts())
