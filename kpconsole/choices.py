"""The names a front end offers for each choice the core accepts, so a form's list and the
core's check are one list: algorithms, devices, split and segmentation methods, question routers, dataset names.

Each comes from the engine or the store that defines it. The engine's are looked up on first
use (they live beside torch), so a screen that needs only a dataset name loads none of it.
"""

from __future__ import annotations

import importlib

from store.catalog import NAME as _DATASET_NAME

_FROM_ENGINE = {
    "ALGORITHMS": ("engine.recommend.algorithms", "ALGORITHMS"),  # recommenders, as model train takes them
    "DEVICES": ("engine.device", "DEVICES"),
    "SPLITS": ("engine.recommend.splits", "METHODS"),             # train/test splits
    "SEGMENTATIONS": ("engine.segment.run", "METHODS"),           # segmentation methods
    "ROUTERS": ("engine.community.route", "ROUTERS"),             # question routers: learned, then baselines
}

def __getattr__(name: str) -> tuple[str, ...]:
    if name not in _FROM_ENGINE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _FROM_ENGINE[name]
    return tuple(getattr(importlib.import_module(module), attribute))


def is_dataset_name(name: str) -> bool:
    """Whether ``name`` may name a dataset (1-64 letters, digits, '.', '_' or '-')."""
    return bool(_DATASET_NAME.match(name or ""))
