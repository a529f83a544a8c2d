"""What some recommenders can say beyond their scores, as protocols a model satisfies by having the
methods (after implicit's ``explain`` / ``similar_items``, which not every model can answer).

:mod:`engine.recommend.explain` asks ``isinstance(model, ExactlyExplainable)`` rather than probing
attribute names, so a new model gets exact or tag explanations by implementing one protocol, and a
misspelt method is a type error instead of a silently weaker explanation. Item embeddings are not a
protocol: every :class:`~engine.recommend.base.Recommender` has ``item_embeddings()`` (None where the
algorithm has none).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class ExactlyExplainable(Protocol):
    """A model whose score is a sum over the user's history (item-kNN, EASE, iALS): each history
    item's part of each score is known exactly."""

    def contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_items``: what each item j of ``user``'s history adds to each of ``items``'
        scores (zero off the history)."""
        ...


@runtime_checkable
class FeatureExplainable(Protocol):
    """A model that scores an item partly through its content features (the hybrid model): the part
    of the score each feature carries is exact."""

    #: one name per feature column; tags are named ``tag:<name>``
    feature_names: list[str]

    def feature_contributions(self, user: int, items: torch.Tensor) -> torch.Tensor:
        """``len(items) × n_features``: the part of each of ``items``' scores for ``user`` carried by
        each feature (zero where the item lacks it)."""
        ...

    def item_feature_rows(self, items: torch.Tensor) -> torch.Tensor:
        """The feature rows of ``items``, dense (``len(items) × n_features``)."""
        ...
