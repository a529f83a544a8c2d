"""The hybrid recommender's score of (user, question): the router's ``hybrid`` feature.

A new question has no answers yet — exactly the cold item the hybrid recommender
(:mod:`engine.recommend.hybrid`, its default ``als`` solver) scores from content alone. So
:func:`fit_answerer_hybrid` fits it on the answers strictly before a moment: users are the
answerers, items the questions posted before it, one pair per (user answered question), item
features the question's tags and words built by the recommender's own builder
(:func:`engine.recommend.features.build_item_features`: ``tag:T`` ones, ``word:W`` TF-IDF of
the question's tokens — title, tags and, where the dump has them, body). The score of user u
for a question q never seen in training is the hybrid's cold-item score::

    s(u, q) = x_u · (f_q W)

with x_u the user's factor, W the items' feature weights and f_q the question's feature row
in the training feature space (:meth:`AnswererHybrid.feature_rows`: the builder's formula —
each block at unit norm times its weight, words weighted (1 + ln tf) · ln(N / df) — with
N, df and the vocabulary of the training questions, so a question posted later adds nothing
to the statistics it is scored with; every word a question holds is kept, :data:`ALL_WORDS`). A user who never answered before the moment scores 0.

Small, seeded settings (:data:`HYBRID_PARAMS`: 32 factors, 4 sweeps) keep a fit cheap: the
router fits one per training window and one per evaluation cut.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch

from engine.community.route_features import QAPosts, positions
from engine.community.route_text import tokens_expr
from engine.recommend.features import BLOCK_WEIGHTS, build_item_features
from engine.recommend.hybrid import HybridMF, HybridParams
from engine.recommend.matrix import UserItemMatrix

HYBRID_PARAMS = HybridParams(factors=32, epochs=4, seed=0)
#: A question keeps every word of the vocabulary it holds: the builder's per-item cap (24 by
#: default) breaks ties in the order of an unordered group-by, so capped fits differed run to run.
ALL_WORDS = 1 << 30


def _words(tokens: pl.Expr) -> pl.Expr:
    """A question's tokens as the text the builder tokenises (its ``title``)."""
    return tokens.list.join(" ")


@dataclass(frozen=True)
class AnswererHybrid:
    """A hybrid fitted on the answers before ``before``: answerer ids (ascending, the rows of
    ``user_factors``), the feature weights W (features × factors), the feature columns by name
    and the training questions' word statistics (``n_items``, document frequency per word)."""

    before: dt.datetime
    users: np.ndarray
    user_factors: np.ndarray
    feature_weights: np.ndarray
    columns: dict[str, int]
    n_items: int
    df: dict[str, int]

    def feature_rows(self, tag_lists: list[list[str]], tokens: list[list[str]]) -> sp.csr_matrix:
        """Questions × features: each question's row in the training feature space (see the module
        docstring); tags and words the training questions never had drop out. The cells are sorted
        before every sum, so a question's row is the same bits whatever the batch or run."""
        n = len(tag_lists)
        tags = pl.DataFrame({"row": np.arange(n, dtype=np.int64), "value": tag_lists},
                            schema={"row": pl.Int64, "value": pl.List(pl.String)})
        tag_cells = tags.explode("value").drop_nulls("value").unique().with_columns(pl.lit(1.0).alias("w"))
        text = pl.DataFrame({"row": np.arange(n, dtype=np.int64), "tokens": tokens},
                            schema={"row": pl.Int64, "tokens": pl.List(pl.String)})
        idf = pl.DataFrame({"value": list(self.df), "df": list(self.df.values())},
                           schema={"value": pl.String, "df": pl.Float64})
        word_cells = (text.select("row", tokens_expr(_words(pl.col("tokens")), is_html=False).alias("value"))
                      .explode("value").drop_nulls("value").group_by("row", "value").len("tf")
                      .join(idf, on="value", how="inner")
                      .with_columns(((1.0 + pl.col("tf").cast(pl.Float64).log())
                                     * (self.n_items / pl.col("df")).log()).alias("w"))
                      .filter(pl.col("w") > 0).select("row", "value", "w"))
        blocks = [cells.select("row", (pl.lit(f"{block}:") + pl.col("value")).alias("name"), "w",
                               pl.lit(block).alias("block"))
                  for block, cells in (("tag", tag_cells), ("word", word_cells))]
        names = pl.DataFrame({"name": list(self.columns), "col": list(self.columns.values())},
                             schema={"name": pl.String, "col": pl.Int64})
        cells = pl.concat(blocks).join(names, on="name", how="inner").sort("row", "col").with_columns(
            (pl.col("w") / (pl.col("w") ** 2).sum().over("row", "block").sqrt()
             * pl.col("block").replace_strict(BLOCK_WEIGHTS, return_dtype=pl.Float64)).alias("w"))
        return sp.csr_matrix((cells["w"].to_numpy(), (cells["row"].to_numpy(), cells["col"].to_numpy())),
                             shape=(n, len(self.columns)))

    def scores(self, user_ids: np.ndarray, tag_lists: list[list[str]], tokens: list[list[str]]) -> np.ndarray:
        """Questions × ``user_ids``: s(u, q) = x_u · (f_q W), 0 for a user who never answered before."""
        item_vectors = self.feature_rows(tag_lists, tokens) @ self.feature_weights
        out = np.zeros((len(tag_lists), len(user_ids)), dtype=np.float64)
        rows = positions(self.users, np.asarray(user_ids, dtype=np.int64))
        known = np.flatnonzero(rows >= 0)
        # einsum, not BLAS: a question's scores are then the same bits alone or in any batch
        out[:, known] = np.einsum("qf,uf->qu", item_vectors, self.user_factors[rows[known]])
        return out


def fit_answerer_hybrid(posts: QAPosts, before: dt.datetime,
                        params: HybridParams = HYBRID_PARAMS) -> AnswererHybrid | None:
    """The hybrid fitted on the answers strictly before ``before`` (see the module docstring), on
    the CPU; ``None`` when nobody answered before it."""
    questions = posts.questions.filter(pl.col("created_at") < before)
    answers = posts.answers.filter((pl.col("created_at") < before) & pl.col("user_id").is_not_null())
    pairs = answers.join(questions.select("question_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("item")),
                         on="question_id", how="inner").select("user_id", "item").unique()
    if pairs.height == 0:
        return None
    users = np.unique(pairs["user_id"].to_numpy())
    rows = np.searchsorted(users, pairs["user_id"].to_numpy())
    items = questions.select(pl.col("question_id").alias("item_id"), "tags", "created_at",
                             _words(pl.col("tokens")).alias("title"))
    features = build_item_features(questions["question_id"], items, words_per_item=ALL_WORDS)
    model = HybridMF(params, device="cpu")
    model.item_features = features
    model.fit(UserItemMatrix.from_pairs(torch.tensor(rows), torch.tensor(pairs["item"].to_numpy()), None,
                                        len(users), questions.height))
    words = (items.select(tokens_expr(pl.col("title"), is_html=False).list.unique().alias("value"))
             .explode("value").drop_nulls().group_by("value").len("df"))
    kept = {name.removeprefix("word:") for name in features.names if name.startswith("word:")}
    return AnswererHybrid(
        before=before, users=users, user_factors=model.user_embeddings().double().numpy(),
        feature_weights=model.state_dict()["item_feature_weights"].double().numpy(),
        columns={name: j for j, name in enumerate(features.names)}, n_items=questions.height,
        df={w: int(d) for w, d in words.iter_rows() if w in kept},
    )
