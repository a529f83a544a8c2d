"""Text for question routing: HTML stripped to words, and Okapi BM25 over user answer profiles.

A Stack Exchange body is HTML (``<p>``, ``<code>``, entities such as ``&amp;``):
:func:`strip_html` drops the tags and decodes the entities; :func:`tokenize` lower-cases and
keeps runs of letters and digits (``c++`` → ``c``, dropped as one letter; ``qiskit``, ``h2``
kept), minus a short English stop list.

:class:`BM25Index` scores queries against documents (Robertson & Zaragoza 2009, with Lucene's
non-negative idf)::

    idf(t)      = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))
    w(d, t)     = idf(t) · tf(d, t) · (k1 + 1) / (tf(d, t) + k1 · (1 − b + b · |d| / avgdl))
    bm25(q, d)  = Σ_{t ∈ q, distinct} w(d, t)

with N documents, n_t of them holding term t, |d| the length of d in tokens and avgdl the
mean length. The document × term weights are one ``scipy.sparse`` CSR matrix, so scoring a
batch of queries is one sparse product and a dump with a million posts fits in memory.

>>> index = BM25Index.fit([["qubit", "gate"], ["qubit"], ["noise"]])
>>> [round(float(s), 3) for s in index.scores([["qubit"]])[0]]
[0.39, 0.524, 0.0]
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset("""
a about above after again all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
our out over own same she should so some such than that the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would
you your yours also get use using used one two way like want know think need make may might much many
""".split())


def strip_html(text: str | None) -> str:
    """The words of an HTML fragment: tags replaced by spaces, entities decoded.

    >>> strip_html("<p>Is a <code>CNOT</code> gate&amp;more?</p>")
    ' Is a  CNOT  gate&more? '
    """
    if not text:
        return ""
    return html.unescape(_TAG.sub(" ", text))


def tokenize(text: str | None) -> list[str]:
    """Lower-cased runs of letters and digits, two characters or more, stop words left out.

    >>> tokenize("What is the Grover search? Grover's H2 gate")
    ['grover', 'search', 'grover', 'h2', 'gate']
    """
    if not text:
        return []
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOP_WORDS]


def tokens_expr(text: pl.Expr, *, is_html: bool = True) -> pl.Expr:
    """:func:`tokenize` (of :func:`strip_html` when ``is_html``) as a Polars expression: a
    ``list[str]`` column, the same tokens in the same order, without a Python loop."""
    if is_html:
        text = text.str.replace_all(r"<[^>]*>", " ").str.replace_all(r"&#?[A-Za-z0-9]+;", " ")
    words = text.fill_null("").str.to_lowercase().str.extract_all(r"[a-z0-9]+")
    return words.list.eval(pl.element().filter((pl.element().str.len_chars() > 1)
                                               & ~pl.element().is_in(sorted(STOP_WORDS))))


@dataclass(frozen=True)
class BM25Index:
    """BM25 weights of a document collection (see the module docstring); documents are rows."""

    weights: sp.csr_matrix  # documents × terms
    vocabulary: dict[str, int]
    idf: np.ndarray
    k1: float
    b: float

    @classmethod
    def fit(cls, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        """Index token lists (one per document; an empty list is a document with no words)."""
        pairs = pl.DataFrame({"doc": [d for d, tokens in enumerate(documents) for _ in tokens],
                              "term": [t for tokens in documents for t in tokens]},
                             schema={"doc": pl.Int64, "term": pl.String})
        return cls.fit_pairs(pairs, len(documents), k1=k1, b=b)

    @classmethod
    def fit_pairs(cls, pairs: pl.DataFrame, n_docs: int, *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        """Index (doc, term) rows, one per token occurrence; documents are 0 … ``n_docs`` − 1."""
        terms = pairs["term"].unique(maintain_order=True)
        vocabulary = {t: i for i, t in enumerate(terms.to_list())}
        ids = pairs.join(pl.DataFrame({"term": terms, "col": np.arange(len(terms), dtype=np.int64)}),
                         on="term", how="left", maintain_order="left")
        n_terms = len(vocabulary)
        tf = sp.csr_matrix((np.ones(ids.height), (ids["doc"].to_numpy(), ids["col"].to_numpy())),
                           shape=(n_docs, n_terms))
        tf.sum_duplicates()
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = lengths.mean() if n_docs and lengths.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=n_terms)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * lengths / avgdl)
        row_of = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        data = idf[tf.indices] * tf.data * (k1 + 1.0) / (tf.data + norm[row_of])
        weights = sp.csr_matrix((data, tf.indices, tf.indptr), shape=(n_docs, n_terms))
        return cls(weights, vocabulary, idf, k1, b)

    def query_matrix(self, queries: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Queries × terms, 1 where the query holds the term (terms the index never saw drop out)."""
        cells = {(q, self.vocabulary[t]) for q, tokens in enumerate(queries) for t in tokens if t in self.vocabulary}
        rows, cols = (list(x) for x in zip(*cells, strict=True)) if cells else ([], [])
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(queries), len(self.vocabulary)))

    def scores(self, queries: Sequence[Sequence[str]]) -> np.ndarray:
        """BM25 of every query against every document: a dense queries × documents array."""
        product = self.query_matrix(queries) @ self.weights.T
        return np.asarray(product.todense(), dtype=np.float64)
