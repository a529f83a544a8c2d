"""The recommenders by name, and how to make one from plain parameters.

=========  ==========================================  ==================================
name       model                                       scales with
=========  ==========================================  ==================================
pop        popularity (:mod:`.popularity`)             items
timepop    time-aware popularity (:mod:`.timepop`)     interactions × time bins
itemknn    item-kNN, cosine + shrinkage (:mod:`.itemknn`)  items × neighbours, co-occurrences
ease       EASE closed form (:mod:`.ease`)              items² (refused when it won't fit)
als        iALS, batched conjugate gradient (:mod:`.als`)  interactions × factors
bpr        BPR-MF, sampled pairs (:mod:`.bpr`)          interactions; DDP across processes
ncf        NeuMF GMF + MLP (:mod:`.ncf`)                interactions; DDP across processes
hybrid     id + content embeddings (:mod:`.hybrid`)     interactions × features per item
=========  ==========================================  ==================================
"""

from __future__ import annotations

from typing import Any

import torch

from engine.errors import EngineError
from engine.recommend.als import ALS
from engine.recommend.base import Recommender
from engine.recommend.bpr import BPR
from engine.recommend.ease import EASE
from engine.recommend.hybrid import HybridMF
from engine.recommend.itemknn import ItemKNN
from engine.recommend.ncf import NCF
from engine.recommend.popularity import Popularity
from engine.recommend.timepop import TimePop

ALGORITHMS: dict[str, type[Recommender]] = {cls.algo: cls for cls in (
    Popularity, TimePop, ItemKNN, EASE, ALS, BPR, NCF, HybridMF)}


def model_class(algo: str) -> type[Recommender]:
    try:
        return ALGORITHMS[algo]
    except KeyError:
        raise EngineError(f"unknown algorithm '{algo}' (one of {', '.join(ALGORITHMS)})") from None


def make_model(algo: str, params: dict[str, Any] | None = None, device: str | torch.device = "auto") -> Recommender:
    """A new, unfitted model; ``params`` are checked against the algorithm's own fields."""
    cls = model_class(algo)
    return cls(cls.Params.build(params or {}, algo), device)
