"""Equal scores are ordered the same way every time — by item index, lower first — in every
top-K of the engine: serving, evaluation, item-kNN's neighbours, explanations, MMR, drift."""

from __future__ import annotations

import math

import pytest
import torch

from engine.recommend import evaluate as evaluation
from engine.recommend.algorithms import make_model
from engine.recommend.base import top_k
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.explain import EXACT, explain
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.mmr import mmr_rerank
from engine.recommend.serving import serve
from engine.recommend.update import _spearman


def by_score_then_index(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The reference order: a stable sort keeps equal scores in column order."""
    return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]


def test_top_k_orders_many_equal_scores_by_column():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 3, (64, 5000), generator=g).to(torch.float32)
    scores[:, ::7] = float("-inf")
    for k in (1, 10, 37, 4999, 5000):
        assert torch.equal(top_k(scores, k)[1], by_score_then_index(scores, k)), k


def equal_popularity(n_users: int = 40, n_items: int = 60) -> UserItemMatrix:
    """Every item has exactly 4 users: popularity is one big tie."""
    users = torch.arange(n_items * 4) % n_users
    items = torch.arange(n_items * 4) // 4
    return UserItemMatrix.from_pairs(users, items, None, n_users, n_items)


def test_tied_popularity_lists_are_in_item_order_for_any_k_and_batch(monkeypatch):
    train = equal_popularity()
    model = make_model("pop", {}, "cpu")
    model.fit(train)
    users = torch.arange(train.n_users)
    expected = [[i for i in range(train.n_items) if i not in set(train.row_items(u).tolist())] for u in range(40)]
    for k in (5, 30):
        items, _ = model.recommend(users, k, exclude=train)
        assert items.tolist() == [row[:k] for row in expected]
        assert [serve(model, u, k).items for u in range(3)] == [row[:k] for row in expected[:3]]
    assert serve(model, None, 8).items == list(range(8))  # cold start: the same tie, the same order
    test = UserItemMatrix.from_pairs(users, (users * 7) % train.n_items, None, train.n_users, train.n_items)
    test = test.select(~train.contains(test.rows(), test.indices))
    setup = EvalSetup(train, test, torch.nonzero(test.row_counts() > 0).flatten())
    whole = evaluate(model, setup, [5, 10])
    monkeypatch.setattr(evaluation, "SCORE_BUDGET", 3 * train.n_items)  # 3 users per batch
    assert evaluate(model, setup, [5, 10]) == pytest.approx(whole, rel=1e-12)  # sums in another order


def shared_history() -> UserItemMatrix:
    """User 0 has items 0-19; users 1-5 have items 0-20. Items 0-19 are equally like item 20."""
    users = [0] * 20 + [u for u in range(1, 6) for _ in range(21)]
    items = list(range(20)) + list(range(21)) * 5
    return UserItemMatrix.from_pairs(torch.tensor(users), torch.tensor(items), None, 6, 21)


def test_item_knn_keeps_the_lower_indexed_of_equally_similar_neighbours():
    model = make_model("itemknn", {"neighbors": 3}, "cpu")
    model.fit(shared_history())
    assert model.neighbours.row_items(20).tolist() == [0, 1, 2]


def test_equal_contributions_explain_with_the_lower_indexed_history_items():
    model = make_model("itemknn", {}, "cpu")
    model.fit(shared_history())
    kind, reasons = explain(model, 0, torch.tensor([20]), top=3)
    assert kind == EXACT
    assert [r.item for r in reasons[0]] == [0, 1, 2]
    assert [r.share for r in reasons[0]] == pytest.approx([1 / 20] * 3)
    served = serve(model, 0, 1, with_reasons=True)
    assert served.items == [20] and [r.item for r in served.reasons[0]] == [0, 1, 2]


def test_mmr_gives_an_exact_tie_to_the_lower_item_not_the_earlier_slot():
    # λ = ½; after item 9, slot 1 (item 7: relevance ½, similarity ½ to item 9) and slot 2
    # (item 2: relevance 0, similarity 0) both have MMR value exactly 0.
    scores = torch.tensor([[1.0, 0.5, 0.0]])
    candidates = torch.tensor([[9, 7, 2]])
    similarity = torch.tensor([[[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    assert mmr_rerank(scores, candidates, similarity, 3, 0.5).tolist() == [[0, 2, 1]]


def test_rank_correlation_gives_tied_scores_their_mean_rank():
    a = torch.tensor([[1.0, 1.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    ra, rb = [-1.0, -1.0, 0.5, 1.5], [-1.5, -0.5, 0.5, 1.5]  # mid-ranks minus their mean
    expected = sum(x * y for x, y in zip(ra, rb, strict=True)) / math.sqrt(sum(x * x for x in ra) * sum(y * y for y in rb))
    assert _spearman(a, b).tolist() == pytest.approx([expected, 0.0], abs=1e-12)
    assert _spearman(a.flip(1), b.flip(1)).tolist() == pytest.approx([expected, 0.0], abs=1e-12)
