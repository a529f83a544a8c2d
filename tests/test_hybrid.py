"""The hybrid recommender: content features, new items scored from them, tag explanations, round trips."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from conftest import SAMPLE_DATA

from engine.errors import EngineError
from engine.progress import Cancelled
from engine.recommend.algorithms import make_model
from engine.recommend.artifact import ModelBundle, load_bundle, save_bundle
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.explain import TAGS, explain
from engine.recommend.features import build_item_features, user_profiles
from engine.recommend.hybrid_als import ALSSolver
from engine.recommend.hybrid_sgd import SGDSolver
from engine.recommend.interactions import build_interactions, default_kinds
from engine.recommend.splits import make_split

FAST = {"epochs": 8, "factors": 32}


@pytest.fixture(scope="module")
def platform():
    events = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv", try_parse_dates=True)
    items = pl.read_csv(SAMPLE_DATA / "platform" / "items.csv", try_parse_dates=True)
    data = build_interactions(events, default_kinds(events["kind"].unique()), None, items)
    return data, items, build_item_features(data.item_ids, items)


@pytest.fixture(scope="module")
def cold(platform):
    data, _, features = platform
    split = make_split(data.matrix, data.pair_ts, "cold-items", test_ratio=0.2)
    model = make_model("hybrid", FAST, "cpu")
    model.item_features = features
    model.fit(split.train)
    return split, model


def test_item_features_are_sparse_blocks_of_unit_norm_times_their_weight(platform):
    data, items, features = platform
    assert features.matrix.shape[0] == data.n_items
    assert set(features.describe()) >= {"tag", "word", "kind", "creator", "price"}
    row = features.matrix[0].toarray()[0]
    tags = features.columns_of("tag")
    assert abs(float((row[tags] ** 2).sum()) ** 0.5 - 1.0) < 1e-5  # the tag block at unit norm, weight 1
    first = items.filter(pl.col("item_id") == data.item_ids[0])
    assert features.names[tags[row[tags].argmax()]] == f"tag:{first['tags'][0]}"


def test_user_profiles_use_only_the_training_history(platform):
    data, _, features = platform
    m = data.matrix
    profiles = user_profiles(m.indptr.numpy(), m.indices.numpy(), features)
    user = 0
    theirs = set(features.matrix[m.row_items(user).numpy()].indices.tolist())
    assert set(profiles[user].indices.tolist()) == theirs


def test_an_item_unseen_in_training_is_scored_from_its_features_and_ranks_for_users_of_its_tags(cold, platform):
    split, model = cold
    _, _, features = platform
    new = split.test.indices[0].item()
    assert split.train.item_counts()[new] == 0
    scores = model.score(torch.arange(split.train.n_users))
    assert torch.isfinite(scores[:, new]).all()
    tag = features.matrix[new].indices[[features.names[j].startswith("tag:") for j in features.matrix[new].indices]][0]
    carriers = torch.from_numpy(features.matrix[:, tag].toarray()[:, 0] > 0)
    has_tag = torch.tensor([bool(carriers[split.train.row_items(u)].any()) for u in range(split.train.n_users)])
    active = split.train.row_counts() > 0
    # users who engaged with the tag rank the new item higher than the users who never did
    assert scores[has_tag & active, new].mean() > scores[~has_tag & active, new].mean()


def test_the_hybrid_beats_popularity_on_the_new_items_of_the_sample_platform(cold):
    split, model = cold
    setup = EvalSetup(split.train, split.test, split.test_users(), blocked=split.blocked_items())
    pop = make_model("pop", {}, "cpu")
    pop.fit(split.train)
    hybrid = evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"]
    popular = evaluate(pop, setup, [10], beyond_accuracy=False)["ndcg@10"]
    assert hybrid > 3 * popular


def test_the_same_seed_gives_the_same_hybrid_and_it_round_trips_through_an_artifact(cold, platform, tmp_path):
    split, model = cold
    data, _, features = platform
    again = make_model("hybrid", FAST, "cpu")
    again.item_features = features
    again.fit(split.train)
    for name, tensor in model.state_dict().items():
        # the same numbers up to float summation order (the CPU's sparse products run on threads)
        assert torch.allclose(tensor.float(), again.state_dict()[name].float(), atol=1e-4), name
    path = tmp_path / "h.pt"
    save_bundle(ModelBundle(model, split, data.user_ids, data.item_ids, data.item_creator, data.creator_ids,
                            data.kinds, data.weights), path)
    loaded = load_bundle(path, "cpu")
    users = torch.tensor([0, 5, 9])
    assert torch.allclose(loaded.model.score(users), model.score(users))
    assert loaded.model.feature_names == features.names


def test_explanations_name_tags_the_user_history_carries(cold, platform):
    split, model = cold
    _, _, features = platform
    user = int(split.test_users()[0])
    items, _ = model.recommend(torch.tensor([user]), 5, exclude=split.train)
    kind, reasons = explain(model, user, items[0])
    assert kind == TAGS and any(reasons)
    history = split.train.row_items(user)
    for row in reasons:
        for reason in row:
            assert features.names[reason.item] == f"tag:{reason.name}" and 0 < reason.share <= 1
            assert reason.via and set(reason.via) <= set(history.tolist())


def test_an_sgd_epoch_takes_users_in_a_seeded_order_with_each_users_pairs_together(platform):
    data, _, features = platform
    model = make_model("hybrid", {**FAST, "solver": "sgd"}, "cpu")
    model.item_features = features
    model.begin(data.matrix, torch.Generator().manual_seed(1))
    sgd = model.solver
    assert isinstance(sgd, SGDSolver)
    order = sgd.pair_order(torch.Generator().manual_seed(7))
    assert sorted(order.tolist()) == list(range(data.matrix.nnz))  # every pair once
    users = sgd.pair_users[order]
    # a mini-batch holds a few users' pairs: each user's pairs form one run
    runs = int((users[1:] != users[:-1]).sum()) + 1
    assert runs == int((data.matrix.row_counts() > 0).sum())
    assert torch.equal(order, sgd.pair_order(torch.Generator().manual_seed(7)))


def test_the_als_solvers_new_item_is_its_content_and_its_score_is_the_sum_of_its_feature_parts(cold):
    split, model = cold
    assert isinstance(model.solver, ALSSolver)
    new = torch.nonzero(split.train.item_counts() == 0).flatten()[:20]
    solver = model.solver
    content = solver.item_feature_rows(new) @ solver.item_weights
    assert torch.allclose(model.item_embeddings()[new], content, atol=1e-6)
    user = int(split.test_users()[0])
    parts = model.feature_contributions(user, new)
    assert torch.allclose(parts.sum(1), model.score(torch.tensor([user]))[0, new], atol=1e-5)


def test_without_features_the_als_solver_is_ials(platform):
    data, _, _ = platform
    assert bool((data.matrix.row_counts() > 0).all()) and bool((data.matrix.item_counts() > 0).all())
    ials = make_model("als", {"epochs": 4, "factors": 16}, "cpu")
    ials.fit(data.matrix)
    plain = make_model("hybrid", {"epochs": 4, "factors": 16, "user_reg": 30.0, "item_reg": 30.0}, "cpu")
    plain.fit(data.matrix)  # no item features: every factor's prior is zero
    users = torch.arange(0, data.n_users, 50)
    assert torch.allclose(plain.score(users), ials.score(users), atol=1e-4)


def test_a_cancelled_als_hybrid_resumes_from_its_checkpoint_to_the_same_weights(cold, platform, tmp_path):
    split, _ = cold
    _, _, features = platform
    params = {**FAST, "epochs": 4}

    def fitted(**kwargs):
        model = make_model("hybrid", params, "cpu")
        model.item_features = features
        model.fit(split.train, **kwargs)
        return model

    def stop_at_2(fraction, message="", metrics=None):
        if message == "epoch 2/4":
            raise Cancelled("stop")

    straight = fitted()
    with pytest.raises(Cancelled):
        fitted(checkpoint_dir=tmp_path, progress=stop_at_2)
    resumed = fitted(checkpoint_dir=tmp_path, resume=True)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


@pytest.mark.parametrize("solver", ["als", "sgd"])
def test_both_solvers_rank_new_items_above_popularity_and_explain_in_tags(solver, cold, platform):
    split, _ = cold
    _, _, features = platform
    model = make_model("hybrid", {**FAST, "solver": solver}, "cpu")
    model.item_features = features
    model.fit(split.train)
    setup = EvalSetup(split.train, split.test, split.test_users(), blocked=split.blocked_items())
    pop = make_model("pop", {}, "cpu")
    pop.fit(split.train)
    assert (evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"]
            > 3 * evaluate(pop, setup, [10], beyond_accuracy=False)["ndcg@10"])
    user = int(split.test_users()[0])
    items, _ = model.recommend(torch.tensor([user]), 5, exclude=split.train)
    assert explain(model, user, items[0])[0] == TAGS


def test_an_unknown_hybrid_solver_is_a_one_line_error():
    with pytest.raises(EngineError, match="hybrid solver 'adam': one of als, sgd"):
        make_model("hybrid", {"solver": "adam"})
