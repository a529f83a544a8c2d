"""RFM: recency, frequency and monetary scores in rank-based quintiles, and named segments.

Each of R, F, M is scored 1–5 from the customer's rank among paying customers (net money
> 0): ``score = ⌈5 · rank / n⌉`` with ties given their *average* rank, so that all customers
with the same value get the same score. (Frequency is heavily tied at one order: those
customers all share one score instead of being cut arbitrarily across quintiles; a score
band may then be empty.) R ranks recency reversed — the most recent buyers score 5.

Named segments follow the common R × F grid (Putler's RFM segment map):

==================  ==============  ==================  ==============
segment             R               F                   meaning
==================  ==============  ==================  ==============
champions           5               4–5                 bought recently, buy often
loyal               3–4             4–5                 buy often
potential_loyalist  4–5             2–3                 recent, a few orders
new_customer        5               1                   first order just now
promising           4               1                   recent, one order
need_attention      3               3                   middling on both
about_to_sleep      3               1–2                 fading, few orders
at_risk             1–2             3–4                 used to buy often, not lately
cant_lose           1–2             5                   best customers gone quiet
hibernating         1–2             1–2                 long ago, few orders
==================  ==============  ==================  ==============

Users without a purchase are labelled ``no_purchase`` (they have no R, F or M score).
"""

from __future__ import annotations

import polars as pl

from engine.errors import EngineError

SEGMENTS = ("champions", "loyal", "potential_loyalist", "new_customer", "promising", "need_attention",
            "about_to_sleep", "at_risk", "cant_lose", "hibernating")
NO_PURCHASE = "no_purchase"

# (segment, R scores, F scores), checked in this order
GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("champions", (5,), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new_customer", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need_attention", (3,), (3,)),
    ("about_to_sleep", (3,), (1, 2)),
    ("at_risk", (1, 2), (3, 4)),
    ("cant_lose", (1, 2), (5,)),
    ("hibernating", (1, 2), (1, 2)),
)


def quintile(expr: pl.Expr, n: pl.Expr) -> pl.Expr:
    """1–5 from the average rank: ⌈5 · rank / n⌉ (ties share a score)."""
    return (expr.rank("average") * 5 / n).ceil().clip(1, 5).cast(pl.Int8)


def rfm_scores(features: pl.DataFrame) -> pl.DataFrame:
    """user_id, r, f, m, rfm ("545"), segment — for every user of ``features``.

    ``features`` needs user_id, recency_days, orders and monetary (see
    :func:`engine.segment.features.user_features`).

    >>> f = pl.DataFrame({"user_id": [1, 2, 3, 4, 5, 6], "recency_days": [1.0, 2, 30, 90, 200, 9],
    ...                   "orders": [9, 1, 4, 6, 1, 0], "monetary": [900.0, 10, 200, 300, 5, 0]})
    >>> rfm_scores(f).select("user_id", "rfm", "segment").rows()[:3]
    [(1, '555', 'champions'), (2, '422', 'potential_loyalist'), (3, '333', 'need_attention')]
    """
    missing = [c for c in ("user_id", "recency_days", "orders", "monetary") if c not in features.columns]
    if missing:
        raise EngineError(f"RFM needs feature column(s) {', '.join(missing)}")
    payers = features.filter((pl.col("orders") > 0) & (pl.col("monetary") > 0))
    if payers.height == 0:
        raise EngineError("no monetary events (purchase, subscribe or renew with an amount): RFM needs paying users")
    n = pl.len()
    scored = payers.select(
        "user_id",
        quintile(-pl.col("recency_days"), n).alias("r"),
        quintile(pl.col("orders"), n).alias("f"),
        quintile(pl.col("monetary"), n).alias("m"),
    )
    segment = pl.lit(None, dtype=pl.String)
    for name, rs, fs in reversed(GRID):
        segment = pl.when(pl.col("r").is_in(rs) & pl.col("f").is_in(fs)).then(pl.lit(name)).otherwise(segment)
    scored = scored.with_columns(
        pl.concat_str([pl.col("r"), pl.col("f"), pl.col("m")]).alias("rfm"),
        segment.alias("segment"),
    )
    return (
        features.select("user_id").join(scored, on="user_id", how="left")
        .with_columns(pl.col("segment").fill_null(NO_PURCHASE))
        .sort("user_id")
    )


def rule_of(segment: str) -> str:
    """The grid cell of a named segment, in words: ``R 5 and F 4–5``."""
    for name, rs, fs in GRID:
        if name == segment:
            return f"R {_span(rs)} and F {_span(fs)}"
    return "no purchase with money" if segment == NO_PURCHASE else "unknown segment"


def _span(scores: tuple[int, ...]) -> str:
    return str(scores[0]) if len(scores) == 1 else f"{scores[0]}–{scores[-1]}"
