"""The one interface every recommender implements, after implicit's ``RecommenderBase``.

::

    model = make_model("als", {"factors": 64}, device="auto")
    report = model.fit(train, progress=progress)          # FitReport: epochs, loss history, seconds
    scores = model.score(torch.tensor([0, 1]))            # 2 × n_items, higher is better
    items, scores = model.recommend(users, k=10, exclude=train)
    state = model.state_dict()                            # tensors only: saved with torch.save and
                                                          # read back with torch.load(weights_only=True)

``score`` is the only thing a model must compute; recommendation (top-K with excluded items),
evaluation, explanation and re-ranking are built on it. A model keeps the training matrix it
was fitted on as ``history`` (item-based models score from it; serving excludes it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.device import resolve_device
from engine.recommend.matrix import UserItemMatrix


@dataclass
class FitReport:
    """What training did: epochs run, the best epoch (early stopping), per-epoch history."""

    epochs: int = 1
    best_epoch: int | None = None
    stopped_early: bool = False
    resumed_from: int | None = None
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(1, self.epochs - (self.resumed_from or 0))

    def as_dict(self) -> dict:
        return {**asdict(self), "seconds_per_epoch": self.seconds_per_epoch}


@dataclass(frozen=True)
class Params:
    """Base of every model's hyper-parameters (each model declares its own fields)."""

    @classmethod
    def build(cls, values: dict[str, Any], algo: str) -> Params:
        """Parameters from plain values; an unknown name or a wrong type is a one-line error."""
        known = {f.name: f for f in fields(cls)}
        out = {}
        for name, value in values.items():
            if name not in known:
                raise EngineError(
                    f"parameter '{name}' does not apply to {algo} (its parameters: {', '.join(known) or 'none'})"
                )
            default = getattr(cls(), name)
            out[name] = _coerce(name, value, default)
        return cls(**out)

    def as_dict(self) -> dict:
        return asdict(self)


class ModelParams(Protocol):
    """What code that handles any model reads of its parameters (every :class:`Params` has it).

    A model class narrows its ``params`` to its own :class:`Params` class; code shared by a family
    of models, to a protocol of the fields it reads (:class:`engine.recommend.training.EpochParams`).
    """

    def as_dict(self) -> dict: ...


def _coerce(name: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            parts = value if isinstance(value, (list, tuple)) else str(value).replace("-", ",").split(",")
            return tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise EngineError(f"parameter '{name}': {value!r} is not a valid {type(default).__name__}") from None
    return value


class Recommender(ABC):
    """Base of every model. Subclasses set ``algo``, ``Params`` and implement the abstract methods."""

    algo: ClassVar[str]
    Params: ClassVar[type[Params]]
    params: ModelParams
    iterative: ClassVar[bool] = False
    distributable: ClassVar[bool] = False
    #: needs the dataset's item features (:mod:`engine.recommend.features`) set as ``item_features`` before fitting
    uses_item_features: ClassVar[bool] = False

    def __init__(self, params: ModelParams, device: str | torch.device = "auto") -> None:
        self.params = params
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.history: UserItemMatrix | None = None

    # --- to implement --------------------------------------------------------------------

    @abstractmethod
    def fit(
        self,
        train: UserItemMatrix,
        *,
        progress: Progress = no_progress,
        validation: UserItemMatrix | None = None,
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> FitReport:
        """Learn from ``train``; iterative models report each epoch and may stop early on
        ``validation`` (pairs held out of ``train``), checkpoint to ``checkpoint_dir`` and
        ``resume`` from it."""

    @abstractmethod
    def score(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users`` (indices): a new ``len(users) × n_items`` tensor on
        the device (callers may change it in place)."""

    @abstractmethod
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The learned tensors (on the CPU)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (moved to this model's device)."""

    # --- shared --------------------------------------------------------------------------

    @property
    def n_users(self) -> int:
        return self.require_history().n_users

    @property
    def n_items(self) -> int:
        return self.require_history().n_items

    def item_embeddings(self) -> torch.Tensor | None:
        """Item vectors where the algorithm has them (factor models), else None."""
        return None

    def user_embeddings(self) -> torch.Tensor | None:
        """User vectors where the algorithm has them (factor models), else None."""
        return None

    def recommend(
        self,
        users: torch.Tensor,
        k: int,
        exclude: UserItemMatrix | None = None,
        blocked: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` items and their scores per user, best first, on the CPU.

        ``exclude`` — pairs never to recommend (usually the training history); ``blocked`` — a
        boolean mask over items hidden from everyone. Slots with nothing left to show hold
        item -1 and score -inf.
        """
        if k < 1:
            raise EngineError(f"k must be at least 1 (got {k})")
        scores = self.score(users)
        masked = mask_scores(scores, users, exclude, blocked)
        top, items = top_k(masked, k)
        items = torch.where(torch.isfinite(top), items, torch.full_like(items, -1))
        return items.cpu(), top.cpu()

    def require_history(self) -> UserItemMatrix:
        """``history``: the matrix the model was fitted on (an EngineError before fitting)."""
        if self.history is None:
            raise EngineError(f"the {self.algo} model has not been fitted")
        return self.history


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best scores per row and their columns, best first; equal scores go to the
    lower column, so a list never depends on ``k``, the batch or the device's sort.

    >>> top_k(torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0]]), 2)[1].tolist()
    [[1, 2]]
    """
    k = min(k, scores.shape[1])
    if k < scores.shape[1]:  # one more than asked: a tie straddles the cut iff the next equals the k-th
        values, columns = scores.topk(k + 1, dim=1)
        ambiguous = torch.nonzero(values[:, k] == values[:, k - 1]).flatten()
        values, columns = values[:, :k].contiguous(), columns[:, :k].contiguous()
    else:
        values, columns = scores.topk(k, dim=1)
        ambiguous = torch.zeros(0, dtype=torch.int64)
    kth = values[:, -1:]
    if len(ambiguous):  # ties straddle the cut: take the tied columns in column order
        part, cut = scores[ambiguous], kth[ambiguous]
        above, tied = part > cut, part == cut
        room = k - above.sum(1, keepdim=True)
        chosen = above | (tied & (torch.cumsum(tied.to(torch.int64), dim=1) <= room))
        columns[ambiguous] = torch.nonzero(chosen)[:, 1].reshape(len(ambiguous), k)
        values[ambiguous] = part.gather(1, columns[ambiguous])
    by_column = torch.argsort(columns, dim=1)
    columns, values = columns.gather(1, by_column), values.gather(1, by_column)
    order = torch.sort(values, dim=1, descending=True, stable=True).indices
    return values.gather(1, order), columns.gather(1, order)


def mask_scores(
    scores: torch.Tensor, users: torch.Tensor, exclude: UserItemMatrix | None, blocked: torch.Tensor | None
) -> torch.Tensor:
    """``scores`` (a fresh tensor from :meth:`Recommender.score`) with excluded pairs and blocked
    items set to −inf, in place; returns it."""
    if exclude is not None:
        batch_row, items, _ = exclude.batch_pairs(users)
        scores[batch_row.to(scores.device), items.to(scores.device)] = float("-inf")
    if blocked is not None:
        scores[:, blocked.to(scores.device)] = float("-inf")
    return scores
