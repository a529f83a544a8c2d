"""Errors the engine raises for bad input.

Every message is one line that names what is wrong and where: the file, the row or line,
the field, and the reason. The console prints it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

FIELD = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def word_fields(template: str, fields: Sequence[str], name: Callable[[str], str]) -> str:
    """``template`` with each ``{field}`` of ``fields`` worded by ``name``: a front end names a
    parameter its own way (the CLI as its flag, the console as its words).

    >>> word_fields("raise {reg}", ["reg"], lambda f: "--" + f), word_fields("raise {reg}", ["reg"], str)
    ('raise --reg', 'raise reg')
    """
    return FIELD.sub(lambda m: name(m.group(1)) if m.group(1) in fields else m.group(0), template)


def in_words(field: str) -> str:
    """A field as a person reads it: ``test_ratio`` → ``test ratio``."""
    return field.replace("_", " ")


class EngineError(ValueError):
    """Bad input or an impossible request; the message is meant for a person."""


class InvalidParameter(EngineError):
    """A parameter the engine cannot use; the message names parameters as ``{name}``
    (:func:`word_fields`), ``str()`` in words.

    >>> error = InvalidParameter("EASE: the Gram matrix is not positive definite; raise {reg}", "reg")
    >>> str(error), error.worded(lambda f: "--" + f)
    ('EASE: the Gram matrix is not positive definite; raise reg', 'EASE: the Gram matrix is not positive definite; raise --reg')
    """

    def __init__(self, template: str, *fields: str) -> None:
        self.template, self.fields = template, fields
        super().__init__(self.worded(in_words))

    def worded(self, name: Callable[[str], str]) -> str:
        return word_fields(self.template, self.fields, name)


class DataError(EngineError):
    """A problem in input data, located as precisely as the format allows.

    >>> str(DataError("bad timestamp 'x'", file="events.csv", row=17, field="ts"))
    "events.csv: row 17: field 'ts': bad timestamp 'x'"
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        row: int | None = None,
        field: str | None = None,
        names: Sequence[str] = (),
    ) -> None:
        self.reason = reason
        self.names = tuple(names)  # parameters the reason names as {name} (see word_fields)
        self.file = file
        self.line = line
        self.row = row
        self.field = field
        parts = []
        if file:
            parts.append(file)
        if line is not None:
            parts.append(f"line {line}")
        elif row is not None:
            parts.append(f"row {row}")
        if field:
            parts.append(f"field '{field}'")
        self._where = parts
        super().__init__(self.worded(in_words))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with the parameters its reason names worded by ``name``."""
        return ": ".join([*self._where, word_fields(self.reason, self.names, name)])
