"""Tables that fit the terminal without breaking a word.

Three kinds of column:

* **numbers** (right-aligned) keep their full width: a cut number is a wrong number;
* **text** columns (``wrap``) wrap at spaces, never inside a word;
* every other column holds **identifiers or kinds** (names, IDs, dates, statuses): never
  wrapped; when nothing else gives, it is cut with an ellipsis (``stackexch…``), so what is
  shown is never mistaken for a different identifier.

When the table's natural width exceeds the terminal's, :func:`fit_widths` gives way in this
order: text columns narrow (widest first, never below their longest word), then the columns
named in ``drop`` are left out (least important first), then identifier columns are cut
(widest first, to no fewer than :data:`MIN_CUT` characters, or :data:`LAST_CUT` on a very
narrow terminal: a number is never cut while an identifier can give). Columns are two spaces apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
from rich.table import Table

GAP = 2  # rich's padding (0, 1) between columns, no edge padding
MIN_CUT = 6
LAST_CUT = 3  # only when the table cannot fit otherwise
MIN_TEXT = 12  # a text column is not narrowed below this unless its words are longer


def _width(cell: str) -> int:
    return max((cell_len(line) for line in cell.split("\n")), default=0)


def _longest_word(cell: str) -> int:
    return max((cell_len(word) for word in cell.split()), default=0)


def fit_widths(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int, *, right: Sequence[str] = (),
               wrap: Sequence[str] = (), drop: Sequence[str] = ()) -> dict[str, int]:
    """{column: width} for the columns shown (see the module docstring for the order of giving way).

    >>> fit_widths(["name", "notes"], [["stackexchange", "a long note about it"]], 30, wrap=["notes"])
    {'name': 13, 'notes': 15}
    >>> fit_widths(["name", "n"], [["stackexchange", "5,814"]], 15, right=["n"])
    {'name': 8, 'n': 5}
    """
    natural = {c: max([cell_len(c), *(_width(row[i]) for row in rows)]) for i, c in enumerate(columns)}
    floor = {}
    for i, c in enumerate(columns):
        if c in right:
            floor[c] = natural[c]
        elif c in wrap:
            floor[c] = min(natural[c], max([MIN_TEXT, cell_len(c), *(_longest_word(row[i]) for row in rows)]))
        else:
            floor[c] = min(natural[c], MIN_CUT)
    shown: dict[str, int] = {}

    def excess() -> int:
        return sum(shown.values()) + GAP * (len(shown) - 1) - width

    def narrow(candidates: list[str]) -> None:
        while excess() > 0:
            room = [c for c in candidates if c in shown and shown[c] > floor[c]]
            if not room:
                return
            widest = max(room, key=lambda c: shown[c])
            shown[widest] -= 1

    for dropped in range(len(drop) + 1):  # each column dropped gives its room back to the text columns
        shown = {c: natural[c] for c in columns if c not in drop[:dropped]}
        narrow([c for c in columns if c in wrap])
        if excess() <= 0:
            break
    identifiers = [c for c in columns if c not in wrap and c not in right]
    narrow(identifiers)
    if excess() > 0:  # a very narrow terminal: identifiers give way further before any number is cut
        floor.update({c: min(natural[c], LAST_CUT) for c in identifiers})
        narrow(identifiers)
    return shown


def fitted_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], width: int, *,
                 right: Sequence[str] = (), wrap: Sequence[str] = (), drop: Sequence[str] = ()) -> Table:
    """A borderless rich table of already formatted cells that fits ``width`` (see :func:`fit_widths`)."""
    widths = fit_widths(columns, rows, width, right=right, wrap=wrap, drop=drop)
    t = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    keep = [i for i, c in enumerate(columns) if c in widths]
    for i in keep:
        c = columns[i]
        t.add_column(c, justify="right" if c in right else "left", width=widths[c], no_wrap=c not in wrap,
                     overflow="ellipsis")
    for row in rows:
        t.add_row(*(row[i] for i in keep))
    return t


def wrap_line(text: str, width: int, indent: int | None = None) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` cells, preferring to break after
    a ``·`` separator; continuation lines are indented like the first line plus two (or by
    ``indent``); spacing inside a line is kept. A word longer than a line stays whole on its own
    line: a path or a command is never split.

    >>> wrap_line("  1. low activity: 499 users, 1.4% of revenue", 24)
    ['  1. low activity: 499', '    users, 1.4% of', '    revenue']
    >>> wrap_line("view ×1.4 · “Article #114 on security” ×3.2", 36)
    ['view ×1.4 ·', '  “Article #114 on security” ×3.2']
    """
    if cell_len(text) <= width:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    pad = " " * (lead + 2 if indent is None else indent)
    lines: list[str] = []
    current, start = text[:lead], lead  # the line being filled; where its words begin
    for space, word in re.findall(r"(\s*)(\S+)", text[lead:]):
        if len(current) == start or cell_len(current + space + word) <= width:
            current += (space if len(current) > start else "") + word
            continue
        cut = -1 if current.endswith(" ·") else current.rfind(" · ", start)
        tail = current[cut + 3:] if cut >= 0 else ""
        if tail and cell_len(pad + tail + space + word) <= width:
            lines.append(current[:cut + 2])
            current = pad + tail + space + word
        else:
            lines.append(current)
            current = pad + word
        start = len(pad)
    lines.append(current)
    return lines
