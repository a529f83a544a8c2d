"""Item features are a function of the data: words of equal weight at the per-item cap are kept
by name, not by the order a group-by happened to leave them in."""

import numpy as np
import polars as pl

from engine.recommend.features import build_item_features

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
ITEM_WORDS = [[WORDS[(k + j) % 7] for j in range(5)] for k in range(7)]  # each word in 5 of the 7 items


def _features(order: np.ndarray):
    # every word is as frequent as every other, once per title: a cap of 2 words per item breaks ties
    items = pl.DataFrame({"item_id": np.arange(7), "title": [" ".join(w) for w in ITEM_WORDS]})[order.tolist()]
    return build_item_features(pl.Series("item_id", np.arange(7)), items, words_per_item=2, max_df=1.0)


def _words(features, row: int) -> list[str]:
    return sorted(features.names[c] for c in features.matrix[row].indices if features.names[c].startswith("word:"))


def test_the_same_items_in_any_order_give_the_same_features():
    first = _features(np.arange(7))
    assert first.matrix.nnz > 0
    for seed in range(8):
        again = _features(np.random.default_rng(seed).permutation(7))
        assert again.names == first.names
        assert (again.matrix != first.matrix).nnz == 0


def test_ties_at_the_cap_keep_the_alphabetically_first_words():
    kept = _features(np.arange(7))
    for row in range(7):
        assert _words(kept, row) == [f"word:{w}" for w in sorted(ITEM_WORDS[row])[:2]]
