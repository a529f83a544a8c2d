"""Segmentation engine: planted segments are recovered, RFM and lifecycle follow their rules,
and the quality figures are the textbook ones."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
import torch

from engine.data.synth import SynthConfig, generate
from engine.errors import EngineError
from engine.segment import lifecycle, rfm
from engine.segment.cluster import cluster_users
from engine.segment.features import standardise, user_features
from engine.segment.gmm import gmm
from engine.segment.kmeans import kmeans
from engine.segment.quality import adjusted_rand_index, bootstrap_stability, silhouette
from engine.segment.run import segment_users

# Planted segments with the confounders switched off that no behaviour clustering can undo:
# everyone was there from day 0 (no one observed for a few days only).
PLANTED = SynthConfig(users=2_000, days=180, existing_share=1.0, seed=7)


@pytest.fixture(scope="module")
def planted():
    data = generate(PLANTED)
    features = user_features(data.events.lazy(), data.users.lazy(), data.items.lazy()).collect()
    truth = data.truth_users.join(features.select("user_id"), on="user_id", how="inner")
    assert truth.height == features.height == PLANTED.users
    return data, features, truth["segment"].to_numpy()


def test_kmeans_recovers_the_planted_segments(planted):
    _, features, truth = planted
    std = standardise(features)
    result = cluster_users(std.matrix, std.columns, method="kmeans", k=4, seed=0, device="cpu", resamples=5)
    assert adjusted_rand_index(truth, result.labels) >= 0.9
    assert result.stability.stable and result.stability.mean_ari > 0.9
    # each planted segment lands in one cluster, and the names say what the clusters do
    names = dict(zip(range(4), result.names, strict=True))
    majority = {seg: np.bincount(result.labels[truth == seg]).argmax() for seg in np.unique(truth)}
    assert len(set(majority.values())) == 4
    assert "answer" in names[majority["contributor"]] or "comment" in names[majority["contributor"]]
    assert "subscri" in names[majority["member"]]
    assert names[majority["casual"]] == "low activity"


def test_gmm_recovers_the_planted_segments(planted):
    _, features, truth = planted
    std = standardise(features)
    result = gmm(std.matrix, 4, seed=0, device="cpu")
    assert result.converged
    assert adjusted_rand_index(truth, result.labels.numpy()) >= 0.9
    assert torch.allclose(result.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_kmeans_is_deterministic_and_finds_lower_inertia_than_a_single_random_start(planted):
    _, features, _ = planted
    x = standardise(features).matrix
    a, b = kmeans(x, 4, seed=3, device="cpu"), kmeans(x, 4, seed=3, device="cpu")
    assert torch.equal(a.labels, b.labels) and a.inertia == b.inertia
    # the inertia is what it claims: the sum of squared distances to the assigned centres
    recomputed = float(((x - a.centers[a.labels]) ** 2).sum())
    assert recomputed == pytest.approx(a.inertia, rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_kmeans_on_cuda_matches_cpu(planted):
    _, features, _ = planted
    x = standardise(features).matrix
    cpu, gpu = kmeans(x, 4, seed=0, device="cpu"), kmeans(x, 4, seed=0, device="cuda")
    assert adjusted_rand_index(cpu.labels.numpy(), gpu.labels.numpy()) > 0.99
    assert gpu.inertia == pytest.approx(cpu.inertia, rel=1e-3)


def test_auto_k_scores_every_candidate_and_keeps_the_best_silhouette(planted):
    _, features, _ = planted
    std = standardise(features)
    result = cluster_users(std.matrix, std.columns, method="kmeans", k="auto", max_k=6, seed=0, device="cpu",
                           resamples=3)
    assert [row["k"] for row in result.selection] == [2, 3, 4, 5, 6]
    eligible = {row["k"]: row["silhouette"] for row in result.selection if "passed_over" not in row}
    assert result.k == max(eligible, key=eligible.get)
    for row in result.selection:  # a k is passed over exactly when a cluster holds under 1 % of the users
        assert ("passed_over" in row) is (row["smallest"] < 0.01 * PLANTED.users)
    assert len(np.unique(result.labels)) == result.k


def test_auto_k_passes_over_candidates_that_split_off_a_few_outliers():
    data = generate(SynthConfig())  # the sample platform: single outliers make k ≥ 7 look good
    std = standardise(user_features(data.events.lazy(), data.users.lazy(), data.items.lazy()).collect())
    result = cluster_users(std.matrix, std.columns, method="kmeans", k="auto", max_k=9, device="cpu", resamples=0)
    passed = [row for row in result.selection if "passed_over" in row]
    assert passed and all(row["smallest"] < 10 for row in passed)
    best_overall = max(result.selection, key=lambda row: row["silhouette"])
    assert "passed_over" in best_overall and result.k == 4
    assert result.stability is None  # no resamples asked for: not measured, not "1.0"


def test_adjusted_rand_index_matches_the_pair_counting_definition():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, 40), rng.integers(0, 4, 40)
    pairs = list(itertools.combinations(range(40), 2))
    same_a = np.array([a[i] == a[j] for i, j in pairs])
    same_b = np.array([b[i] == b[j] for i, j in pairs])
    index = float((same_a & same_b).sum())
    expected = same_a.sum() * same_b.sum() / len(pairs)
    top = (same_a.sum() + same_b.sum()) / 2
    assert adjusted_rand_index(a, b) == pytest.approx((index - expected) / (top - expected))
    assert adjusted_rand_index(a, a) == 1.0


def test_silhouette_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (15, 2)), rng.normal(5, 1, (10, 2)), rng.normal((0, 6), 1, (12, 2))])
    labels = np.repeat([0, 1, 2], [15, 10, 12])
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    s = []
    for i in range(len(x)):
        own = labels == labels[i]
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, labels == c].mean() for c in set(labels.tolist()) - {labels[i]})
        s.append((b - a) / max(a, b))
    ours = silhouette(torch.tensor(x, dtype=torch.float32), torch.tensor(labels))
    assert ours == pytest.approx(float(np.mean(s)), rel=1e-5)


def test_bootstrap_stability_flags_clusters_that_are_not_there():
    rng = np.random.default_rng(2)
    blobs = torch.tensor(np.concatenate([rng.normal(c, 0.3, (100, 2)) for c in (0, 5, 10)]), dtype=torch.float32)
    noise = torch.tensor(rng.normal(0, 1, (300, 2)), dtype=torch.float32)

    def refit(rows, seed):
        model = kmeans(rows, k, seed=seed, device="cpu")
        return lambda q: torch.cdist(q, model.centers).argmin(1)

    for data, k, stable in ((blobs, 3, True), (noise, 6, False)):
        labels = kmeans(data, k, seed=0, device="cpu").labels
        result = bootstrap_stability(data, labels, refit, resamples=8, seed=0)
        assert result.stable is stable, result


def test_rfm_quintiles_are_rank_based_and_ties_share_a_score():
    n = 100
    features = pl.DataFrame({
        "user_id": range(n),
        "recency_days": np.arange(n, dtype=float),  # user 0 bought most recently
        "orders": list(range(41, 1, -1)) + [1] * 60,  # the recent buy often; heavy ties at one order
        "monetary": np.linspace(10, 1000, n),
    })
    scores = rfm.rfm_scores(features)
    assert scores.filter(pl.col("user_id") < 20)["r"].unique().to_list() == [5]
    assert scores.filter(pl.col("user_id") >= 80)["r"].unique().to_list() == [1]
    assert scores.filter(pl.col("user_id") >= 40)["f"].unique().to_list() == [2]  # 60 one-order customers alike
    assert scores["m"].value_counts()["count"].to_list() == [20] * 5
    champions = scores.filter(pl.col("segment") == "champions")
    assert champions.height > 0 and (champions["r"] == 5).all() and champions["f"].is_in([4, 5]).all()
    hibernating = scores.filter(pl.col("segment") == "hibernating")
    assert (hibernating["r"] <= 2).all() and (hibernating["f"] <= 2).all()


def test_rfm_without_money_is_a_one_line_error():
    features = pl.DataFrame({"user_id": [1, 2], "recency_days": [1.0, 2.0], "orders": [0, 0], "monetary": [0.0, 0.0]})
    with pytest.raises(EngineError, match="no monetary events"):
        rfm.rfm_scores(features)


def test_lifecycle_stages_follow_their_documented_thresholds():
    as_of = dt.datetime(2026, 7, 1)
    day = lambda n: as_of - dt.timedelta(days=n)  # noqa: E731
    events = pl.DataFrame({
        "user_id": [1, 2, 3, 4, 5, 5, 6, 6, 7, 7],
        "kind": ["view", "view", "view", "view", "view", "view", "view", "subscribe", "view", "cancel"],
        "ts": [day(5), day(45), day(120), day(400), day(300), day(3), day(200), day(10), day(50), day(20)],
    }).with_columns(pl.col("ts").cast(pl.Datetime("us")))
    users = pl.DataFrame({"user_id": [1, 2, 3, 4, 5, 6, 7, 8],
                          "joined_at": [day(60), day(100), day(200), day(500), day(400), day(250), day(70), day(10)]})
    stages = dict(lifecycle.lifecycle_stages(events.lazy(), users.lazy(), as_of).select("user_id", "stage").iter_rows())
    # 5 and 6 came back after 297 and 190 silent days (a subscribe is activity); 7's last event is a
    # cancellation; 8 joined 10 days ago and has done nothing yet
    assert stages == {1: "active", 2: "at_risk", 3: "dormant", 4: "churned", 5: "reactivated", 6: "reactivated",
                      7: "churned", 8: "new"}


def test_lifecycle_separates_users_who_really_left_on_generated_data():
    data = generate(SynthConfig())
    result = segment_users(data.events.lazy(), data.users.lazy(), method="lifecycle")
    truth = result.users.join(data.truth_users, on="user_id")
    rate = dict(truth.group_by("segment").agg(pl.col("churn_day").is_not_null().mean()).iter_rows())
    assert rate["active"] < rate["at_risk"] < rate["dormant"] < rate["churned"]


def test_segmentation_errors_are_one_line_and_name_the_problem():
    data = generate(SynthConfig(users=60, days=20, seed=1))  # one of the 60 joins after the last event
    with pytest.raises(EngineError, match=r"k = 500 is larger than the number of users \(59\)"):
        segment_users(data.events.lazy(), data.users.lazy(), method="kmeans", k=500)
    with pytest.raises(EngineError, match="unknown segmentation method"):
        segment_users(data.events.lazy(), method="dbscan")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_one_line_error():
    data = generate(SynthConfig(users=60, days=20, seed=1))
    with pytest.raises(EngineError, match="device 'cuda' asked for, but torch sees no CUDA GPU"):
        segment_users(data.events.lazy(), method="kmeans", k=2, device="cuda")
