"""A streaming, hardened reader for the ``<root><row a="…"/>…</root>`` XML of data dumps.

Expat is fed the file in chunks, so memory does not grow with the file's size beyond the
columns kept. A document type declaration is refused outright — dumps never carry one, and
refusing it rules out entity expansion ("billion laughs") and external entities together.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from engine.errors import DataError

CHUNK = 1 << 20


class _Refused(Exception):
    pass


def read_rows(path: Path, root: str, attributes: Iterable[str]) -> dict[str, list]:
    """Read every ``<row>`` under ``<root>`` into columns of attribute strings (None if absent).

    Adds a ``_line`` column with each row's line number for error messages. Raises
    :class:`DataError` naming the file and line for malformed, truncated or non-UTF-8 input
    and for any DTD.
    """
    names = list(attributes)
    columns: dict[str, list] = {name: [] for name in names}
    lines: list[int] = []
    depth = 0
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_dtd(*_args: object) -> NoReturn:
        raise _Refused("refused a document type declaration (DTD): entity declarations are not allowed")

    def refuse_entity(*_args: object) -> NoReturn:
        raise _Refused("refused an external entity reference")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        if depth == 0 and name != root:
            raise _Refused(f"root element is <{name}>, expected <{root}>")
        if depth == 1 and name == "row":
            for n in names:
                columns[n].append(attrs.get(n))
            lines.append(parser.CurrentLineNumber)
        depth += 1

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise DataError(str(exc), file=path.name, line=parser.CurrentLineNumber) from None
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        if reason in ("no element found", "unclosed token") or "unclosed" in reason:
            reason = f"truncated or unclosed XML ({reason})"
        elif "not well-formed" in reason or "invalid token" in reason:
            reason = f"malformed XML or bytes that are not UTF-8 ({reason})"
        else:
            reason = f"malformed XML ({reason})"
        raise DataError(reason, file=path.name, line=exc.lineno) from None
    columns["_line"] = lines
    return columns
