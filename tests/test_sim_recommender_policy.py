"""The simulator's ``model`` policy is built in the engine from a fitted recommender and plain
index arrays (engine.simulate.policies.recommender_policy): rows rank as serving does, users and
items the model never saw fall back, and a stored run's totals aggregate as a result's do."""

from __future__ import annotations

import numpy as np
import torch

from engine.recommend.algorithms import make_model
from engine.recommend.matrix import UserItemMatrix
from engine.simulate.kpis import METRICS, over_run
from engine.simulate.policies import recommender_policy

# the model knows 3 users × 4 items; user 0 has items 0 and 1
TRAIN = UserItemMatrix.from_pairs(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([0, 1, 1, 2, 3]), None, 3, 4)
# the world: users [model user 0, a user the model never saw, model user 2];
# catalog [model item 3, a new item, model items 2, 0, 1]
USERS = np.array([0, -1, 2])
ITEMS = np.array([3, -1, 2, 0, 1])
POPULARITY = np.array([4.0, 0.0, 9.0, 1.0, 2.0])


def test_a_recommender_policy_ranks_known_items_then_the_history_then_unknown_items():
    model = make_model("itemknn", {}, "cpu")
    model.fit(TRAIN)
    spec = recommender_policy(model, TRAIN, USERS, ITEMS, POPULARITY, mmr_lambda=0.5, label="model 1 (itemknn)")
    assert (spec.kind, spec.mmr_lambda, spec.label) == ("model", 0.5, "model 1 (itemknn)")
    assert spec.item_vectors is None  # item-kNN has no embeddings: MMR uses the catalog's vectors
    scores = spec.scores(0, 3)
    served = model.score(torch.tensor([0]))[0].numpy()
    user0 = scores[0]
    assert user0[0] == served[3] and user0[2] == served[2]  # items 3 and 2: the model's own scores
    history, new = user0[[3, 4]], user0[1]
    assert history.max() < user0[[0, 2]].min() and new < history.min()
    np.testing.assert_allclose(scores[1], np.log1p(POPULARITY))  # the unknown user: popularity


def test_a_factor_model_policy_carries_its_item_embeddings_zero_for_unknown_items():
    model = make_model("als", {"factors": 2, "epochs": 2}, "cpu")
    model.fit(TRAIN)
    spec = recommender_policy(model, TRAIN, USERS, ITEMS, POPULARITY)
    emb = model.item_embeddings().numpy()
    np.testing.assert_allclose(spec.item_vectors[[0, 2, 3, 4]], emb[[3, 2, 0, 1]])
    assert not spec.item_vectors[1].any()


def test_run_totals_aggregate_each_metric_as_it_is_declared():
    series = np.array([[1.0, 2.0], [3.0, 6.0]])  # 2 days × 2 replicates
    expected = {"sum": [4.0, 8.0], "mean": [2.0, 4.0], "last": [3.0, 6.0]}
    for name, (how, _) in METRICS.items():
        assert over_run(name, series).tolist() == expected[how], name
