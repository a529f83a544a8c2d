"""The repeat-buying (transaction) models behind one interface, and the one table of them.

A :class:`TransactionModel` fits (r, α, …) by maximum likelihood on customers' repeat-purchase
summaries (:class:`~engine.value.data.RepeatData`) and, from the fitted parameters, scores
customers: P(alive) and expected purchases in the next ``t`` periods. The report
(:mod:`engine.value.report`), the choice between models (:mod:`engine.value.choose`) and the
console's export, which rescores a kept fit at another horizon, all take one from
:data:`TRANSACTION_MODELS` — a new model is a module with those three functions and a row here.

Parameters travel as name → value mappings (what the optimiser returns and the workspace keeps
as JSON); each model declares its names in ``parameters``, and :meth:`RepeatBuyingModel.check`
refuses a mapping that lacks one.

>>> sorted(TRANSACTION_MODELS)
['bgnbd', 'paretonbd']
>>> isinstance(TRANSACTION_MODELS["bgnbd"], TransactionModel)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from engine.errors import EngineError
from engine.value import bgnbd, paretonbd
from engine.value.data import RepeatData
from engine.value.mle import FitResult

Params = Mapping[str, float]


@runtime_checkable
class TransactionModel(Protocol):
    """A repeat-buying model: its name, its parameters' names, a fit and two scores."""

    @property
    def name(self) -> str:
        """As requests and the workspace name it: ``bgnbd``."""

    @property
    def title(self) -> str:
        """As people read it: ``BG/NBD``."""

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters' names, in the order the model's papers give them."""

    def fit(self, data: RepeatData) -> FitResult: ...

    def p_alive(self, params: Params, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray: ...

    def expected_purchases(self, params: Params, t: float, x: np.ndarray, t_x: np.ndarray,
                           T: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class RepeatBuyingModel:
    """A :class:`TransactionModel` made of a model module's functions."""

    name: str
    title: str
    parameters: tuple[str, ...]
    fit: Callable[[RepeatData], FitResult]
    p_alive: Callable[[Params, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    expected_purchases: Callable[[Params, float, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

    def check(self, params: Params) -> Params:
        """``params`` when it names every parameter of this model, else an :class:`EngineError`."""
        missing = [name for name in self.parameters if name not in params]
        if missing:
            raise EngineError(f"{self.title} parameters lack {', '.join(missing)}")
        return params


TRANSACTION_MODELS: dict[str, RepeatBuyingModel] = {model.name: model for model in (
    RepeatBuyingModel("bgnbd", "BG/NBD", bgnbd.PARAMS, bgnbd.fit_bg_nbd, bgnbd.p_alive, bgnbd.expected_purchases),
    RepeatBuyingModel("paretonbd", "Pareto/NBD", paretonbd.PARAMS, paretonbd.fit_pareto_nbd, paretonbd.p_alive,
                      paretonbd.expected_purchases),
)}


def transaction_model(name: str) -> RepeatBuyingModel:
    """The model called ``name``, or an :class:`EngineError` listing those there are."""
    try:
        return TRANSACTION_MODELS[name]
    except KeyError:
        raise EngineError(f"unknown transaction model '{name}' (one of {', '.join(TRANSACTION_MODELS)})") from None
