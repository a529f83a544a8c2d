"""A trained model on disk: weights, ID maps and the split it was evaluated on, in one file.

The file is a ``torch.save`` of a dict holding only tensors, numbers, strings, lists and dicts,
so it loads with ``torch.load(weights_only=True)`` — no pickled code runs on load. It is
self-contained: evaluating, explaining or serving a model needs neither the dataset (titles
aside) nor the training code's state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import torch

from engine.errors import EngineError
from engine.recommend.algorithms import make_model
from engine.recommend.base import Recommender
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.splits import Split

FORMAT = "kpconsole.recommender/1"


@dataclass
class ModelBundle:
    """A fitted model with everything needed to evaluate and serve it."""

    model: Recommender
    split: Split
    user_ids: pl.Series
    item_ids: pl.Series
    item_creator: torch.Tensor
    creator_ids: pl.Series
    kinds: tuple[str, ...]
    weights: dict[str, float]
    fit: dict = field(default_factory=dict)

    @property
    def train(self) -> UserItemMatrix:
        return self.split.train

    @property
    def test(self) -> UserItemMatrix:
        return self.split.test


def _ids_out(series: pl.Series) -> torch.Tensor | list[str]:
    if series.dtype.is_integer():
        return torch.from_numpy(series.cast(pl.Int64).to_numpy().copy())
    return [str(v) for v in series.to_list()]


def _ids_in(value: torch.Tensor | list[str], name: str) -> pl.Series:
    if isinstance(value, torch.Tensor):
        return pl.Series(name, value.numpy(), dtype=pl.Int64)
    return pl.Series(name, value, dtype=pl.String)


def save_bundle(bundle: ModelBundle, path: Path) -> None:
    """Write ``bundle`` to ``path`` atomically (a temporary file renamed into place)."""
    payload = {
        "format": FORMAT,
        "algo": bundle.model.algo,
        "params": bundle.model.params.as_dict(),
        "state": bundle.model.state_dict(),
        "train": bundle.split.train.state("m"),
        "test": bundle.split.test.state("m"),
        "split": dict(bundle.split.params),
        "user_ids": _ids_out(bundle.user_ids),
        "item_ids": _ids_out(bundle.item_ids),
        "creator_ids": _ids_out(bundle.creator_ids),
        "item_creator": bundle.item_creator,
        "kinds": list(bundle.kinds),
        "weights": dict(bundle.weights),
        "fit": bundle.fit,
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_bundle(path: Path, device: str | torch.device = "auto") -> ModelBundle:
    """Read a bundle written by :func:`save_bundle`; a damaged file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"model file {path} is missing")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, foreign pickle, …: one line, never a traceback
        raise EngineError(f"model file {path} is damaged or not a kpconsole model ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise EngineError(f"model file {path} is not a kpconsole model (format {raw.get('format') if isinstance(raw, dict) else '?'})")
    try:
        model = make_model(raw["algo"], raw["params"], device)
        train = UserItemMatrix.from_state(raw["train"], "m")
        model.history = train
        model.load_state_dict(raw["state"])
        split = Split(train, UserItemMatrix.from_state(raw["test"], "m"), raw["split"])
        return ModelBundle(
            model=model, split=split, user_ids=_ids_in(raw["user_ids"], "user_id"),
            item_ids=_ids_in(raw["item_ids"], "item_id"), item_creator=raw["item_creator"],
            creator_ids=_ids_in(raw["creator_ids"], "creator_id"), kinds=tuple(raw["kinds"]),
            weights=dict(raw["weights"]), fit=raw.get("fit", {}),
        )
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise EngineError(f"model file {path} is incomplete or inconsistent ({type(exc).__name__}: {exc})") from None
