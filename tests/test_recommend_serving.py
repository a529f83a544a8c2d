"""Serving one person's list: exclusions and blocked items, cold start, MMR, explanations."""

from __future__ import annotations

import pytest
import torch

from engine.errors import EngineError
from engine.recommend.algorithms import make_model
from engine.recommend.explain import EXACT, POPULAR, SIMILAR, explain
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.mmr import candidate_similarity, mmr_rerank
from engine.recommend.serving import COLD_OVERALL, COLD_SEGMENT, PERSONAL, serve

# 6 users × 6 items in two taste groups: items 0-2 go together, items 3-5 go together.
USERS = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5]
ITEMS = [0, 1, 0, 1, 2, 1, 2, 3, 4, 5, 3, 4, 0]
TRAIN = UserItemMatrix.from_pairs(torch.tensor(USERS), torch.tensor(ITEMS), None, 7, 6)  # user 6: no history


def fitted(algo: str, **params):
    model = make_model(algo, params, "cpu")
    model.fit(TRAIN)
    return model


def test_a_known_user_never_gets_their_own_items_or_blocked_ones():
    served = serve(fitted("itemknn"), 0, 3, blocked=torch.tensor([3]))
    assert served.source == PERSONAL
    assert served.items[0] == 2  # the third item of the user's group
    assert not {0, 1, 3} & set(served.items)


def test_unknown_and_historyless_users_get_the_popular_list_never_an_error():
    model = fitted("itemknn")
    for user in (None, 6):
        served = serve(model, user, 3, with_reasons=True)
        assert served.source == COLD_OVERALL and served.explanation == POPULAR
        assert served.items[:2] == [0, 1]  # 3 users each
        assert served.reasons == [[], [], []]


def test_cold_start_counts_popularity_among_the_segment_when_given():
    served = serve(fitted("itemknn"), None, 2, peers=torch.tensor([3, 4]))
    assert served.source == COLD_SEGMENT
    assert served.items == [3, 4]


def test_k_and_diversity_are_checked():
    model = fitted("pop")
    with pytest.raises(EngineError, match="k must be at least 1"):
        serve(model, 0, 0)
    with pytest.raises(EngineError, match="between 0 and 1"):
        serve(model, 0, 3, diversity=1.5)


def test_mmr_with_zero_lambda_keeps_the_model_order():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1]])
    sim = torch.ones(1, 4, 4)
    assert mmr_rerank(scores, torch.arange(4)[None], sim, 3, 0.0).tolist() == [[0, 1, 2]]


def test_mmr_trades_relevance_for_items_unlike_those_already_picked():
    # candidates 0 and 1 are near duplicates; 2 is different but scored lower
    vectors = torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]])
    candidates = torch.tensor([[0, 1, 2]])
    sim = candidate_similarity(candidates, vectors)
    scores = torch.tensor([[1.0, 0.95, 0.6]])
    assert mmr_rerank(scores, candidates, sim, 2, 0.0).tolist() == [[0, 1]]
    assert mmr_rerank(scores, candidates, sim, 2, 0.5).tolist() == [[0, 2]]


def test_mmr_never_picks_an_empty_slot():
    scores = torch.tensor([[0.5, float("-inf"), 0.2]])
    picks = mmr_rerank(scores, torch.tensor([[4, -1, 7]]), torch.zeros(1, 3, 3), 3, 0.3)
    assert picks.tolist() == [[0, 2, -1]]


def test_diversified_serving_returns_k_distinct_unseen_items():
    served = serve(fitted("als", factors=4, epochs=5, reg=0.1), 0, 4, diversity=0.7)
    assert len(served.items) == len(set(served.items)) == 4
    assert not {0, 1} & set(served.items)


def test_item_knn_explanations_are_exact_shares_of_the_score():
    model = fitted("itemknn")
    kind, reasons = explain(model, 0, torch.tensor([2]))
    assert kind == EXACT
    contributions = model.contributions(0, torch.tensor([2]))[0]
    assert sum(r.weight for r in reasons[0]) == pytest.approx(float(model.score(torch.tensor([0]))[0, 2]), abs=1e-6)
    assert {r.item for r in reasons[0]} == {0, 1}
    assert reasons[0][0].weight == pytest.approx(float(contributions.max()), abs=1e-6)
    assert sum(r.share for r in reasons[0]) == pytest.approx(1.0, abs=1e-9)


def test_ease_explanations_are_exact_too():
    model = fitted("ease", reg=1.0)
    kind, reasons = explain(model, 3, torch.tensor([0, 1]))
    assert kind == EXACT
    score = model.score(torch.tensor([3]))[0]
    for row, item in enumerate((0, 1)):
        total = model.contributions(3, torch.tensor([item]))[0].sum()
        assert float(total) == pytest.approx(float(score[item]), abs=1e-5)
        assert all(r.item in (3, 4, 5) for r in reasons[row])


def test_sampled_factor_models_explain_by_similarity_and_popularity_has_no_personal_reason():
    kind, reasons = explain(fitted("bpr", factors=4, epochs=3), 0, torch.tensor([2, 3]))
    assert kind == SIMILAR and all(r.item in (0, 1) for rs in reasons for r in rs)
    kind, reasons = explain(fitted("pop"), 0, torch.tensor([2]))
    assert kind == POPULAR and reasons == [[]]
