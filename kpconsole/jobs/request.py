"""What a job asks for: a frozen dataclass whose fields say how its JSON parameters read and write.

Every job kind's request subclasses :class:`JobRequest`. Its fields and their annotations are
the whole contract: :meth:`JobRequest.from_params` reads a job's JSON parameters into the
request (coercing each value to its field's type, a missing or odd one a one-line error that
names it), :meth:`JobRequest.as_params` writes the request back as JSON, and the subclass's
``__post_init__`` checks the values (raising :class:`kpconsole.errors.InvalidField`), so a
request built by a front end and one read from a job's parameters are checked alike::

    @dataclass(frozen=True)
    class ValueRequest(JobRequest):
        data: str
        model: str
        calibration_end: dt.date | None = None     # JSON: "2026-05-01"
        kinds: tuple[str, ...] = ("purchase",)      # JSON: a list

What JSON holds per annotation: ``str``, ``int``, ``float``, ``bool`` as themselves (a whole
number also reads as ``int``, a number as ``float``, digits in text as either); ``Path`` as an
absolute path (the job may run in another folder); ``dt.date`` / ``dt.datetime`` in ISO form;
``tuple[X, ...]`` as a list; ``dict[K, V]`` as an object; ``X | None`` as null or an ``X``;
``A | B`` as the first of them the value reads as. A field marked ``metadata=DATABASE_URL``
is written without its password (:func:`engine.data.database.redact`).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Self

from kpconsole.errors import ConsoleError

DATABASE_URL: Mapping[str, bool] = types.MappingProxyType({"database_url": True})
"""Field metadata: the value may be a database URL, written to the parameters without its password."""


class _Unreadable(Exception):
    """A value that does not read as its field's type; the message says what was expected."""


@dataclass(frozen=True)
class JobRequest:
    """Base of every job kind's request (see the module docstring)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any], kind: str) -> Self:
        """The request job parameters ``params`` describe; ``kind`` names the job in messages.

        A missing required field, an unknown one or a value of the wrong type is a
        :class:`~kpconsole.errors.ConsoleError` naming the parameter as the JSON names it
        (``train job parameters: test_ratio: expected a number, got 'x'``); the request's own
        checks raise theirs as they would for a front end's request.
        """
        if not isinstance(params, Mapping):
            raise ConsoleError(f"{kind} job parameters: expected a JSON object, got {type(params).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConsoleError(f"{kind} job parameters: {unknown[0]}: not a parameter of {kind} "
                               f"(its parameters: {', '.join(known)})")
        hints = typing.get_type_hints(cls)
        values = {}
        for name, spec in known.items():
            if name not in params:
                if spec.default is MISSING and spec.default_factory is MISSING:
                    raise ConsoleError(f"{kind} job parameters: {name}: missing")
                continue
            try:
                values[name] = _read(params[name], hints[name])
            except _Unreadable as exc:
                raise ConsoleError(f"{kind} job parameters: {name}: expected {exc}, got {params[name]!r}") from None
        return cls(**values)

    def as_params(self) -> dict[str, Any]:
        """The request as JSON job parameters (what :meth:`from_params` reads back)."""
        out = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.metadata.get("database_url") and isinstance(value, str):
                from engine.data.database import redact

                value = redact(value)
            out[spec.name] = _write(value)
        return out


def _write(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_write(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _write(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value.expanduser().resolve())
    return value


def _read(value: Any, hint: Any) -> Any:
    """``value`` (from JSON) as type ``hint``; raises :class:`_Unreadable` saying what was expected."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        for arm in arms:
            try:
                return _read(value, arm)
            except _Unreadable:
                continue
        raise _Unreadable(" or ".join(_expected(a) for a in arms) + (" or null" if type(None) in args else ""))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Unreadable(_expected(hint))
        return tuple(_read(v, args[0]) for v in value)
    if hint is dict or origin is dict:
        if not isinstance(value, Mapping):
            raise _Unreadable(_expected(hint))
        key, item = args or (Any, Any)
        return {_read(k, key): _read(v, item) for k, v in value.items()}
    if hint not in _READERS:
        return value
    try:
        return _READERS[hint](value)
    except (TypeError, ValueError):
        raise _Unreadable(_expected(hint)) from None


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError
    if not isinstance(value, (int, float, str)):
        raise TypeError
    return int(value)


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    return float(value)


def _as_str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError
    return str(value)


def _as_path(value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise TypeError
    return Path(value)


_READERS: dict[Any, Callable[[Any], Any]] = {
    bool: _as_bool, int: _as_int, float: _as_float, str: _as_str, Path: _as_path,
    dt.date: dt.date.fromisoformat, dt.datetime: dt.datetime.fromisoformat,
}
_WORDS: dict[Any, str] = {
    bool: "true or false", int: "a whole number", float: "a number", str: "text", Path: "a path",
    dt.date: "an ISO date (2026-05-01)", dt.datetime: "an ISO date or date-time (2026-05-01T06:00)",
}


def _expected(hint: Any) -> str:
    """What a value of type ``hint`` looks like, for a message."""
    if typing.get_origin(hint) is tuple:
        return "a list"
    if hint is dict or typing.get_origin(hint) is dict:
        return "an object"
    return _WORDS.get(hint, getattr(hint, "__name__", str(hint)))
