"""Content features of items and users, sparse: what a hybrid recommender knows besides clicks.

An item's row (:func:`build_item_features`) joins five blocks, each named by a prefix:

=============  ===========================================================================
``tag:T``      1 for each of the item's tags
``word:W``     TF-IDF of the title and (where the dump has ``post_texts``) the body, HTML
               stripped and tokenised by :mod:`engine.community.route_text`:
               w = (1 + ln tf) · ln(N / df); words in fewer than ``min_df`` items or in more
               than ``max_df`` of them are dropped, the ``max_words`` most frequent kept,
               and each item keeps its ``words_per_item`` heaviest
``kind:K``     the item's kind (course, question, …) when the catalog has more than one
``creator:C``  the item's creator, for creators of at least two items
``price:B``    the price bucket: ``free``, then powers of two (``8-16`` holds 8 ≤ p < 16)
=============  ===========================================================================

Within an item each block is scaled to unit L2 norm and then by its weight
(:data:`BLOCK_WEIGHTS`), so a block's pull does not grow with its length (20 words do not
outvote one creator). A user's row (:func:`user_profiles`) is the decayed sum of the rows of
the items in their training history — the tags and words of what they answered, asked,
bought (whatever interaction kinds the model learns from) — each item weighted by
``2^(−age / half-life)`` (age of the item against the newest one the user touched), the
row scaled to unit norm. Built from training pairs only, so a held-out pair never leaks in.

Everything is ``scipy.sparse`` CSR and the text statistics are Polars group-bys: a catalog of
a million items with a few dozen features each is a few hundred MB, never a dense matrix.
scikit-learn's ``TfidfVectorizer`` would compute the same weights, but it is only a bench
extra here (never a runtime dependency), and tokenising once in Polars with the router's own
tokeniser keeps recommendation and question routing on the same words.

>>> items = pl.DataFrame({"item_id": [1, 2], "tags": [["qiskit"], ["qiskit", "grover"]],
...                       "title": ["Qiskit circuits", "Grover search"]})
>>> f = build_item_features(pl.Series([1, 2]), items, min_df=1)
>>> f.names
['tag:grover', 'tag:qiskit', 'word:circuits', 'word:grover', 'word:qiskit', 'word:search']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from engine.community.route_text import tokens_expr

BLOCKS = ("tag", "word", "kind", "creator", "price")
BLOCK_WEIGHTS = {"tag": 1.0, "word": 0.7, "kind": 0.5, "creator": 0.5, "price": 0.5}
DAY_US = 86_400e6


@dataclass(frozen=True)
class ItemFeatures:
    """``matrix`` (items × features, float32 CSR) with feature ``names`` (``block:value``) and
    each item's time (µs since the epoch; the earliest time when unknown), for decay."""

    matrix: sp.csr_matrix
    names: list[str]
    item_time: np.ndarray

    @property
    def n_features(self) -> int:
        return len(self.names)

    def columns_of(self, block: str) -> np.ndarray:
        """Indices of the features of one block (``"tag"``, ``"word"``, …)."""
        prefix = f"{block}:"
        return np.array([j for j, name in enumerate(self.names) if name.startswith(prefix)], dtype=np.int64)

    def describe(self) -> dict[str, int]:
        """Features per block and stored values: ``{"tag": 120, …, "nnz": 5400}``."""
        counts = {b: int(len(self.columns_of(b))) for b in BLOCKS}
        return {**{b: n for b, n in counts.items() if n}, "nnz": int(self.matrix.nnz)}


def build_item_features(
    item_ids: pl.Series,
    items: pl.LazyFrame | pl.DataFrame | None,
    texts: pl.LazyFrame | pl.DataFrame | None = None,
    *,
    min_df: int = 2,
    max_df: float = 0.5,
    max_words: int = 20_000,
    words_per_item: int = 24,
    weights: dict[str, float] | None = None,
) -> ItemFeatures:
    """Features of the items ``item_ids`` (row k is ``item_ids[k]``) from a dataset's ``items``
    table (any of tags, title, kind, creator_id, price, created_at) and ``texts`` (item_id,
    body as HTML). Items missing from the table get an empty row."""
    weights = {**BLOCK_WEIGHTS, **(weights or {})}
    frame = pl.DataFrame({"item_id": item_ids, "row": np.arange(len(item_ids), dtype=np.int64)})
    n = len(item_ids)
    if items is None:
        return ItemFeatures(sp.csr_matrix((n, 0), dtype=np.float32), [], np.zeros(n, dtype=np.int64))
    items = items.lazy()
    schema = items.collect_schema()
    wanted = [c for c in ("item_id", "tags", "title", "kind", "creator_id", "price", "created_at") if c in schema]
    table = frame.lazy().join(items.select(wanted).unique("item_id", keep="first"), on="item_id", how="left",
                              maintain_order="left").collect()
    if table["item_id"].dtype != item_ids.dtype:  # pragma: no cover - the join keeps the key's type
        table = table.with_columns(pl.col("item_id").cast(item_ids.dtype))
    cells: list[pl.DataFrame] = []
    if "tags" in table.columns:
        if table.schema["tags"] == pl.String:  # a flat file's "a|b" (an import already holds lists)
            table = table.with_columns(pl.col("tags").str.replace_all("|", ",", literal=True).str.split(",")
                                       .list.eval(pl.element().str.strip_chars().filter(pl.element() != "")))
        tags = table.select("row", pl.col("tags").alias("value")).explode("value").drop_nulls("value")
        cells.append(_block(tags.with_columns(pl.lit(1.0).alias("w")), "tag"))
    words = _word_cells(table, texts, n, min_df=min_df, max_df=max_df, max_words=max_words,
                        words_per_item=words_per_item)
    if words is not None:
        cells.append(_block(words, "word"))
    if "kind" in table.columns and table["kind"].drop_nulls().n_unique() > 1:
        kinds = table.select("row", pl.col("kind").cast(pl.String).alias("value"), pl.lit(1.0).alias("w"))
        cells.append(_block(kinds.drop_nulls("value"), "kind"))
    if "creator_id" in table.columns:
        creators = table.select("row", pl.col("creator_id").cast(pl.String).alias("value")).drop_nulls("value")
        repeat = creators.group_by("value").len().filter(pl.col("len") >= 2).select("value")
        creators = creators.join(repeat, on="value", how="inner", maintain_order="left")
        cells.append(_block(creators.with_columns(pl.lit(1.0).alias("w")), "creator"))
    if "price" in table.columns:
        price = pl.col("price").cast(pl.Float64)
        low = (2.0 ** price.log(2).floor()).cast(pl.Int64)
        bucket = (pl.when(price <= 0).then(pl.lit("free"))
                  .otherwise(pl.when(price < 1).then(pl.lit("0-1"))
                             .otherwise(low.cast(pl.String) + "-" + (low * 2).cast(pl.String))))
        prices = table.filter(price.is_not_null()).select("row", bucket.alias("value"), pl.lit(1.0).alias("w"))
        cells.append(_block(prices, "price"))
    matrix, names = _assemble(cells, n, weights)
    return ItemFeatures(matrix, names, _times(table, n))


def _block(cells: pl.DataFrame, block: str) -> pl.DataFrame:
    """(row, name, w, block) rows, the name prefixed with its block."""
    return cells.select(pl.col("row").cast(pl.Int64), (pl.lit(f"{block}:") + pl.col("value").cast(pl.String))
                        .alias("name"), pl.col("w").cast(pl.Float64), pl.lit(block).alias("block"))


def _word_cells(table: pl.DataFrame, texts: pl.LazyFrame | pl.DataFrame | None, n: int, *, min_df: int,
                max_df: float, max_words: int, words_per_item: int) -> pl.DataFrame | None:
    """(row, value, w): TF-IDF of each item's title and body words (see the module docstring)."""
    parts: list[pl.DataFrame] = []
    if "title" in table.columns:
        parts.append(table.select("row", tokens_expr(pl.col("title"), is_html=False).alias("value")))
    if texts is not None:
        bodies = texts.lazy().select("item_id", tokens_expr(pl.col("body")).alias("value"))
        parts.append(table.lazy().select("item_id", "row").join(bodies, on="item_id", how="inner")
                     .select("row", "value").collect())
    if not parts:
        return None
    tokens = pl.concat(parts).explode("value").drop_nulls("value")
    tf = tokens.group_by("row", "value").len("tf")
    df = tf.group_by("value").len("df").filter((pl.col("df") >= min_df) & (pl.col("df") <= max(1.0, max_df * n)))
    df = df.sort(["df", "value"], descending=[True, False]).head(max_words)
    weighted = tf.join(df, on="value", how="inner").with_columns(
        ((1.0 + pl.col("tf").cast(pl.Float64).log()) * (n / pl.col("df").cast(pl.Float64)).log()).alias("w"))
    # ties of weight go to the alphabetically first word: the group-bys above leave rows in no
    # set order, and an ordinal rank breaks ties by order — the same data must give the same features
    ranked = weighted.sort("row", "value").with_columns(
        pl.col("w").rank("ordinal", descending=True).over("row").alias("r"))
    return ranked.filter((pl.col("r") <= words_per_item) & (pl.col("w") > 0)).select("row", "value", "w")


def _assemble(cells: list[pl.DataFrame], n: int, weights: dict[str, float]) -> tuple[sp.csr_matrix, list[str]]:
    """The CSR matrix of all blocks, each block of each row at unit norm times its weight."""
    if not cells:
        return sp.csr_matrix((n, 0), dtype=np.float32), []
    all_cells = pl.concat(cells).group_by("row", "name", "block").agg(pl.col("w").sum())
    all_cells = all_cells.with_columns(
        (pl.col("w") / (pl.col("w") ** 2).sum().over("row", "block").sqrt()
         * pl.col("block").replace_strict(weights, return_dtype=pl.Float64)).alias("w"))
    names = all_cells["name"].unique().sort()
    index = pl.DataFrame({"name": names, "col": np.arange(len(names), dtype=np.int64)})
    all_cells = all_cells.join(index, on="name", how="left").filter(pl.col("w") != 0)
    matrix = sp.csr_matrix((all_cells["w"].to_numpy().astype(np.float32),
                            (all_cells["row"].to_numpy(), all_cells["col"].to_numpy())), shape=(n, len(names)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix, names.to_list()


def _times(table: pl.DataFrame, n: int) -> np.ndarray:
    if "created_at" not in table.columns or not table.schema["created_at"].is_temporal():
        return np.zeros(n, dtype=np.int64)
    stamps = table.select(pl.col("created_at").cast(pl.Datetime("us")).dt.epoch("us"))["created_at"]
    earliest = stamps.min()
    return stamps.fill_null(earliest if earliest is not None else 0).to_numpy().astype(np.int64)


def user_profiles(indptr: np.ndarray, indices: np.ndarray, features: ItemFeatures,
                  half_life_days: float = 365.0) -> sp.csr_matrix:
    """Users × features: row u = Σ_{i ∈ history(u)} 2^(−age_ui / half-life) · f_i, scaled to unit
    L2 norm, where age_ui is item i's time before the newest item of u's history (so a user's
    recent interests weigh most, whatever the calendar date). ``indptr``/``indices`` are the
    training matrix's CSR arrays (values ignored: one interaction counts once)."""
    n_users = len(indptr) - 1
    rows = np.repeat(np.arange(n_users), np.diff(indptr))
    t = features.item_time[indices].astype(np.float64)
    newest = np.full(n_users, -np.inf)
    np.maximum.at(newest, rows, t)
    decay = np.exp2(-(newest[rows] - t) / (half_life_days * DAY_US)) if half_life_days > 0 else np.ones(len(t))
    history = sp.csr_matrix((decay, indices, indptr), shape=(n_users, features.matrix.shape[0]))
    profile = (history @ features.matrix).tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(profile.multiply(profile).sum(axis=1)).ravel())
    profile = sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)) @ profile
    return profile.tocsr()
