"""What ``model train`` and ``model update`` ask for, as plain values that also travel as job
parameters (JSON, :class:`~kpconsole.jobs.request.JobRequest`), checked with one-line errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from engine.errors import EngineError
from engine.recommend.algorithms import make_model, model_class
from engine.recommend.base import Recommender
from engine.device import DEVICES
from engine.recommend.splits import COLD_ITEMS, METHODS
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.jobs.request import JobRequest

DEFAULT_KS = (10, 20)


def parse_pairs(pairs: list[str], field: str, example: str) -> dict[str, str]:
    """``["purchase=5", "answer=2"]`` → dict; a malformed pair is a one-line error naming ``field``."""
    out: dict[str, str] = {}
    for pair in pairs:
        for part in (p for p in pair.split(",") if p.strip()):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise InvalidField(f"{{{field}}} {part!r}: expected NAME=VALUE, e.g. {{{field}}} {example}", field)
            out[key.strip()] = value.strip()
    return out


def parse_weights(pairs: list[str]) -> dict[str, float]:
    weights = {}
    for kind, value in parse_pairs(pairs, "weights", "purchase=5").items():
        try:
            weights[kind] = float(value)
        except ValueError:
            raise InvalidField(f"{{weights}} {kind}={value}: the weight must be a number", "weights") from None
    return weights


def split_words(values: list[str] | None) -> tuple[str, ...]:
    """``["answer,comment", "favorite"]`` → ``("answer", "comment", "favorite")`` (order kept, no repeats)."""
    out: list[str] = []
    for value in values or []:
        for word in value.split(","):
            word = word.strip()
            if word and word not in out:
                out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class TrainRequest(JobRequest):
    """A training run: data, algorithm, hyper-parameters, split, evaluation cut-offs."""

    data: str
    algo: str
    params: dict = field(default_factory=dict)
    device: str = "auto"
    split: str = "random"
    test_ratio: float = 0.2
    cut: str | None = None
    seed: int = 42
    events: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    ks: tuple[int, ...] = DEFAULT_KS
    patience: int = 0
    distributed: int = 0

    def __post_init__(self) -> None:
        model_class(self.algo)
        if self.split not in METHODS:
            raise InvalidField(f"{{split}} {self.split}: one of {', '.join(METHODS)}", "split")
        if not 0 < self.test_ratio < 1:
            raise InvalidField(f"{{test_ratio}} {self.test_ratio}: must be between 0 and 1", "test_ratio")
        if self.cut is not None and self.split not in ("temporal", COLD_ITEMS):
            raise InvalidField("{cut} applies to {split} temporal and cold-items only", "cut", "split")
        self.cut_datetime()
        if any(k < 1 for k in self.ks):
            raise InvalidField(f"{{ks}} {', '.join(map(str, self.ks))}: every k must be at least 1", "ks")
        if self.patience < 0:
            raise InvalidField("{patience} must be 0 (off) or more", "patience")
        if self.distributed == 1 or self.distributed < 0:
            raise InvalidField("{distributed} N needs N ≥ 2 processes", "distributed")
        if self.distributed and not model_class(self.algo).distributable:
            raise InvalidField(f"{{distributed}}: {self.algo} does not train under torch.distributed (bpr and ncf do)",
                               "distributed")
        if self.device.split(":")[0] not in DEVICES:
            raise InvalidField(f"{{device}} {self.device}: one of {', '.join(DEVICES)} (or cuda:N)", "device")

    def cut_datetime(self) -> dt.datetime | None:
        if self.cut is None:
            return None
        try:
            return dt.datetime.fromisoformat(self.cut)
        except ValueError:
            raise InvalidField(f"{{cut}} {self.cut!r}: not an ISO date or date-time (e.g. 2026-05-01)", "cut") from None

    def model_params(self) -> dict:
        """Hyper-parameters for the model: the given ones, plus seed and patience where they apply."""
        params = dict(self.params)
        fields = model_class(self.algo).Params.__dataclass_fields__
        if "seed" in fields:
            params.setdefault("seed", self.seed)
        if self.patience:
            if "patience" not in fields:
                raise InvalidField(f"{{patience}}: {self.algo} is not trained in epochs, so it cannot stop early", "patience")
            params["patience"] = self.patience
        return params

    def make_model(self) -> Recommender:
        """The unfitted model (checks every hyper-parameter against the algorithm)."""
        try:
            return make_model(self.algo, self.model_params(), self.device)
        except EngineError as exc:
            raise ConsoleError(str(exc)) from None


@dataclass(frozen=True)
class UpdateRequest(JobRequest):
    """A warm-start update of a registered model with a dataset's events."""

    model_id: int
    data: str
    epochs: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.epochs is not None and self.epochs < 1:
            raise InvalidField(f"{{epochs}} {self.epochs}: must be at least 1", "epochs")
        if self.device.split(":")[0] not in DEVICES:
            raise InvalidField(f"{{device}} {self.device}: one of {', '.join(DEVICES)} (or cuda:N)", "device")
