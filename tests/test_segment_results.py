"""A segmentation's results are typed: the engine returns SegmentationMetrics and a model per method,
the console stores their as_dict() (the stored JSON keeps its shape), reads them back with
from_dict(), and validates methods against the engine's one table of them."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_DATA
from engine.data.synth import SynthConfig, generate
from engine.segment.metrics import ClusterMetrics, InterestsSource, SegmentationMetrics, Stability
from engine.segment.run import METHODS, ClusterModel, LifecycleModel, segment_users
from kpconsole.errors import ConsoleError
from kpconsole.reads import segments as segment_reads
from kpconsole.services import datasets, segments
from kpconsole.services.datasets import IngestRequest

DATA = generate(SynthConfig(users=200, days=60, seed=3))


def test_every_method_is_one_row_of_the_engine_table_and_the_console_refuses_others():
    assert set(METHODS) == {"rfm", "lifecycle", "kmeans", "gmm"}
    with pytest.raises(ConsoleError, match="unknown method 'dbscan'"):
        segments.SegmentRequest(data="platform", method="dbscan")


def test_each_method_returns_its_typed_metrics_and_model_stored_in_the_old_shape():
    rfm = segment_users(DATA.events.lazy(), DATA.users.lazy(), method="rfm")
    assert rfm.model is None and rfm.model_dict() == {}
    assert rfm.metrics.clusters is None and rfm.metrics.paying_users is not None
    assert list(rfm.metrics.as_dict()) == ["users", "paying_users"]

    stages = segment_users(DATA.events.lazy(), DATA.users.lazy(), method="lifecycle")
    assert isinstance(stages.model, LifecycleModel)
    assert list(stages.model_dict()) == ["thresholds"] and list(stages.metrics.as_dict()) == ["users"]

    gmm = segment_users(DATA.events.lazy(), method="gmm", k=3, resamples=2, device="cpu")
    assert isinstance(gmm.model, ClusterModel) and len(gmm.model.centers) == 3
    c = gmm.metrics.clusters
    assert c is not None and c.k == 3 and c.k_requested == 3 and c.bic is not None
    assert c.stability is not None and len(c.stability.scores) == 2
    assert list(gmm.metrics.as_dict()) == ["users", "stability", "selection", "k_requested", "k", "bic",
                                           "log_likelihood"]
    assert list(gmm.model_dict()) == ["columns", "mean", "std", "centers", "names"]
    assert SegmentationMetrics.from_dict(gmm.metrics.as_dict()) == gmm.metrics


def test_metrics_round_trip_through_their_stored_dict():
    for metrics in (
        SegmentationMetrics(10),
        SegmentationMetrics(10, paying_users=4, interests=InterestsSource(None, "no factor model yet")),
        SegmentationMetrics(10, clusters=ClusterMetrics(None, [{"k": 2, "silhouette": 0.4}], "auto", 2)),
        SegmentationMetrics(10, clusters=ClusterMetrics(Stability(0.5, [0.4, 0.6], False), [], 3, 3, -1.0, 2.0),
                            interests=InterestsSource(7, None)),
    ):
        assert SegmentationMetrics.from_dict(metrics.as_dict()) == metrics
    stored = SegmentationMetrics(10, clusters=ClusterMetrics(Stability(0.9, [0.9], True), [], 2, 2)).as_dict()
    assert stored["stability"] == {"mean_ari": 0.9, "scores": [0.9], "stable": True, "flag_below": 0.75}


def test_a_stored_segmentation_reads_back_as_typed_metrics(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    record = segments.run(session, segments.SegmentRequest(data="platform", method="kmeans", k=3, resamples=2))
    metrics = segment_reads.show(session, record.id).metrics
    assert metrics == segment_reads.metrics(record) and metrics.as_dict() == record.metrics
    assert metrics.clusters is not None and metrics.clusters.stability is not None
    assert metrics.clusters.stability.mean_ari == record.metrics["stability"]["mean_ari"]
    assert metrics.interests == InterestsSource(None, record.metrics["interests_note"])
