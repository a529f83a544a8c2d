"""Explanations dispatch on what a model can say (the protocols of engine.recommend.capabilities),
not on attribute names: a model exposing only a protocol's methods gets that kind of answer."""

from __future__ import annotations

import torch

from engine.recommend.algorithms import make_model
from engine.recommend.capabilities import ExactlyExplainable, FeatureExplainable
from engine.recommend.explain import EXACT, POPULAR, SIMILAR, TAGS, Reason, explain
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.popularity import Popularity, PopularityParams

# user 0 engaged with items 0, 1 and 2; items 3 and 4 are left to recommend
TRAIN = UserItemMatrix.from_pairs(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 2, 3]), None, 2, 5)


class PlantedContributions(Popularity):
    """A popularity model that also says, exactly, what each history item adds: 0 → 1.0, 1 → 3.0,
    2 → −1.0 (a negative part is never a reason)."""

    def contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        return torch.tensor([1.0, 3.0, -1.0, 0.0, 0.0]).repeat(len(items), 1)


class PlantedTags(Popularity):
    """A popularity model scoring through three features: tag:a (items 0 and 3), tag:b (item 4),
    and a word no history item carries."""

    feature_names = ["tag:a", "tag:b", "word:x"]
    rows = torch.tensor([[1.0, 0, 0], [0, 0, 0], [0, 0, 0], [1.0, 0, 1.0], [0, 1.0, 0]])

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        return self.rows[items] * torch.tensor([2.0, 5.0, 2.0])

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor:
        return self.rows[items]


def fitted(model):
    model.fit(TRAIN)
    return model


def test_the_item_based_and_least_squares_models_are_exactly_explainable_the_sampled_ones_are_not():
    for algo in ("itemknn", "ease", "als"):
        assert isinstance(make_model(algo, {}, "cpu"), ExactlyExplainable), algo
    for algo in ("pop", "bpr", "ncf", "hybrid"):
        assert not isinstance(make_model(algo, {}, "cpu"), ExactlyExplainable), algo
    hybrid = make_model("hybrid", {"epochs": 1, "factors": 4}, "cpu")
    hybrid.fit(TRAIN)  # without item features: no tags, so similarity in its embedding space
    assert isinstance(hybrid, FeatureExplainable)
    assert explain(hybrid, 0, torch.tensor([3]))[0] == SIMILAR


def test_a_model_with_only_the_exact_protocol_is_explained_by_its_positive_contributions():
    model = fitted(PlantedContributions(PopularityParams(), "cpu"))
    assert isinstance(model, ExactlyExplainable) and not isinstance(model, FeatureExplainable)
    kind, reasons = explain(model, 0, torch.tensor([3, 4]))
    assert kind == EXACT
    assert reasons == [[Reason(1, 3.0, 0.75), Reason(0, 1.0, 0.25)]] * 2


def test_a_model_with_only_the_feature_protocol_is_explained_by_the_tags_the_history_shares():
    model = fitted(PlantedTags(PopularityParams(), "cpu"))
    assert isinstance(model, FeatureExplainable) and not isinstance(model, ExactlyExplainable)
    kind, reasons = explain(model, 0, torch.tensor([3, 4]))
    assert kind == TAGS
    # item 3: tag:a carries 2 of its 4 positive points and item 0 carries tag:a; item 4's tag:b
    # is not in the history, so it has no reason
    assert reasons == [[Reason(0, 2.0, 0.5, "a", (0,))], []]


def test_a_model_that_can_say_nothing_personal_is_popular():
    assert explain(fitted(Popularity(PopularityParams(), "cpu")), 0, torch.tensor([3]))[0] == POPULAR
