"""Errors the engine raises for bad input.

Every message is one line that names what is wrong and where: the file, the row or line,
the field, and the reason. The console prints it as it is.
"""

from __future__ import annotations


class EngineError(ValueError):
    """Bad input or an impossible request; the message is meant for a person."""


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
    ) -> None:
        self.reason = reason
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
        parts.append(reason)
        super().__init__(": ".join(parts))
